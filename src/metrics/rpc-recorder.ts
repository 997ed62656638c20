/** Where finished CRI calls are reported; nowhere until the metrics endpoint is started. */
export type RpcRecorder = (method: string, ms: number, code: number) => void;

let recorder: RpcRecorder | undefined;

/** Set by the metrics endpoint when it starts, so that a node without it never loads prom-client. */
export function setRpcRecorder(next: RpcRecorder | undefined): void {
  recorder = next;
}

/** One finished CRI call: `code` 0 is OK. */
export function recordRpc(method: string, ms: number, code: number): void {
  recorder?.(method, ms, code);
}
