import { alreadyExists } from '../errors.js';

/** Who holds a name: the object's id, the digest of the request that made it, and, while that request is still running, its outcome. */
export interface NameHolder {
  id: string;
  digest: string;
  /** Settles when the creation under way ends (either way); undefined once it is done. */
  creating?: Promise<unknown>;
}

/**
 * The one owner of pod and container names. A name is reserved before anything is made for it
 * and released when the creation fails or the object is removed, so that two calls for one name
 * can never both win, and a retry of a call still under way can find it and join it.
 */
export class NameIndex {
  private readonly holders = new Map<string, NameHolder>();

  holder(key: string): NameHolder | undefined {
    return this.holders.get(key);
  }

  /** Reserves `key` for `holder`; ALREADY_EXISTS if another holds it. */
  reserve(key: string, holder: NameHolder, what: string): void {
    const current = this.holders.get(key);
    if (current && current.id !== holder.id) throw alreadyExists(`${what} is already reserved by ${current.id}`);
    this.holders.set(key, holder);
  }

  /** Marks the creation of `key` as done: later retries compare with the record. */
  settle(key: string, id: string): void {
    const current = this.holders.get(key);
    if (current?.id === id) this.holders.set(key, { id, digest: current.digest });
  }

  /** Frees `key` if `id` holds it. */
  release(key: string, id: string): void {
    if (this.holders.get(key)?.id === id) this.holders.delete(key);
  }
}

export function sandboxNameKey(name: string, namespace: string, uid: string, attempt: number): string {
  return `pod/${name}_${namespace}_${uid}_${attempt}`;
}

export function containerNameKey(sandboxId: string, name: string, attempt: number): string {
  return `container/${sandboxId}/${name}_${attempt}`;
}
