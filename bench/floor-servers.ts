// Run by client-floor.ts in a process of its own, as a runtime is: three servers that answer
// PodSandboxStatus at once with fixed bytes: through grpc-js, through cricket's gRPC server behind
// its unix listener, and through Node's HTTP/2 alone.
// Usage: node floor-servers.js GRPC_JS_SOCKET CRICKET_SOCKET HTTP2_SOCKET; prints "ready", ends
// with its stdin.
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { frameMessage } from '../src/server/grpc-framing.js';
import { GrpcServer } from '../src/server/grpc-server.js';
import { listenUnix, type UnixListener } from '../src/server/listen-unix.js';
import { NamespaceMode, PodSandboxState, PodSandboxStatusResponse, RuntimeServiceService } from '../src/gen/runtime/v1/api.js';

/** A ready pod's status with the fields a runtime fills in, as kubelet receives it. */
function fixedReply(): Buffer {
  return Buffer.from(PodSandboxStatusResponse.encode(PodSandboxStatusResponse.fromPartial({
    status: {
      id: 'f'.repeat(64),
      metadata: { name: 'relist-0', uid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', namespace: 'bench', attempt: 0 },
      state: PodSandboxState.SANDBOX_READY,
      createdAt: 1_764_633_600_000_000_000n,
      network: { ip: '10.88.0.17', additionalIps: [] },
      linux: { namespaces: { options: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD } } },
      labels: { app: 'relist-0' },
      annotations: {},
      runtimeHandler: '',
    },
    timestamp: 1_764_633_600_000_000_000n,
  })).finish());
}

/** A grpc-js server whose PodSandboxStatus hands back the fixed bytes. */
async function grpcJsServer(socket: string, reply: Buffer): Promise<grpc.Server> {
  const server = new grpc.Server();
  const definition = { podSandboxStatus: { ...RuntimeServiceService.podSandboxStatus, responseSerialize: () => reply } };
  server.addService(definition, { podSandboxStatus: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, {}) });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return server;
}

/** cricket's own gRPC server and unix listener, with the same fixed answer. */
async function cricketServer(socket: string, reply: Buffer): Promise<UnixListener> {
  const server = new GrpcServer();
  const definition = { podSandboxStatus: { ...RuntimeServiceService.podSandboxStatus, responseSerialize: () => reply } };
  server.addService(definition, { podSandboxStatus: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, {}) });
  return listenUnix(server, socket, { mode: 0o600 });
}

/** Node's HTTP/2 server alone: headers, the framed bytes and the trailers, nothing else. */
async function http2Server(socket: string, reply: Buffer): Promise<http2.Http2Server> {
  const body = frameMessage(reply);
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return server;
}

const [grpcJsSocket, cricketSocket, http2Socket] = process.argv.slice(2);
if (!grpcJsSocket || !cricketSocket || !http2Socket) throw new Error('usage: floor-servers GRPC_JS_SOCKET CRICKET_SOCKET HTTP2_SOCKET');
const reply = fixedReply();
const grpcJs = await grpcJsServer(grpcJsSocket, reply);
const cricket = await cricketServer(cricketSocket, reply);
const plain = await http2Server(http2Socket, reply);
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => {
  grpcJs.forceShutdown();
  plain.close();
  void cricket.close().finally(() => process.exit(0));
});
