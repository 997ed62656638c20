#!/usr/bin/env node
// A tiny CRI client for scripts, built from proto/ with @grpc/proto-loader:
//   cri-call.mjs SOCKET wait [SECONDS]            until the runtime answers Version
//   cri-call.mjs SOCKET pod-cidr CIDR[,CIDR]      UpdateRuntimeConfig, as kubelet sends the node's pod CIDR
//   cri-call.mjs SOCKET remove-all-pods           stop and remove every pod sandbox
//   cri-call.mjs SOCKET call METHOD [JSON]        any RuntimeService method, reply printed as JSON
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const [socket, verb, ...args] = process.argv.slice(2);
if (!socket || !verb) {
  console.error('usage: cri-call.mjs SOCKET wait|pod-cidr|remove-all-pods|call ...');
  process.exit(2);
}
const protoDir = fileURLToPath(new URL('../proto', import.meta.url));
const def = protoLoader.loadSync('runtime/v1/api.proto', { keepCase: true, longs: String, enums: String, defaults: true, includeDirs: [protoDir] });
const { RuntimeService } = grpc.loadPackageDefinition(def).runtime.v1;
const client = new RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure());

function call(method, req = {}, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    client[method](req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function main() {
  switch (verb) {
    case 'wait': {
      const deadline = Date.now() + Number(args[0] ?? 30) * 1000;
      for (;;) {
        try {
          await call('Version', {}, 1000);
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`no CRI runtime answered on ${socket}: ${err.message}`);
          await sleep(100);
        }
      }
    }
    case 'pod-cidr':
      await call('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: args[0] ?? '' } } });
      return;
    case 'remove-all-pods': {
      const { items } = await call('ListPodSandbox', {});
      for (const pod of items) {
        await call('StopPodSandbox', { pod_sandbox_id: pod.id }, 60_000);
        await call('RemovePodSandbox', { pod_sandbox_id: pod.id }, 60_000);
      }
      return;
    }
    case 'call':
      console.log(JSON.stringify(await call(args[0], JSON.parse(args[1] ?? '{}'))));
      return;
    default:
      throw new Error(`unknown verb ${verb}`);
  }
}

main()
  .then(() => client.close())
  .catch((err) => {
    console.error(`cri-call ${verb}: ${err.message}`);
    client.close();
    process.exit(1);
  });
