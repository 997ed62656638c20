/** What the rest of cricket knows about an image in the store. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  /** As written in the image: "", "name", "uid", "uid:gid", "name:group". */
  user: string;
  /** e.g. "SIGTERM"; "" when the image names none. */
  stopSignal: string;
  labels: Record<string, string>;
}

export interface ImageRecord {
  /** "sha256:<hex>" of the image config blob. */
  id: string;
  /** Normalised references, e.g. "docker.io/library/busybox:latest". */
  repoTags: string[];
  /** e.g. "docker.io/library/busybox@sha256:<manifest digest>". */
  repoDigests: string[];
  /** Bytes of the unpacked layers (what the image occupies on disk). */
  size: number;
  config: ImageConfig;
  /** Layer chain ids, bottom to top; each names one unpacked directory in the store. */
  layers: string[];
  /** Pinned images are never garbage-collected or removed (the built-in pause image). */
  pinned: boolean;
  /** Further blobs stored for the image (its manifest, the index it came from); kept until it goes. */
  blobs?: string[];
}
