/**
 * The V8 flags `cricket serve` runs node with, beside the operator's own.
 *
 * --expose-gc: the daemon compacts its heap once its work goes quiet (daemon/memory-return.ts).
 *
 * --max-semi-space-size=4 (MiB): V8 grows its young generation up to 16 MiB a semi-space when
 * many objects survive, as in a burst of pod starts, and never shrinks it again, not even on a
 * full collection: a daemon that ran 100 pods at once kept some 20 MiB more than a fresh one
 * after they were all gone. Capped at 4 MiB, it gives that back for the same CPU per pod, at the
 * cost of scavenges four times as frequent. An operator's own size, on node's command line or in
 * NODE_OPTIONS, wins.
 */
export const DAEMON_SEMI_SPACE_MIB = 4;

export function daemonNodeFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const flags = [...execArgv];
  if (!flags.includes('--expose-gc')) flags.push('--expose-gc');
  const given = (option: string) => flags.some((f) => f.startsWith(option)) || (nodeOptions ?? '').split(/\s+/).some((f) => f.startsWith(option));
  // V8 reads underscores and dashes alike.
  if (!given('--max-semi-space-size') && !given('--max_semi_space_size')) flags.push(`--max-semi-space-size=${DAEMON_SEMI_SPACE_MIB}`);
  return flags;
}
