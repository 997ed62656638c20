import type { Container } from 'kubernetes-types/core/v1.js';
import { ImageStatusRequest, PullImageRequest, type ImageStatusResponse, type PullImageResponse } from '../../gen/runtime/v1/api.js';
import type { Cri } from '../cri-client.js';

/** Kubernetes' default: images without a tag or tagged latest are pulled every time. */
export function pullPolicy(c: Container): 'Always' | 'IfNotPresent' | 'Never' {
  if (c.imagePullPolicy) return c.imagePullPolicy as 'Always' | 'IfNotPresent' | 'Never';
  const image = c.image ?? '';
  const lastPart = image.split('@')[0]!.split('/').pop() ?? '';
  return image.includes('@') ? 'IfNotPresent' : !lastPart.includes(':') || lastPart.endsWith(':latest') ? 'Always' : 'IfNotPresent';
}

/** PullImage when the policy says so, as kubelet's image manager does before CreateContainer. */
export async function ensureImage(cri: Cri, c: Container, say: (line: string) => void): Promise<void> {
  const image = c.image!;
  const policy = pullPolicy(c);
  if (policy !== 'Always') {
    const status = await cri.call<ImageStatusRequest, ImageStatusResponse>(cri.image, 'imageStatus', ImageStatusRequest.fromPartial({ image: { image } }));
    if (status.image) return;
    if (policy === 'Never') throw new Error(`container ${c.name}: image ${image} is not present and imagePullPolicy is Never`);
  }
  say(`pulling ${image}`);
  const res = await cri.call<PullImageRequest, PullImageResponse>(cri.image, 'pullImage', PullImageRequest.fromPartial({ image: { image } }), 30 * 60_000);
  say(`pulled ${image} (${res.imageRef.slice(0, 19)})`);
}
