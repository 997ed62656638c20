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

/**
 * runAsNonRoot, checked as kubelet checks it before starting the container: the user asked for,
 * or else the image's, must be a number other than 0.
 */
export async function verifyNonRoot(cri: Cri, c: Container, podSc: { runAsNonRoot?: boolean; runAsUser?: number } | undefined): Promise<void> {
  const sc = c.securityContext;
  if (!(sc?.runAsNonRoot ?? podSc?.runAsNonRoot)) return;
  const uid = sc?.runAsUser ?? podSc?.runAsUser;
  if (uid !== undefined) {
    if (uid === 0) throw new Error(`container ${c.name}: runAsNonRoot is set but runAsUser is 0`);
    return;
  }
  const status = await cri.call<ImageStatusRequest, ImageStatusResponse>(cri.image, 'imageStatus', ImageStatusRequest.fromPartial({ image: { image: c.image! } }));
  const image = status.image;
  if (image?.username) throw new Error(`container ${c.name}: runAsNonRoot is set and image ${c.image} has the non-numeric user "${image.username}": give runAsUser`);
  if (!image?.uid || image.uid.value === 0n) throw new Error(`container ${c.name}: runAsNonRoot is set and image ${c.image} runs as root: give runAsUser`);
}
