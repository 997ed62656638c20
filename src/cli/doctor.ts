import type { CricketConfig } from '../config/config.js';
export const DOCTOR_USAGE = 'usage: cricket doctor\n';
export async function doctorCommand(_flags: Record<string, string>, _config: CricketConfig): Promise<number> {
  return 2;
}
