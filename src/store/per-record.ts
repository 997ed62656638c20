/**
 * A value worked out from a record, kept for as long as that version of the record exists.
 * Records are frozen and replaced whole on every change, so a kept value never goes stale, and it
 * goes with the version it was made for.
 */
export class PerRecord<R extends object, V, A extends unknown[] = []> {
  private readonly values = new WeakMap<R, V>();

  constructor(private readonly make: (record: R, ...args: A) => V) {}

  of(record: R, ...args: A): V {
    let value = this.values.get(record);
    if (value === undefined) {
      value = this.make(record, ...args);
      this.values.set(record, value);
    }
    return value;
  }
}
