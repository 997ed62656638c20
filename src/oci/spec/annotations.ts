import type { ContainerSpecInput, PauseSpecInput, SpecOpt } from './types.js';

/**
 * The CRI annotations other runtimes put in a bundle, so that tools reading it (runtime hooks,
 * sandboxed runtimes, node agents) can tell a pod's pause process from its containers and place
 * each in its pod.
 */
const CRI = 'io.kubernetes.cri';

export const withContainerAnnotations: SpecOpt<ContainerSpecInput> = (spec, { pod, config }) => {
  spec.annotations = {
    [`${CRI}.container-type`]: 'container',
    [`${CRI}.sandbox-id`]: pod.id,
    [`${CRI}.container-name`]: config.metadata?.name ?? '',
    [`${CRI}.image-name`]: config.image?.image ?? '',
    [`${CRI}.sandbox-name`]: pod.name,
    [`${CRI}.sandbox-namespace`]: pod.namespace,
    [`${CRI}.sandbox-uid`]: pod.uid,
  };
};

export const withPauseAnnotations: SpecOpt<PauseSpecInput> = (spec, { pod }) => {
  spec.annotations = {
    [`${CRI}.container-type`]: 'sandbox',
    [`${CRI}.sandbox-id`]: pod.id,
    [`${CRI}.sandbox-name`]: pod.name,
    [`${CRI}.sandbox-namespace`]: pod.namespace,
    [`${CRI}.sandbox-uid`]: pod.uid,
    [`${CRI}.sandbox-log-directory`]: pod.logDirectory,
  };
};
