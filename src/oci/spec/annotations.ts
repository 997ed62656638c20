import type { ContainerSpecInput, SpecOpt } from './types.js';

/** What tools reading a bundle need to place a container in its pod. */
export const withContainerAnnotations: SpecOpt<ContainerSpecInput> = (spec, { pod, config }) => {
  spec.annotations = { 'io.kubernetes.cri.sandbox-id': pod.id, 'io.kubernetes.cri.container-name': config.metadata?.name ?? '' };
};
