import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type NativeTool = 'cricket-io' | 'cricket-mount' | 'cricket-monitor';

const BUILT = fileURLToPath(new URL('../../../build/native/', import.meta.url));

const found = new Set<NativeTool>();

/** Path of a program built from native/ by `npm run build` (checked once, not per call). */
export function nativeTool(name: NativeTool): string {
  const path = `${BUILT}${name}`;
  if (!found.has(name)) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build`);
    found.add(name);
  }
  return path;
}
