/**
 * Images held by work under way (a CreateContainer between resolving its image and recording
 * the container): the garbage collector keeps their layers as it keeps those of containers.
 */
export class ImageLeases {
  private readonly counts = new Map<string, number>();

  /** Holds `imageId` until the returned function is called (once). */
  acquire(imageId: string): () => void {
    this.counts.set(imageId, (this.counts.get(imageId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(imageId) ?? 1) - 1;
      if (left > 0) this.counts.set(imageId, left);
      else this.counts.delete(imageId);
    };
  }

  ids(): IterableIterator<string> {
    return this.counts.keys();
  }
}
