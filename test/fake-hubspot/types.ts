// Shapes shared by the fake HubSpot's modules: options, stored records, the request log and replies.

export type ObjectType = 'contacts' | 'deals' | 'notes';
export const OBJECT_TYPES: readonly ObjectType[] = ['contacts', 'deals', 'notes'];

export type PropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool' | 'phone_number';

export interface PropertyOption { label: string; value: string; hidden: boolean; displayOrder: number }

/** A property definition (the subset of HubSpot's `Property` the fake enforces, plus what it returns). */
export interface PropertyDef {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: string;
  groupName: string;
  description: string;
  options: PropertyOption[];
  hasUniqueValue: boolean;
  hubspotDefined: boolean;
  /** Set by HubSpot only (hs_object_id, createdate, …): a write is rejected with READ_ONLY_VALUE. */
  readOnlyValue: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface HistoryEntry { value: string; timestamp: number; sourceType: string }

/** One version of a record as the search index sees it; visible from `visibleAt` (clock ms). */
export interface IndexVersion { visibleAt: number; properties: Record<string, string>; archived: boolean }

export interface CrmObject {
  id: string;
  type: ObjectType;
  properties: Record<string, string>;
  history: Record<string, HistoryEntry[]>;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  archivedAt?: number;
  /** Oldest first; search reads the newest version whose visibleAt has passed (indexing delay). */
  index: IndexVersion[];
}

export interface AssociationType { category: 'HUBSPOT_DEFINED'; typeId: number }

/** One direction of an association between two records; the reverse direction is stored too. */
export interface AssociationEdge {
  fromType: ObjectType;
  fromId: string;
  toType: ObjectType;
  toId: string;
  types: AssociationType[];
  createdAt: number;
}

export interface PipelineStage {
  id: string;
  label: string;
  displayOrder: number;
  metadata: Record<string, string>;
  archived: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface Pipeline {
  id: string;
  label: string;
  displayOrder: number;
  archived: boolean;
  createdAt: number;
  updatedAt: number;
  stages: PipelineStage[];
}

export interface Owner {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  userId: number;
  type: 'PERSON' | 'QUEUE';
  archived: boolean;
  createdAt: number;
  updatedAt: number;
  teams: { id: string; name: string; primary: boolean }[];
}

export type Outcome = 'ok' | 'client-error' | 'server-error' | 'unauthorized' | 'rate-limited' | 'outage' | 'fault' | 'dropped' | 'hung';

/** One API request as the fake saw it (control endpoints under /__fake are not logged). */
export interface RequestLogEntry {
  seq: number;
  /** Clock time (ms) the request arrived. */
  at: number;
  method: string;
  path: string;
  query: string;
  token: string | null;
  /** Parsed JSON request body, when there was one. */
  body: unknown;
  /** HTTP status sent, or null when the connection was dropped or left hanging. */
  status: number | null;
  outcome: Outcome;
  /** Whether it used a slot of the ten-secondly window (rejected requests count when countRejected). */
  counted: boolean;
  correlationId: string;
  /** The id of the fault rule applied, if any. */
  fault: string | null;
  durationMs: number;
}

/** What a route handler answers; the server adds the standard headers. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as text/html instead of JSON (HubSpot's HTML 502 pages). */
  html?: string;
}

export interface FakeConfig {
  /** Bearer tokens accepted (each one is an app with its own ten-secondly window). */
  tokens: string[];
  /** Tokens answered with 401 EXPIRED_AUTHENTICATION. */
  expiredTokens: string[];
  /** OAuth mode: no daily limit and no -Daily headers. */
  oauth: boolean;
  portalId: number;
  burstMax: number;
  burstIntervalMs: number;
  dailyMax: number;
  /** Minutes east of UTC of the account's time zone; the daily counter resets at its midnight. */
  dailyResetUtcOffsetMinutes: number;
  searchPerSecond: number;
  /** Whether search requests also use the ten-secondly and daily budgets. */
  searchCountsTowardBurst: boolean;
  /** Whether search responses carry X-HubSpot-RateLimit-* headers (reportedly they do not). */
  searchRateLimitHeaders: boolean;
  /** Whether rejected (429) requests still take a slot in the windows. */
  countRejected: boolean;
  /** Send Retry-After on 429s (off by default: HubSpot does not document it). */
  retryAfter: boolean;
  indexingDelayMs: number;
  batchMax: number;
  historyBatchMax: number;
  associationBatchCreateMax: number;
  associationBatchReadMax: number;
  associationPageMax: number;
  listMaxLimit: number;
  ownersMaxLimit: number;
  searchMaxLimit: number;
  searchMaxResults: number;
  searchMaxFilterGroups: number;
  searchMaxFiltersPerGroup: number;
  searchMaxFilters: number;
  searchMaxQueryLength: number;
  /** Order of batch results: HubSpot does not promise input order, so the default shuffles. */
  batchResultOrder: 'input' | 'reverse' | 'shuffle';
  /** Keep parsed request bodies in the request log. */
  logBodies: boolean;
  /** The request log keeps at most this many entries (oldest dropped first). */
  maxLoggedRequests: number;
}

export interface FakeHubSpotOptions extends Partial<FakeConfig> {
  port?: number;
  host?: string;
  /** Base clock; the fake adds its own offset (clock.advance). Defaults to Date.now. */
  now?: () => number;
  /** Seed of the RNG used by fault probabilities and result shuffling. */
  seed?: number;
  /** First record id (ids above 2^31 catch int32 parsing in clients). */
  idStart?: number;
  /** Extra property definitions per object type (merged over the built-in ones). */
  properties?: Partial<Record<ObjectType, PropertyInput[]>>;
  /** Replaces the deal pipelines fixture. */
  pipelines?: Pipeline[];
  /** Replaces the owners fixture. */
  owners?: Owner[];
}

export interface PropertyInput {
  name: string;
  label?: string;
  type?: PropertyType;
  fieldType?: string;
  groupName?: string;
  description?: string;
  options?: { label: string; value: string; hidden?: boolean; displayOrder?: number }[];
  hasUniqueValue?: boolean;
}
