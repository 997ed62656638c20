/** A hostPort the pod asks for (CRI PortMapping, as the CNI portmap plugin takes it). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP: string;
}

export interface PodNetworkRequest {
  podId: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  /** The pinned network namespace, e.g. /run/cricket/netns/<podId>. */
  netnsPath: string;
  portMappings: PortMapping[];
  /** The netns was made by cricket, whose loopback interface it brought up already. */
  loopbackUp?: boolean;
}

export interface PodNetworkResult {
  /** Pod addresses without prefix length; the first is the primary one. */
  ips: string[];
  /** The plugin chain's final result, kept so that DEL can be given prevResult. */
  result: unknown;
  /** Name of the CNI network the pod joined. */
  networkName?: string;
  /**
   * The network configuration list (JSON) the ADD ran with. Passing it back to tearDown makes
   * DEL undo exactly what ADD did even if the conf dir changed in between.
   */
  config?: string;
}

export interface NetworkStatus {
  ready: boolean;
  reason: string;
  message: string;
}
