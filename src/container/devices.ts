import type { Device } from '../gen/runtime/v1/api.js';
import { statDevice } from '../oci/host-devices.js';
import { checkDevice } from '../oci/spec/devices.js';
import type { ResolvedDevice } from '../oci/spec/types.js';

/** The request's devices with what the host's nodes are: type, numbers, mode. */
export async function resolveDevices(devices: readonly Device[]): Promise<ResolvedDevice[]> {
  const result: ResolvedDevice[] = [];
  for (const device of devices) {
    const permissions = device.permissions || 'rwm';
    checkDevice({ ...device, permissions });
    const node = await statDevice(device.hostPath);
    result.push({ containerPath: device.containerPath, hostPath: device.hostPath, permissions, ...node });
  }
  return result;
}
