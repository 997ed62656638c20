export type QueryCommand = 'pods' | 'ps' | 'logs' | 'exec' | 'inspect' | 'stop' | 'rm';
export const QUERY_USAGES: Record<string, string> = {};
export async function queryCommand(_c: QueryCommand, _p: string[], _f: Record<string, string>, _s: string): Promise<number> {
  return 2;
}
