import { isDigest } from '../image/digest.js';
import { carriesReference, looksLikeImageId, parseReference } from '../image/reference.js';
import type { ImageRecord } from '../image/types.js';

/**
 * The image name a container's status shows. kubelet creates a container from the image's id (what
 * PullImage answered), so a status echoing the request would put a digest where the pod names an
 * image: an id, whole or a prefix, is shown as the image's first tag, as other runtimes show it. A
 * name, by tag or by digest, stays as the caller wrote it.
 */
export function statusImageName(requested: string, image: Pick<ImageRecord, 'repoTags' | 'repoDigests'>): string {
  return namesImageById(requested.trim(), image) ? (image.repoTags[0] ?? requested) : requested;
}

/** Whether `wanted` found the image by its id rather than by a name it carries (the store's order). */
function namesImageById(wanted: string, image: Pick<ImageRecord, 'repoTags' | 'repoDigests'>): boolean {
  if (isDigest(wanted)) return true;
  try {
    if (carriesReference(image, parseReference(wanted))) return false;
  } catch {
    // Not a reference: an id prefix or nothing the store would have found.
  }
  return looksLikeImageId(wanted);
}
