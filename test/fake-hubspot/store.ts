// Record writes and reads shared by the single, batch and search routes: property validation in
// HubSpot's VALIDATION_ERROR format, uniqueness (409), system properties, history and the search index.
import { SYSTEM_PROPERTIES } from './fixtures.ts';
import { ApiError, iso, isRecord, OBJECT_TYPE_IDS, propertyError, propertyValidationError, SINGULAR, validation, type PropertyError } from './http.ts';
import type { FakeState } from './state.ts';
import type { CrmObject, ObjectType, PropertyDef } from './types.ts';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NOTE_BODY_MAX = 65_536;

/** Values of unique properties claimed by earlier inputs of the same batch. */
export type Pending = Map<string, string>;

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function uniqueProperties(state: FakeState, type: ObjectType): PropertyDef[] {
  return [...state.properties[type].values()].filter((d) => d.hasUniqueValue || (type === 'contacts' && d.name === 'email'));
}

function sameValue(name: string, a: string, b: string): boolean {
  return name === 'email' ? a.toLowerCase() === b.toLowerCase() : a === b;
}

// Records by the value of a property they are looked up by (unique properties, contact email): an index, as
// HubSpot has, not a scan of every record per lookup. With 10,000 contacts a batch upsert of 100 compared a
// million lower-cased emails, twice, on the event loop of whatever process hosts the fake (bench:sync counts
// that as sync time). Built per type and property on first lookup, kept current by createRecord and
// updateRecord; an entry is checked against the store before use (reset() empties the store under it).
type ValueIndex = Map<string, CrmObject[]>;
const valueIndexes = new WeakMap<FakeState, Map<string, ValueIndex>>();
const indexKey = (name: string, value: string) => (name === 'email' ? value.toLowerCase() : value);

function indexesOf(state: FakeState): Map<string, ValueIndex> {
  let perState = valueIndexes.get(state);
  if (!perState) valueIndexes.set(state, (perState = new Map()));
  return perState;
}

function addToIndex(index: ValueIndex, name: string, value: string | undefined, obj: CrmObject): void {
  if (value === undefined) return;
  const k = indexKey(name, value);
  const list = index.get(k);
  if (list) list.push(obj);
  else index.set(k, [obj]);
}

function valueIndex(state: FakeState, type: ObjectType, name: string): ValueIndex {
  const perState = indexesOf(state);
  let index = perState.get(`${type}\u0000${name}`);
  if (!index) {
    index = new Map();
    for (const obj of state.objects[type].values()) addToIndex(index, name, obj.properties[name], obj);
    perState.set(`${type}\u0000${name}`, index);
  }
  return index;
}

/** Records (archived ones too) whose `name` is `value` (emails in any case), oldest first — what a scan in store order finds. */
function recordsWith(state: FakeState, type: ObjectType, name: string, value: string): CrmObject[] {
  const found = (valueIndex(state, type, name).get(indexKey(name, value)) ?? [])
    .filter((o) => state.objects[type].get(o.id) === o && o.properties[name] !== undefined && sameValue(name, o.properties[name], value));
  return found.length > 1 ? found.sort((a, b) => Number(a.id) - Number(b.id)) : found;
}

/** Keeps the built indexes of obj's type current after a write (`before`: its properties before it). */
function reindexValues(state: FakeState, obj: CrmObject, before: Record<string, string>): void {
  for (const [key, index] of indexesOf(state)) {
    const [type, name] = key.split('\u0000') as [ObjectType, string];
    if (type !== obj.type || before[name] === obj.properties[name]) continue;
    if (before[name] !== undefined) {
      const k = indexKey(name, before[name]);
      const rest = (index.get(k) ?? []).filter((o) => o !== obj);
      if (rest.length) index.set(k, rest);
      else index.delete(k);
    }
    addToIndex(index, name, obj.properties[name], obj);
  }
}

/** Finds a live record by id or by a unique property (`idProperty`); throws 400 for a non-unique one. */
export function findRecord(state: FakeState, type: ObjectType, id: string, idProperty?: string | null, archived = false): CrmObject | undefined {
  if (!idProperty || idProperty === 'hs_object_id') {
    const obj = state.objects[type].get(id);
    return obj && obj.archived === archived ? obj : undefined;
  }
  requireUniqueProperty(state, type, idProperty);
  return recordsWith(state, type, idProperty, id).find((obj) => obj.archived === archived);
}

export function requireUniqueProperty(state: FakeState, type: ObjectType, name: string): void {
  if (!uniqueProperties(state, type).some((d) => d.name === name)) {
    throw validation(`Unable to perform update/upsert by non-unique ${OBJECT_TYPE_IDS[type]} property ${name} in portal ID ${state.config.portalId}`);
  }
}

function normalise(def: PropertyDef, raw: string): { value: string } | { error: string; message: string } {
  switch (def.type) {
    case 'number':
      return raw.trim() !== '' && Number.isFinite(Number(raw)) ? { value: raw.trim() } : { error: 'INVALID_INTEGER', message: `${raw} is not a valid number.` };
    case 'bool':
      return raw === 'true' || raw === 'false' ? { value: raw } : { error: 'INVALID_BOOLEAN', message: `${raw} is not a valid boolean value.` };
    case 'datetime':
    case 'date': {
      const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
      if (!Number.isFinite(ms)) return { error: 'INVALID_DATE', message: `${raw} is not a valid date.` };
      if (def.type === 'datetime') return { value: iso(ms) };
      if (ms % 86_400_000 !== 0) return { error: 'INVALID_DATE', message: `${raw} is not a valid date at midnight UTC.` };
      return { value: iso(ms).slice(0, 10) };
    }
    case 'enumeration':
      if (def.options.length && !def.options.some((o) => o.value === raw)) {
        return { error: 'INVALID_OPTION', message: `${raw} was not one of the allowed options: [${def.options.map((o) => o.value).join(', ')}]` };
      }
      return { value: raw };
    default:
      return { value: raw };
  }
}

/**
 * Validates the properties of one write and returns them normalised (strings; '' clears a value).
 * Throws 400 VALIDATION_ERROR listing every invalid property, like HubSpot.
 */
export function validateWrite(state: FakeState, type: ObjectType, raw: unknown, existing?: CrmObject): Record<string, string> {
  if (raw === undefined) raw = {};
  if (!isRecord(raw)) throw validation('Invalid input JSON: "properties" must be an object');
  const errors: PropertyError[] = [];
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const def = state.properties[type].get(name);
    if (!def) {
      errors.push(propertyError(name, 'PROPERTY_DOESNT_EXIST', `Property "${name}" does not exist`));
      continue;
    }
    if (def.readOnlyValue) {
      errors.push(propertyError(name, 'READ_ONLY_VALUE', `"${name}" is a read only property; its value cannot be set.`));
      continue;
    }
    const text = value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    if (text === '') {
      out[name] = '';
      continue;
    }
    if (type === 'contacts' && name === 'email' && !EMAIL.test(text)) {
      errors.push(propertyError(name, 'INVALID_EMAIL', `Email address ${text} is invalid`));
      continue;
    }
    if (name === 'hubspot_owner_id' && !state.owners.some((o) => o.id === text && !o.archived)) {
      errors.push(propertyError(name, 'INVALID_OWNER_ID', `${text} is not a valid owner id`));
      continue;
    }
    if (type === 'notes' && name === 'hs_note_body' && text.length > NOTE_BODY_MAX) {
      errors.push(propertyError(name, 'VALUE_TOO_LONG', `hs_note_body is ${text.length} characters long; the maximum is ${NOTE_BODY_MAX}.`));
      continue;
    }
    const result = normalise(def, text);
    if ('error' in result) errors.push(propertyError(name, result.error, result.message));
    else out[name] = type === 'contacts' && name === 'email' ? result.value.toLowerCase() : result.value;
  }
  if (type === 'deals') errors.push(...checkStage(state, out, existing));
  if (type === 'notes') {
    const timestamp = 'hs_timestamp' in out ? out.hs_timestamp : existing?.properties.hs_timestamp;
    if (!timestamp && !errors.some((e) => e.name === 'hs_timestamp')) {
      errors.push(propertyError('hs_timestamp', 'REQUIRED_PROPERTY', 'hs_timestamp is required'));
    }
  }
  if (errors.length) throw propertyValidationError(errors);
  return out;
}

/** The deal's resulting pipeline and stage must belong together (HubSpot: INVALID_OPTION). */
function checkStage(state: FakeState, out: Record<string, string>, existing?: CrmObject): PropertyError[] {
  if (!('pipeline' in out) && !('dealstage' in out)) return [];
  let pipelineId = 'pipeline' in out ? out.pipeline : existing?.properties.pipeline;
  const stageId = 'dealstage' in out ? out.dealstage : existing?.properties.dealstage;
  if (!pipelineId && stageId) pipelineId = out.pipeline = 'default';
  if (!pipelineId) return [];
  const pipeline = state.pipelines.find((p) => p.id === pipelineId && !p.archived);
  if (!pipeline) {
    const ids = state.pipelines.filter((p) => !p.archived).map((p) => p.id).join(', ');
    return [propertyError('pipeline', 'INVALID_OPTION', `${pipelineId} is not a valid pipeline ID. Valid options are: [${ids}]`)];
  }
  const stageIds = pipeline.stages.filter((s) => !s.archived).map((s) => s.id);
  if (!stageId) return [propertyError('dealstage', 'REQUIRED_PROPERTY', `dealstage is required for pipeline ${pipeline.id}`)];
  if (!stageIds.includes(stageId)) {
    return [propertyError('dealstage', 'INVALID_OPTION', `${stageId} is not a valid pipeline stage ID. Valid options are: pipelineId=${pipeline.id} : [${stageIds.join(', ')}]`)];
  }
  return [];
}

/**
 * 409 CONFLICT when a unique value (contact email, `hasUniqueValue` properties) is taken by another
 * live record or by an earlier input of the same batch (`pending`, which this call extends).
 */
export function checkUnique(state: FakeState, type: ObjectType, props: Record<string, string>, selfId: string | null, pending?: Pending): void {
  for (const def of uniqueProperties(state, type)) {
    const value = props[def.name];
    if (!value) continue;
    const key = `${def.name}\u0000${def.name === 'email' ? value.toLowerCase() : value}`;
    for (const obj of recordsWith(state, type, def.name, value)) {
      if (obj.archived || obj.id === selfId) continue;
      const extra = def.name === 'email' ? {} : { context: { propertyName: [def.name], value: [value] } };
      throw new ApiError(409, 'CONFLICT', `${capital(SINGULAR[type])} already exists. Existing ID: ${obj.id}`, extra);
    }
    if (pending) {
      if (pending.has(key) && pending.get(key) !== selfId) {
        throw new ApiError(409, 'CONFLICT', `Duplicate ${def.name} value in batch input: ${value}`, { context: { propertyName: [def.name], value: [value] } });
      }
      pending.set(key, selfId ?? `new:${pending.size}`);
    }
  }
}

function recordHistory(state: FakeState, obj: CrmObject, changes: Record<string, string>, now: number): void {
  for (const [name, value] of Object.entries(changes)) {
    (obj.history[name] ??= []).unshift({ value, timestamp: now, sourceType: state.config.oauth ? 'INTEGRATION' : 'API' });
  }
}

function reindex(state: FakeState, obj: CrmObject, now: number): void {
  obj.index.push({ visibleAt: now + state.config.indexingDelayMs, properties: { ...obj.properties }, archived: obj.archived });
  // Keep only the newest version that is already visible, plus the pending ones.
  const visible = obj.index.findLastIndex((v) => v.visibleAt <= now);
  if (visible > 0) obj.index.splice(0, visible);
}

export function createRecord(state: FakeState, type: ObjectType, props: Record<string, string>): CrmObject {
  const now = state.now();
  const id = state.newId();
  const sys = SYSTEM_PROPERTIES[type];
  const set = Object.fromEntries(Object.entries(props).filter(([, v]) => v !== ''));
  const properties: Record<string, string> = { [sys.created]: iso(now), ...set, hs_object_id: id, [sys.modified]: iso(now) };
  const obj: CrmObject = { id, type, properties, history: {}, createdAt: now, updatedAt: now, archived: false, index: [] };
  recordHistory(state, obj, properties, now);
  state.objects[type].set(id, obj);
  reindexValues(state, obj, {});
  reindex(state, obj, now);
  return obj;
}

export function updateRecord(state: FakeState, obj: CrmObject, props: Record<string, string>): CrmObject {
  const now = state.now();
  const before = { ...obj.properties };
  for (const [name, value] of Object.entries(props)) {
    if (value === '') delete obj.properties[name];
    else obj.properties[name] = value;
  }
  const modified = SYSTEM_PROPERTIES[obj.type].modified;
  obj.properties[modified] = iso(now);
  obj.updatedAt = now;
  recordHistory(state, obj, { ...props, [modified]: iso(now) }, now);
  reindexValues(state, obj, before);
  reindex(state, obj, now);
  return obj;
}

export function archiveRecord(state: FakeState, obj: CrmObject): void {
  const now = state.now();
  obj.archived = true;
  obj.archivedAt = now;
  obj.updatedAt = now;
  reindex(state, obj, now);
}

export interface RenderOptions {
  /** Property names to return (unset ones as null, unknown ones left out); undefined = all set ones. */
  properties?: string[];
  propertiesWithHistory?: string[];
  extra?: Record<string, unknown>;
}

/** A record as HubSpot's SimplePublicObject (ISO timestamps with ms, values as strings or null). */
export function render(state: FakeState, obj: CrmObject, opts: RenderOptions = {}, source: Record<string, string> = obj.properties): Record<string, unknown> {
  let properties: Record<string, string | null>;
  if (opts.properties) {
    properties = {};
    for (const name of opts.properties) {
      if (state.properties[obj.type].has(name)) properties[name] = source[name] ?? null;
    }
  } else {
    properties = { ...source };
  }
  const out: Record<string, unknown> = { id: obj.id, properties, createdAt: iso(obj.createdAt), updatedAt: iso(obj.updatedAt), archived: obj.archived };
  if (obj.archivedAt !== undefined) out.archivedAt = iso(obj.archivedAt);
  if (opts.propertiesWithHistory?.length) {
    const history: Record<string, unknown[]> = {};
    for (const name of opts.propertiesWithHistory) {
      if (!state.properties[obj.type].has(name)) continue;
      history[name] = (obj.history[name] ?? []).map((h) => ({ value: h.value, timestamp: iso(h.timestamp), sourceType: h.sourceType }));
    }
    out.propertiesWithHistory = history;
  }
  return { ...out, ...opts.extra };
}

/** Reorders batch results the way the config says (HubSpot does not promise input order). */
export function ordered<T>(state: FakeState, items: T[]): T[] {
  const mode = state.config.batchResultOrder;
  if (mode === 'input' || items.length < 2) return items;
  if (mode === 'reverse') return [...items].reverse();
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(state.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  // A shuffle that happens to keep input order would hide index-matching bugs: rotate instead.
  if (out.every((item, i) => item === items[i])) out.push(out.shift()!);
  return out;
}
