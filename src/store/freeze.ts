/**
 * Freezes a record and everything it holds, so that a snapshot handed to a caller cannot be
 * changed behind the store's back. Typed arrays are left as they are (they cannot be frozen).
 */
export function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return value;
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return Object.freeze(value);
}
