import { invalidArgument } from '../../errors.js';
import type { ContainerSpecInput, ResolvedDevice, SpecOpt } from './types.js';

const PERMISSIONS = /^[rwm]+$/;

/** A device needs an absolute path in the container and permissions made of r, w and m. */
export function checkDevice(device: Pick<ResolvedDevice, 'containerPath' | 'hostPath' | 'permissions'>): void {
  if (!device.containerPath.startsWith('/')) throw invalidArgument(`device path "${device.containerPath}" is not absolute`);
  if (!PERMISSIONS.test(device.permissions)) throw invalidArgument(`device ${device.hostPath}: permissions "${device.permissions}" are not a mix of r, w and m`);
}

/**
 * Privileged containers get every device node of the host and may use any device. The request's
 * devices then become nodes in the container and allow rules in its devices cgroup.
 */
export const withDevices: SpecOpt<ContainerSpecInput> = (spec, input) => {
  const resources = (spec.linux.resources ??= {});
  if (input.config.linux?.securityContext?.privileged) {
    spec.linux.devices = input.hostDevices.map((d) => ({ ...d }));
    resources.devices = [{ allow: true, access: 'rwm' }];
  }
  for (const device of input.devices) {
    checkDevice(device);
    const { type, major, minor } = device;
    (spec.linux.devices ??= []).push({ path: device.containerPath, type, major, minor, fileMode: device.fileMode, uid: 0, gid: 0 });
    (resources.devices ??= []).push({ allow: true, type, major, minor, access: device.permissions });
  }
};
