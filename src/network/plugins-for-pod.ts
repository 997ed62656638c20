import type { CniNetworkConfList } from './config.js';
import type { PortMapping } from './types.js';

/**
 * The network's plugin chain as one pod needs it, leaving out plugins that would do nothing for
 * it, each a Go program run at ADD and again at DEL:
 * - a portmap plugin that only serves hostPorts, for a pod without any: its ADD hands the
 *   previous result on untouched, and its DEL still runs iptables to look for rules never made;
 * - a plain loopback plugin when cricket made the netns with `lo` up already: its ADD would only
 *   bring `lo` up, and with a previous result in the chain it hands that on; its DEL only takes
 *   `lo` down in a netns that is removed right after.
 * The chain returned is the one saved with the pod, so DEL and CHECK later run exactly the plugins
 * ADD ran.
 */
export function pluginsForPod(config: CniNetworkConfList, pod: { portMappings: readonly PortMapping[]; loopbackUp?: boolean }): CniNetworkConfList {
  const plugins = config.plugins.filter(
    (p, i) => !(pod.portMappings.length === 0 && servesOnlyPortMappings(p)) && !(pod.loopbackUp && i > 0 && isPlainLoopback(p)),
  );
  return plugins.length === config.plugins.length || plugins.length === 0 ? config : { ...config, plugins };
}

function servesOnlyPortMappings(plugin: CniNetworkConfList['plugins'][number]): boolean {
  if (plugin.type !== 'portmap') return false;
  const caps = Object.entries(plugin.capabilities ?? {}).filter(([, on]) => on === true).map(([name]) => name);
  return caps.length === 1 && caps[0] === 'portMappings';
}

/** `{"type": "loopback"}` and nothing else that could change what it does. */
function isPlainLoopback(plugin: CniNetworkConfList['plugins'][number]): boolean {
  return plugin.type === 'loopback' && Object.keys(plugin).every((k) => k === 'type' || k === 'name' || k === 'cniVersion');
}
