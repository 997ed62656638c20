import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type NativeTool = 'cricket-io' | 'cricket-mount';

const BUILT = fileURLToPath(new URL('../../../build/native/', import.meta.url));

/** Path of a program built from native/ by `npm run build`. */
export function nativeTool(name: NativeTool): string {
  const path = `${BUILT}${name}`;
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build`);
  return path;
}
