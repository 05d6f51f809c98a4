// Everything the fake remembers, in memory: records, properties, associations, fixtures, the request
// log and the clock. Tests read it directly (server.state) or through GET /__fake/state.
import { defaultOwners, defaultPipelines, defaultProperties, propertyDef } from './fixtures.ts';
import { maxInWindow } from './limits.ts';
import type {
  AssociationEdge, CrmObject, FakeConfig, FakeHubSpotOptions, ObjectType, Owner, Pipeline, PropertyDef, RequestLogEntry,
} from './types.ts';
import { OBJECT_TYPES } from './types.ts';

export const DEFAULT_CONFIG: FakeConfig = {
  tokens: ['fake-hubspot-token'],
  expiredTokens: ['expired-hubspot-token'],
  oauth: false,
  portalId: 24681357,
  burstMax: 100,
  burstIntervalMs: 10_000,
  dailyMax: 250_000,
  dailyResetUtcOffsetMinutes: 0,
  searchPerSecond: 4,
  searchCountsTowardBurst: true,
  searchRateLimitHeaders: false,
  countRejected: true,
  retryAfter: false,
  indexingDelayMs: 2000,
  batchMax: 100,
  historyBatchMax: 50,
  associationBatchCreateMax: 2000,
  associationBatchReadMax: 1000,
  associationPageMax: 500,
  listMaxLimit: 100,
  ownersMaxLimit: 500,
  searchMaxLimit: 200,
  searchMaxResults: 10_000,
  searchMaxFilterGroups: 5,
  searchMaxFiltersPerGroup: 6,
  searchMaxFilters: 18,
  searchMaxQueryLength: 3000,
  batchResultOrder: 'shuffle',
  logBodies: true,
  maxLoggedRequests: 100_000,
};

/** The fake's time: a base clock plus an offset tests move forward instead of sleeping. */
export class FakeClock {
  private offset = 0;
  private readonly base: () => number;
  constructor(base: () => number = Date.now) {
    this.base = base;
  }
  now(): number {
    return this.base() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

/** mulberry32: small, seeded, reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FakeState {
  readonly config: FakeConfig;
  readonly clock: FakeClock;
  random: () => number;
  readonly objects: Record<ObjectType, Map<string, CrmObject>> = { contacts: new Map(), deals: new Map(), notes: new Map() };
  readonly properties: Record<ObjectType, Map<string, PropertyDef>> = { contacts: new Map(), deals: new Map(), notes: new Map() };
  /** Keyed `fromType:fromId>toType:toId`; both directions are stored. */
  readonly associations = new Map<string, AssociationEdge>();
  pipelines: Pipeline[];
  owners: Owner[];
  readonly requests: RequestLogEntry[] = [];
  private nextId: number;
  private nextSeq = 1;
  private readonly options: FakeHubSpotOptions;

  constructor(options: FakeHubSpotOptions = {}) {
    this.options = options;
    const config: FakeConfig = { ...DEFAULT_CONFIG };
    for (const key of Object.keys(DEFAULT_CONFIG) as (keyof FakeConfig)[]) {
      if (options[key] !== undefined) Object.assign(config, { [key]: options[key] });
    }
    this.config = config;
    this.clock = new FakeClock(options.now);
    this.random = seededRandom(options.seed ?? 1);
    this.nextId = options.idStart ?? 37_000_000_001;
    this.pipelines = structuredClone(options.pipelines ?? defaultPipelines());
    this.owners = structuredClone(options.owners ?? defaultOwners());
    this.loadProperties();
  }

  now(): number {
    return this.clock.now();
  }

  newId(): string {
    return String(this.nextId++);
  }

  newSeq(): number {
    return this.nextSeq++;
  }

  /** Forgets every record, association and logged request; fixtures and config stay. */
  reset(): void {
    for (const type of OBJECT_TYPES) this.objects[type].clear();
    this.associations.clear();
    this.requests.length = 0;
    this.random = seededRandom(this.options.seed ?? 1);
    this.pipelines = structuredClone(this.options.pipelines ?? defaultPipelines());
    this.owners = structuredClone(this.options.owners ?? defaultOwners());
    this.loadProperties();
  }

  /** Makes every pending write visible to search now. */
  flushSearchIndex(): void {
    const now = this.now();
    for (const type of OBJECT_TYPES) {
      for (const obj of this.objects[type].values()) {
        for (const v of obj.index) v.visibleAt = Math.min(v.visibleAt, now);
      }
    }
  }

  /** Live (not archived) records of a type, in id order. */
  live(type: ObjectType): CrmObject[] {
    return [...this.objects[type].values()].filter((o) => !o.archived);
  }

  /** The most requests inside any window of `windowMs` (default: the burst interval). */
  maxRequestsInWindow(windowMs = this.config.burstIntervalMs, filter: (r: RequestLogEntry) => boolean = () => true): number {
    return maxInWindow(this.requests.filter(filter).map((r) => r.at), windowMs);
  }

  /** A JSON-friendly copy for GET /__fake/state and assertions. */
  snapshot(): Record<string, unknown> {
    const objects = Object.fromEntries(OBJECT_TYPES.map((t) => [t, [...this.objects[t].values()].map((o) => ({
      id: o.id, properties: o.properties, createdAt: o.createdAt, updatedAt: o.updatedAt, archived: o.archived, archivedAt: o.archivedAt ?? null,
    }))]));
    return {
      now: this.now(),
      config: this.config,
      objects,
      associations: [...this.associations.values()],
      counts: Object.fromEntries(OBJECT_TYPES.map((t) => [t, this.live(t).length])),
      requestCount: this.requests.length,
      maxRequestsIn10s: this.maxRequestsInWindow(10_000, (r) => r.counted),
    };
  }

  private loadProperties(): void {
    const builtIn = defaultProperties();
    for (const type of OBJECT_TYPES) {
      const map = this.properties[type];
      map.clear();
      for (const def of builtIn[type]) map.set(def.name, def);
      for (const input of this.options.properties?.[type] ?? []) map.set(input.name, propertyDef(input));
    }
  }
}
