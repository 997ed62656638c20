import type { CniNetworkConfList } from './config.js';
import type { PortMapping } from './types.js';

/**
 * The network's plugin chain as one pod needs it. A portmap plugin that only serves hostPorts
 * does nothing for a pod without any: its ADD hands the previous result on untouched, and its
 * DEL still runs iptables to look for rules that were never made. Dropping it saves two plugin
 * runs per pod. The chain returned is the one saved with the pod, so DEL and CHECK later run
 * exactly the plugins ADD ran.
 */
export function pluginsForPod(config: CniNetworkConfList, portMappings: readonly PortMapping[]): CniNetworkConfList {
  if (portMappings.length > 0) return config;
  const plugins = config.plugins.filter((p) => !servesOnlyPortMappings(p));
  return plugins.length === config.plugins.length || plugins.length === 0 ? config : { ...config, plugins };
}

function servesOnlyPortMappings(plugin: CniNetworkConfList['plugins'][number]): boolean {
  if (plugin.type !== 'portmap') return false;
  const caps = Object.entries(plugin.capabilities ?? {}).filter(([, on]) => on === true).map(([name]) => name);
  return caps.length === 1 && caps[0] === 'portMappings';
}
