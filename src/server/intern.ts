/**
 * A bounded pool of shared immutable values.
 *
 * A gateway holds many registrations of few device models: their object
 * lists, object entries, bindings and content-format lists repeat. Handing
 * every registration the same frozen instance for equal content keeps each
 * one small. The pool only helps sharing; it never owns anything: when it
 * reaches its bound it is emptied, and values already handed out stay alive
 * through the registrations holding them. So memory stays bounded even when
 * every device is different.
 */
export class InternPool<T> {
  private readonly values = new Map<string, T>();

  constructor(private readonly maxEntries: number) {}

  /** The shared value for `key`, built by `make` the first time it is asked for. */
  get(key: string, make: () => T): T {
    const known = this.values.get(key);
    if (known !== undefined) return known;
    const value = make();
    if (this.values.size >= this.maxEntries) this.values.clear();
    this.values.set(key, value);
    return value;
  }

  get size(): number {
    return this.values.size;
  }
}
