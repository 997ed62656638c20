import { findProgram } from '../process/find-program.js';
import { nativeTool } from '../process/native-tools.js';

/** The config's `conmon` value that means cricket's own monitor (native/cricket-monitor.c). */
export const BUILT_IN_MONITOR = 'built-in';

/**
 * The per-container monitor's program: cricket's own by default, or a conmon the config names
 * (a name looked up in PATH, or a path). Both take the same options and speak the same protocols.
 */
export function monitorProgram(configured: string): string {
  return configured === BUILT_IN_MONITOR ? nativeTool('cricket-monitor') : findProgram(configured);
}
