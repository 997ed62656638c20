import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { ioHelper } from '../container/io-helper.js';
import { failedPrecondition, notFound } from '../errors.js';
import { NamespaceMode } from '../gen/runtime/v1/api.js';
import { isNetnsMounted } from '../network/netns.js';
import type { RuntimeContext } from '../runtime-context.js';

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
 * Where a pod's ports are reached: the node's own network only for a pod that asked for it
 * (namespaces.network NODE), else the pod's pinned namespace. An empty or unpinned path is a
 * stopped pod, never "the host".
 */
export type PodNetwork = { kind: 'node' } | { kind: 'pod'; netnsPath: string };

/**
 * The network of a pod, checked at the moment of a connection (a token may outlive the pod's
 * readiness): the pod must be ready and, unless it is on the node's network, its namespace
 * still pinned (an nsfs mount). The messages are containerd's, as kubelet relays them.
 */
export async function podNetwork(ctx: RuntimeContext, sandboxId: string): Promise<PodNetwork> {
  const sandbox = ctx.sandboxes.find(sandboxId);
  if (!sandbox) throw notFound(`failed to find sandbox "${sandboxId}" in store`);
  if (sandbox.state !== 'ready') throw failedPrecondition(`network namespace for sandbox "${sandbox.id}" is closed (pod is ${sandbox.state})`);
  if (sandbox.namespaces.network === NamespaceMode.NODE) return { kind: 'node' };
  const path = sandbox.netnsPath;
  const pinned = path ? await isNetnsMounted(path).catch(() => false) : false;
  if (!pinned) throw failedPrecondition(`network namespace for sandbox "${sandbox.id}" is closed`);
  return { kind: 'pod', netnsPath: path };
}

/**
 * Connects to localhost:port in the pod's network. Node cannot enter a namespace, so
 * cricket-io does (setns on the pinned netns, which fails on anything but a network
 * namespace) and relays the connection over its stdio; a pod on the node's network is
 * reached directly on the node's loopback.
 */
export function dialPodPort(network: PodNetwork, port: number): PodConnection {
  if (network.kind === 'node') {
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
  const child = spawn(ioHelper(), ['connect', network.netnsPath, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
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
