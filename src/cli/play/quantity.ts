// Kubernetes resource quantities ("100m", "0.5", "64Mi", "1G", "1e3") as exact numbers.

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const PATTERN = /^([+-]?[0-9]+(?:\.[0-9]*)?|[+-]?\.[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?[0-9]+))?$/;

/** The value of a quantity as a number of base units (cores, bytes); throws on anything else. */
export function parseQuantity(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`"${value}" is not a quantity`);
    return value;
  }
  const m = PATTERN.exec(value.trim());
  if (!m) throw new Error(`"${value}" is not a quantity (such as 500m, 2, 128Mi, 1G)`);
  const number = Number(m[1]);
  const factor = m[2] !== undefined ? (BINARY[m[2]] ?? DECIMAL[m[2]]!) : m[3] !== undefined ? 10 ** Number(m[3]) : 1;
  const result = number * factor;
  if (!Number.isFinite(result) || result < 0) throw new Error(`"${value}" is not a non-negative quantity`);
  return result;
}

/** CPU in millicores, rounded up as Kubernetes does for its MilliValue. */
export const milliCpu = (value: string | number) => Math.ceil(Math.round(parseQuantity(value) * 1e9) / 1e6);

/** Bytes, rounded up. */
export const bytes = (value: string | number) => Math.ceil(parseQuantity(value));
