import { ImageServiceService, type Image, type ImageServiceServer } from '../gen/runtime/v1/api.js';
import { invalidArgument } from '../errors.js';
import type { ImageStore } from '../image/store.js';
import type { ImageRecord } from '../image/types.js';
import { unary } from './unary.js';
import { withUnimplemented } from './unimplemented.js';

/** CRI's Image: the image's USER is split into a numeric uid or a user name. */
export function toCriImage(record: ImageRecord): Image {
  const user = record.config.user.split(':')[0] ?? '';
  const numeric = /^\d+$/.test(user);
  return {
    id: record.id,
    repoTags: record.repoTags,
    repoDigests: record.repoDigests,
    size: BigInt(record.size),
    uid: numeric ? { value: BigInt(user) } : undefined,
    username: numeric ? '' : user,
    spec: { image: record.id, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' },
    pinned: record.pinned,
  };
}

/** The CRI ImageService over cricket's image store. */
export function imageService(images: ImageStore): ImageServiceServer {
  const implemented: Partial<ImageServiceServer> = {
    listImages: unary('ListImages', (req) => {
      const wanted = req.filter?.image?.image;
      const records = wanted ? [images.resolve(wanted)].filter((r): r is ImageRecord => r !== undefined) : images.list();
      return { images: records.map(toCriImage) };
    }),
    imageStatus: unary('ImageStatus', (req) => {
      const ref = req.image?.image;
      if (!ref) throw invalidArgument('ImageStatus needs an image');
      const record = images.resolve(ref);
      // An unknown image is not an error here: CRI answers with an empty image.
      return { image: record ? toCriImage(record) : undefined, info: {} };
    }),
  };
  return withUnimplemented<ImageServiceServer>(ImageServiceService, implemented);
}
