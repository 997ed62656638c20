import { Image, ImageServiceService, type ImageServiceServer, type ListImagesResponse } from '../gen/runtime/v1/api.js';
import { invalidArgument } from '../errors.js';
import { Puller } from '../image/pull.js';
import type { RegistriesConfig } from '../image/registry-config.js';
import type { ImageStore } from '../image/store.js';
import type { DiskUsage } from '../image/store-usage.js';
import type { ImageRecord } from '../image/types.js';
import { logger } from '../log/logger.js';
import { encodedReply, ItemEncodings, messageOfFields } from './encoded-reply.js';
import { imageChecks } from './request-checks.js';
import { strictDefinition, withRequestChecks } from './strict-service.js';
import { listImageRecords, streamImagesHandler } from './stream-images.js';
import { unary } from './unary.js';
import { withUnimplemented } from './unimplemented.js';

/** ImageService as served: requests are checked against the proto before they are decoded. */
export const imageServiceDefinition = strictDefinition(ImageServiceService, 'runtime.v1.ImageService');

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

/** ListImagesResponse.images, the field each image's kept bytes are framed as. */
const LIST_IMAGES_IMAGES = 1;

/**
 * Each image's wire bytes as a ListImages item, made once per version of its record: records are
 * frozen and replaced whole when the store's index changes.
 */
const imageItems = new ItemEncodings(LIST_IMAGES_IMAGES, (record: ImageRecord) => Image.encode(toCriImage(record)).finish());

export interface ImageServiceOptions {
  registries?: RegistriesConfig;
  /** Ids of the images containers were created from: their layers outlive RemoveImage. */
  imagesInUse?: () => ReadonlySet<string>;
  puller?: Puller;
}

/** The CRI ImageService over cricket's image store. */
export function imageService(images: ImageStore, opts: ImageServiceOptions = {}): ImageServiceServer {
  const puller = opts.puller ?? new Puller(images, opts.registries ?? {});
  const inUse = opts.imagesInUse ?? (() => new Set<string>());
  const implemented: Partial<ImageServiceServer> = {
    listImages: unary('ListImages', (req) => encodedReply<ListImagesResponse>(messageOfFields(listImageRecords(images, req.filter).map((r) => imageItems.of(r))))),
    ...streamImagesHandler(images, toCriImage),
    imageStatus: unary('ImageStatus', async (req) => {
      const ref = req.image?.image;
      if (!ref) throw invalidArgument('ImageStatus needs an image');
      const record = images.resolve(ref);
      // An unknown image is not an error here: CRI answers with an empty image.
      if (!record) return { image: undefined, info: {} };
      const info: Record<string, string> = {};
      if (req.verbose) {
        let imageSpec: unknown;
        try {
          imageSpec = JSON.parse((await images.readConfig(record)).toString('utf8'));
        } catch (err) {
          logger.warn({ image: record.id, err: (err as Error).message }, 'image config unreadable for verbose status');
        }
        info.info = JSON.stringify({
          id: record.id,
          repoTags: record.repoTags,
          repoDigests: record.repoDigests,
          size: record.size,
          pinned: record.pinned,
          chainID: record.layers[record.layers.length - 1] ?? '',
          layers: record.layers,
          imageSpec,
        });
      }
      return { image: toCriImage(record), info };
    }),
    pullImage: unary('PullImage', async (req) => {
      const ref = req.image?.image;
      if (!ref) throw invalidArgument('PullImage needs an image');
      const result = await puller.pull(ref, { auth: req.auth });
      // Like containerd: the image id, which ContainerStatus reports as image_id.
      return { imageRef: result.image.id };
    }),
    removeImage: unary('RemoveImage', async (req) => {
      const ref = req.image?.image;
      if (!ref) throw invalidArgument('RemoveImage needs an image');
      await images.remove(ref, inUse);
      return {};
    }),
    imageFsInfo: unary('ImageFsInfo', () => {
      const reply = ({ bytes, inodes }: DiskUsage) => ({
        imageFilesystems: [{
          timestamp: BigInt(Date.now()) * 1_000_000n,
          fsId: { mountpoint: images.root },
          usedBytes: { value: BigInt(bytes) },
          inodesUsed: { value: BigInt(inodes) },
        }],
        containerFilesystems: [],
      });
      // A settled store is counted at once and answered in the request's own turn (unary.ts).
      const usage = images.usage();
      return usage instanceof Promise ? usage.then(reply) : reply(usage);
    }),
  };
  return withUnimplemented<ImageServiceServer>(
    ImageServiceService,
    withRequestChecks(ImageServiceService, implemented as ImageServiceServer, imageChecks),
  );
}
