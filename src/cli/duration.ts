/** "500ms", "10s", "5m", "1h" or plain milliseconds → milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new Error(`${flag}: "${value}" is not a duration (such as 500ms, 10s, 5m)`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!;
  return Math.round(Number(m[1]) * factor);
}
