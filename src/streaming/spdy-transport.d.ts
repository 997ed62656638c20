// The part of spdy-transport (v3, untyped) that cricket's streaming server and test client use.
declare module 'spdy-transport' {
  import type { EventEmitter } from 'node:events';
  import type { Duplex } from 'node:stream';

  namespace transport {
    interface Side {
      current: number;
      max: number;
      limit: number;
      update(size: number, callback?: () => void): void;
    }

    interface SpdyWindow {
      recv: Side;
      send: Side;
    }

    interface Stream extends Duplex {
      id: number;
      headers: Record<string, string | string[]>;
      _spdyState: { window: SpdyWindow; sessionWindow: SpdyWindow };
      respond(status: number, headers: Record<string, string>, callback?: (err?: Error) => void): void;
      abort(code?: string, callback?: () => void): void;
      on(event: 'response', listener: (status: number, headers: Record<string, string>) => void): this;
      on(event: string | symbol, listener: (...args: any[]) => void): this;
    }

    interface RequestOptions {
      method: string;
      path: string;
      host?: string;
      headers: Record<string, string>;
      readable?: boolean;
      writable?: boolean;
    }

    interface Connection extends EventEmitter {
      socket: Duplex;
      _spdyState: { window: SpdyWindow; streamWindow: SpdyWindow; stream: { count: number } };
      start(version: number): void;
      end(callback?: () => void): void;
      destroyStreams(err?: Error): void;
      request(options: RequestOptions, callback: (err: Error | null, stream: Stream) => void): Stream;
      ping(callback?: (err: Error | null) => void): void;
      on(event: 'stream', listener: (stream: Stream) => void): this;
      on(event: string | symbol, listener: (...args: any[]) => void): this;
    }

    interface ConnectionOptions {
      protocol: 'spdy' | 'http2';
      isServer: boolean;
      windowSize?: number;
      maxChunk?: number | false;
      autoSpdy31?: boolean;
    }

    interface Parser {
      parseKVs(buffer: unknown, callback: (err: Error | null, headers?: Record<string, string>) => void): void;
      onSynHeadFrame(type: number, flags: number, body: unknown, callback: (err: Error | null, frame?: unknown) => void): void;
    }
  }

  const transport: {
    connection: { create(socket: Duplex, options: transport.ConnectionOptions): transport.Connection };
    protocol: { spdy: { parser: { create(options: { isServer: boolean }): transport.Parser } } };
  };
  export = transport;
}
