export const CONFIG_USAGE = 'usage: cricket config default\n';
export async function configCommand(_positional: string[], _flags: Record<string, string>): Promise<number> {
  return 2;
}
