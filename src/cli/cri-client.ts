import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ImageServiceClient, RuntimeServiceClient } from '../gen/runtime/v1/api.js';

/** The CLI talks to the daemon as kubelet does: over the CRI socket, never through its files. */
export interface Cri {
  runtime: RuntimeServiceClient;
  image: ImageServiceClient;
  /** One unary call as a promise, with a deadline so a stuck daemon cannot hang the CLI. */
  call<Req, Res>(client: RuntimeServiceClient | ImageServiceClient, method: string, request: Req, timeoutMs?: number): Promise<Res>;
  close(): void;
}

export class CriCallError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly details: string,
  ) {
    super(`${method}: ${details}`);
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_MESSAGE = 16 * 1024 * 1024;

export function connectCri(socket: string): Cri {
  const address = `unix://${socket}`;
  const options = { 'grpc.max_receive_message_length': MAX_MESSAGE };
  const runtime = new RuntimeServiceClient(address, credentials.createInsecure(), options);
  const image = new ImageServiceClient(address, credentials.createInsecure(), options);
  return {
    runtime,
    image,
    call<Req, Res>(client: RuntimeServiceClient | ImageServiceClient, method: string, request: Req, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Res> {
      const fn = (client as unknown as Record<string, unknown>)[method];
      if (typeof fn !== 'function') throw new Error(`no CRI method ${method}`);
      return new Promise<Res>((resolve, reject) => {
        (fn as (req: Req, md: Metadata, opts: { deadline: Date }, cb: (err: ServiceError | null, res: Res) => void) => void).call(
          client,
          request,
          new Metadata(),
          { deadline: new Date(Date.now() + timeoutMs) },
          (err, res) => {
            if (!err) return resolve(res);
            // UNAVAILABLE: nobody answers on the socket; say which socket and what to do.
            const details = err.code === 14 ? `cannot reach the daemon on ${socket} (is cricket serve running? --socket names another): ${(err.details || err.message).replace(/\s*Resolution note:\s*$/, '')}` : err.details || err.message;
            reject(new CriCallError(method, err.code, details));
          },
        );
      });
    },
    close() {
      runtime.close();
      image.close();
    },
  };
}
