/** `--name value` and `--name=value` flags, the rest positional. Flags without value are "true". */
export function parseArgs(argv: string[], booleanFlags: ReadonlySet<string> = new Set()): { flags: Record<string, string>; positional: string[] } {
  const flags: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) flags[arg.slice(2, eq)] = arg.slice(eq + 1);
    else if (booleanFlags.has(arg.slice(2)) || i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) flags[arg.slice(2)] = 'true';
    else flags[arg.slice(2)] = argv[++i]!;
  }
  return { flags, positional };
}
