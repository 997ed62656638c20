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

export interface CommandArgSpec {
  /** Long names of flags that take no value. */
  boolean: readonly string[];
  /** One-letter aliases: -a → all. Combined boolean letters (-it) are split. */
  short?: Readonly<Record<string, string>>;
}

/**
 * Like parseArgs, with one-letter flags (`-a`, `-c NAME`, `-it`) and declared booleans, so
 * `--down FILE` keeps FILE positional.
 */
export function parseCommandArgs(argv: string[], spec: CommandArgSpec): { flags: Record<string, string>; positional: string[] } {
  const booleans = new Set(spec.boolean);
  const short = spec.short ?? {};
  const expanded: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      expanded.push(...argv.slice(i));
      break;
    }
    if (/^-[A-Za-z]+$/.test(arg)) {
      for (const letter of arg.slice(1)) {
        const name = short[letter];
        if (!name) throw new Error(`unknown flag -${letter}`);
        expanded.push(`--${name}`);
      }
      continue;
    }
    expanded.push(arg);
  }
  return parseArgs(expanded, booleans);
}
