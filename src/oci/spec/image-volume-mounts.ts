import type { OciMount } from '../spec-types.js';

/** A mounted image volume: where it goes in the container and the host directory it shows. */
export interface ImageVolumeSource {
  containerPath: string;
  source: string;
}

/** Image volumes are read-only binds, with no setuid programs or device nodes honoured. */
export function imageVolumeMounts(volumes: readonly ImageVolumeSource[]): OciMount[] {
  return volumes.map((v) => ({ destination: v.containerPath, type: 'bind', source: v.source, options: ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev'] }));
}
