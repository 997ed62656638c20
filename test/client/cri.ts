// Test-side CRI client, built only from proto/ with @grpc/proto-loader (independent of src/gen),
// so tests exercise the server through a second, separately derived view of the wire format.
// Messages are plain objects with the proto's snake_case field names, int64 as strings, enums as
// their value names, and every field present (defaults: true).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export type Message = Record<string, unknown>;

export const PROTO_FILE = 'runtime/v1/api.proto';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Directory holding proto/runtime/v1/api.proto, found by walking up from this file (works from dist/ or src). */
export function protoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'proto');
    if (existsSync(path.join(candidate, PROTO_FILE))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find proto/${PROTO_FILE} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

let cachedDefinition: protoLoader.PackageDefinition | undefined;

/** The CRI package definition as loaded by proto-loader with LOADER_OPTIONS (cached). */
export function criPackageDefinition(): protoLoader.PackageDefinition {
  cachedDefinition ??= protoLoader.loadSync(PROTO_FILE, { ...LOADER_OPTIONS, includeDirs: [protoRoot()] });
  return cachedDefinition;
}

/** A RuntimeService request as this view of the proto encodes it (for clients that send bytes). */
export function encodeRuntimeRequest(method: string, request: Message): Buffer {
  const service = criPackageDefinition()['runtime.v1.RuntimeService'] as protoLoader.ServiceDefinition;
  const def = service[method];
  if (!def) throw new Error(`runtime.v1.RuntimeService has no method ${method}`);
  return def.requestSerialize(request);
}

export interface CriConstructors {
  RuntimeService: grpc.ServiceClientConstructor;
  ImageService: grpc.ServiceClientConstructor;
}

/** Raw grpc-js client constructors, for tests that need their own address, credentials or channel options. */
export function criClientConstructors(): CriConstructors {
  const pkg = grpc.loadPackageDefinition(criPackageDefinition());
  const runtime = pkg['runtime'] as grpc.GrpcObject | undefined;
  const v1 = runtime?.['v1'] as grpc.GrpcObject | undefined;
  const RuntimeService = v1?.['RuntimeService'];
  const ImageService = v1?.['ImageService'];
  if (typeof RuntimeService !== 'function' || typeof ImageService !== 'function') {
    throw new Error('runtime.v1.RuntimeService / ImageService missing from the proto');
  }
  return { RuntimeService, ImageService };
}

export interface CallOptions {
  /** Deadline in milliseconds from now; 0 means none. Defaults to the factory's deadlineMs. */
  deadlineMs?: number;
  metadata?: grpc.Metadata;
}

export interface CriServiceClient {
  /** Unary call; resolves with the response object, rejects with the grpc.ServiceError (has .code). */
  call<T extends Message = Message>(method: string, request?: Message, options?: CallOptions): Promise<T>;
  /** Server-streaming call (e.g. GetContainerEvents, StreamContainers); no deadline unless given. */
  stream(method: string, request?: Message, options?: CallOptions): grpc.ClientReadableStream<Message>;
  /** Method names of this service as in the proto (e.g. 'RunPodSandbox'). */
  readonly methods: readonly string[];
  readonly client: grpc.Client;
}

export interface CriClients {
  runtime: CriServiceClient;
  image: CriServiceClient;
  close(): void;
}

export interface CriClientOptions {
  /** Default deadline for unary calls, in ms (0 = none). Default 120000, so a hung server fails a test. */
  deadlineMs?: number;
  channelOptions?: grpc.ChannelOptions;
}

function deadlineFrom(ms: number | undefined): grpc.CallOptions {
  return ms !== undefined && ms > 0 ? { deadline: Date.now() + ms } : {};
}

function wrap(ctor: grpc.ServiceClientConstructor, address: string, opts: CriClientOptions): CriServiceClient {
  const client = new ctor(address, grpc.credentials.createInsecure(), opts.channelOptions ?? {});
  const defaultDeadline = opts.deadlineMs ?? 120_000;
  const methods = Object.keys(ctor.service);
  const method = (name: string, streaming: boolean): grpc.MethodDefinition<Message, Message> => {
    const def = ctor.service[name] as grpc.MethodDefinition<Message, Message> | undefined;
    if (def === undefined) throw new Error(`${ctor.serviceName} has no method ${name}`);
    if (def.requestStream || def.responseStream !== streaming) {
      throw new Error(`${ctor.serviceName}.${name} is ${def.responseStream ? 'server-streaming: use stream()' : 'unary: use call()'}`);
    }
    return def;
  };
  return {
    client,
    methods,
    call<T extends Message = Message>(name: string, request: Message = {}, options: CallOptions = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const def = method(name, false);
        client.makeUnaryRequest<Message, Message>(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          request,
          options.metadata ?? new grpc.Metadata(),
          deadlineFrom(options.deadlineMs ?? defaultDeadline),
          (err, response) => {
            if (err) reject(err);
            else resolve((response ?? {}) as T);
          },
        );
      });
    },
    stream(name: string, request: Message = {}, options: CallOptions = {}): grpc.ClientReadableStream<Message> {
      const def = method(name, true);
      return client.makeServerStreamRequest<Message, Message>(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        options.metadata ?? new grpc.Metadata(),
        deadlineFrom(options.deadlineMs),
      );
    },
  };
}

/** Clients for RuntimeService and ImageService on unix:<socketPath>. */
export function criClients(socketPath: string, opts: CriClientOptions = {}): CriClients {
  const { RuntimeService, ImageService } = criClientConstructors();
  const address = `unix:${socketPath}`;
  const runtime = wrap(RuntimeService, address, opts);
  const image = wrap(ImageService, address, opts);
  return {
    runtime,
    image,
    close() {
      runtime.client.close();
      image.client.close();
    },
  };
}

/** Collects every message of a server stream; rejects with the stream's ServiceError. */
export function collect(stream: grpc.ClientReadableStream<Message>): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const items: Message[] = [];
    stream.on('data', (m: Message) => items.push(m));
    stream.on('error', reject);
    stream.on('end', () => resolve(items));
  });
}
