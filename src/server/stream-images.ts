import { Image, type ImageFilter, type ImageServiceServer } from '../gen/runtime/v1/api.js';
import type { ImageStore } from '../image/store.js';
import type { ImageRecord } from '../image/types.js';
import { encodedFieldSize, streamList } from './stream-chunks.js';

/** ListImages' selection: one image by reference, or all of them. */
export function listImageRecords(images: ImageStore, filter: ImageFilter | undefined): ImageRecord[] {
  const wanted = filter?.image?.image;
  return wanted ? [images.resolve(wanted)].filter((r): r is ImageRecord => r !== undefined) : images.list();
}

/** StreamImages: ListImages in bounded chunks. */
export function streamImagesHandler(images: ImageStore, toCri: (record: ImageRecord) => Image): Partial<ImageServiceServer> {
  return {
    streamImages: streamList('StreamImages', (req) => listImageRecords(images, req.filter).map(toCri), encodedFieldSize((item) => Image.encode(item)), (chunk) => ({ images: chunk })),
  };
}
