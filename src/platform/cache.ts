// Small in-process caches: TtlCache (expiry and a size bound; concurrent misses for one key share one load)
// and BoundedMemo (results of a slow pure computation, up to a bound).
export class TtlCache<V> {
  private readonly entries = new Map<string, { expires: number; value: Promise<V> }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  constructor(ttlMs: number, maxEntries: number) {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    if (this.ttlMs <= 0) return load();
    const hit = this.peek(key);
    if (hit) return hit;
    const value = load();
    this.store(key, value);
    return value;
  }

  /** The value kept under the key, if it has not expired. */
  peek(key: string): Promise<V> | undefined {
    const hit = this.entries.get(key);
    return hit && hit.expires > Date.now() ? hit.value : undefined;
  }

  /** Keeps a value computed elsewhere (several keys filled by one query). */
  put(key: string, value: V): void {
    if (this.ttlMs > 0) this.store(key, Promise.resolve(value));
  }

  private store(key: string, value: Promise<V>): void {
    const now = Date.now();
    // Entries are kept in the order they were stored, so the oldest (first to expire) are at the front:
    // a store removes those that expired and, when full, the oldest — not a walk over every entry.
    this.entries.delete(key);
    for (const [k, e] of this.entries) {
      if (e.expires > now && this.entries.size < this.maxEntries) break;
      this.entries.delete(k);
    }
    this.entries.set(key, { expires: now + this.ttlMs, value });
    value.catch(() => this.entries.delete(key));
  }
}

/**
 * Results of a slow, pure computation (formatting) kept by key, for values shown again and again; when
 * the bound is reached everything is forgotten at once, which is cheaper than tracking age per entry.
 */
export class BoundedMemo<V> {
  private readonly entries = new Map<string, V>();
  private readonly maxEntries: number;
  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  get(key: string, compute: () => V): V {
    let value = this.entries.get(key);
    if (value === undefined) {
      value = compute();
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }
}
