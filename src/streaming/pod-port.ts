import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { ioHelper } from '../container/io-helper.js';
import type { SandboxRecord } from '../store/types.js';

/** A TCP connection to a port of a pod, seen from inside the pod's network namespace. */
export interface PodConnection {
  /** Bytes to the pod; end() half-closes the connection. */
  readonly input: Writable;
  /** Bytes from the pod; ends when the pod's side closes. */
  readonly output: Readable;
  /** Resolves when the connection is over: with the error text, if it failed. */
  readonly done: Promise<string | undefined>;
  close(): void;
}

/**
 * Connects to localhost:port in the pod's network namespace. Node cannot enter a namespace, so
 * cricket-io does (setns on the pinned netns) and relays the connection over its stdio; a pod
 * on the host network is reached directly on the host's loopback.
 */
export function dialPodPort(sandbox: SandboxRecord, port: number): PodConnection {
  if (!sandbox.netnsPath) {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let error: string | undefined;
    socket.on('error', (err) => (error = `dial tcp 127.0.0.1:${port}: ${err.message}`));
    return {
      input: socket,
      output: socket,
      done: new Promise((resolve) => socket.once('close', () => resolve(error))),
      close: () => socket.destroy(),
    };
  }
  const child = spawn(ioHelper(), ['connect', sandbox.netnsPath, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let closedHere = false;
  child.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 4096) stderr += c.toString();
  });
  child.stdin!.on('error', () => undefined);
  child.stdout!.on('error', () => undefined);
  return {
    input: child.stdin!,
    output: child.stdout!,
    done: new Promise((resolve) => {
      child.once('close', (code, signal) => {
        if (code === 0 || (closedHere && signal)) resolve(undefined);
        else resolve(stderr.trim() || `relay exited with ${code ?? signal}`);
      });
      child.once('error', (err) => resolve(err.message));
    }),
    close: () => {
      if (child.exitCode === null && child.signalCode === null) {
        closedHere = true;
        child.kill('SIGKILL');
      }
    },
  };
}
