import { stat } from 'node:fs/promises';
import { invalidArgument } from '../errors.js';
import type { Device } from '../gen/runtime/v1/api.js';
import { deviceNumbers } from '../oci/device-numbers.js';
import type { OciSpec } from '../oci/spec-types.js';

/** CRI devices become device nodes in the container and allow rules in its devices cgroup. */
export async function addDevices(spec: OciSpec, devices: Device[]): Promise<void> {
  for (const device of devices) {
    if (!device.containerPath.startsWith('/')) throw invalidArgument(`device path "${device.containerPath}" is not absolute`);
    const permissions = device.permissions || 'rwm';
    if (!/^[rwm]+$/.test(permissions)) throw invalidArgument(`device ${device.hostPath}: permissions "${permissions}" are not a mix of r, w and m`);
    const st = await stat(device.hostPath, { bigint: true }).catch((err: Error) => {
      throw invalidArgument(`device ${device.hostPath}: ${err.message}`);
    });
    if (!st.isCharacterDevice() && !st.isBlockDevice()) throw invalidArgument(`${device.hostPath} is not a device node`);
    const type = st.isCharacterDevice() ? 'c' : 'b';
    const { major, minor } = deviceNumbers(st.rdev);
    (spec.linux.devices ??= []).push({ path: device.containerPath, type, major, minor, fileMode: Number(st.mode & 0o777n), uid: 0, gid: 0 });
    const resources = (spec.linux.resources ??= {});
    (resources.devices ??= []).push({ allow: true, type, major, minor, access: permissions });
  }
}
