import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';

export function outputFormat(flag: string | undefined, fallback: OutputFormat = 'table'): OutputFormat {
  if (flag === undefined) return fallback;
  if (flag === 'json' || flag === 'yaml' || flag === 'table') return flag;
  throw new Error(`-o must be json, yaml or table, not "${flag}"`);
}

export function table(rows: string[][]): string {
  if (!rows.length) return '';
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

export function structured(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/** "5s", "3m", "2h", "4d" since a CRI timestamp in nanoseconds. */
export function age(createdAtNs: bigint, now = Date.now()): string {
  if (!createdAtNs) return '-';
  const s = Math.max(0, Math.floor((now - Number(createdAtNs / 1_000_000n)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export const shortId = (id: string) => id.slice(0, 13);
