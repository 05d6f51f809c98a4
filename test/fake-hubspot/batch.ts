// Batch endpoints for contacts, deals and notes (HUBSPOT.md §2.3): ≤ 100 inputs, all-or-nothing
// unless every input carries an objectWriteTraceId (then 207 with per-input errors), 207 for
// missing ids, upsert by a unique property with the `new` flag, and shuffled result order.
import { applyInline, resolveInline } from './associations.ts';
import { DEFAULT_READ_PROPERTIES } from './fixtures.ts';
import { ApiError, batchInputs, boolParam, iso, isRecord, json, noContent, objectType, SINGULAR, standardError, validation } from './http.ts';
import type { Ctx, Route } from './router.ts';
import type { FakeState } from './state.ts';
import {
  archiveRecord, checkUnique, createRecord, findRecord, ordered, render, requireUniqueProperty, updateRecord, validateWrite, type Pending,
} from './store.ts';
import type { CrmObject, ObjectType } from './types.ts';

type Input = Record<string, unknown>;

function records(inputs: unknown[]): Input[] {
  return inputs.map((input) => {
    if (!isRecord(input)) throw validation('Invalid input JSON: every input must be an object');
    return input;
  });
}

const traceId = (input: Input) => (typeof input.objectWriteTraceId === 'string' && input.objectWriteTraceId ? input.objectWriteTraceId : undefined);

/** HubSpot reports per-input errors only when every input carries an objectWriteTraceId. */
const partialMode = (inputs: Input[]) => inputs.length > 0 && inputs.every((i) => traceId(i) !== undefined);

function toStandard(err: ApiError, trace?: string): Record<string, unknown> {
  const context = { ...(isRecord(err.extra.context) ? err.extra.context as Record<string, string[]> : {}) };
  if (trace) context.objectWriteTraceId = [trace];
  return standardError(err.category, err.message, context);
}

function batchBody(state: FakeState, startedAt: number, results: unknown[], errors: unknown[]): Record<string, unknown> {
  const body: Record<string, unknown> = { status: 'COMPLETE', results: ordered(state, results), startedAt: iso(startedAt), completedAt: iso(state.now()) };
  if (errors.length) Object.assign(body, { numErrors: errors.length, errors });
  return body;
}

function withTrace(state: FakeState, obj: CrmObject, trace: string | undefined, extra: Record<string, unknown> = {}) {
  return render(state, obj, { extra: { ...extra, ...(trace ? { objectWriteTraceId: trace } : {}) } });
}

/** 400 when two inputs name the same record (HubSpot: "Duplicate IDs found in batch input"). */
function rejectDuplicateIds(type: ObjectType, inputs: Input[]): void {
  const seen = new Set<string>();
  const dupes = new Set<string>();
  for (const input of inputs) {
    const raw = String(input.id ?? '');
    const id = type === 'contacts' && input.idProperty === 'email' ? raw.toLowerCase() : raw;
    const k = `${String(input.idProperty ?? '')}\u0000${id}`;
    if (seen.has(k)) dupes.add(raw);
    seen.add(k);
  }
  if (dupes.size) throw validation(`Duplicate IDs found in batch input: [${[...dupes].join(', ')}]. IDs must be unique`, { context: { ids: [...dupes] } });
}

/** Runs `plan` for each input; in all-or-nothing mode the first error fails the request. */
function planAll<T>(inputs: Input[], plan: (input: Input) => T, keepNotFound = false): { plans: { input: Input; value: T }[]; errors: unknown[] } {
  const partial = partialMode(inputs);
  const plans: { input: Input; value: T }[] = [];
  const errors: unknown[] = [];
  for (const input of inputs) {
    try {
      plans.push({ input, value: plan(input) });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (!partial && !(keepNotFound && err.status === 404)) throw err;
      errors.push(toStandard(err, traceId(input)));
    }
  }
  return { plans, errors };
}

function create({ state, params, body }: Ctx) {
  const type = objectType(params.type);
  const inputs = records(batchInputs(body, state.config.batchMax));
  const startedAt = state.now();
  const pending: Pending = new Map();
  const { plans, errors } = planAll(inputs, (input) => {
    const props = validateWrite(state, type, input.properties);
    const links = resolveInline(state, type, input.associations);
    checkUnique(state, type, props, null, pending);
    return { props, links };
  });
  const results = plans.map(({ input, value }) => {
    const obj = createRecord(state, type, value.props);
    applyInline(state, obj, value.links);
    return withTrace(state, obj, traceId(input));
  });
  return json(errors.length ? 207 : 201, batchBody(state, startedAt, results, errors));
}

function read({ state, params, body, query }: Ctx) {
  const type = objectType(params.type);
  const b = isRecord(body) ? body : {};
  const history = Array.isArray(b.propertiesWithHistory) ? b.propertiesWithHistory.map(String) : [];
  const inputs = records(history.length
    ? batchInputs(body, state.config.historyBatchMax, 'a batch request for property histories')
    : batchInputs(body, state.config.batchMax));
  const idProperty = typeof b.idProperty === 'string' && b.idProperty ? b.idProperty : undefined;
  if (idProperty) requireUniqueProperty(state, type, idProperty);
  const properties = Array.isArray(b.properties) && b.properties.length ? b.properties.map(String) : DEFAULT_READ_PROPERTIES[type];
  const startedAt = state.now();
  const found = new Map<string, CrmObject>();
  const missing: string[] = [];
  for (const input of inputs) {
    const id = String(input.id ?? '');
    const obj = findRecord(state, type, id, idProperty, boolParam(query, 'archived'));
    if (obj) found.set(obj.id, obj);
    else if (!missing.includes(id)) missing.push(id);
  }
  const results = [...found.values()].map((obj) => render(state, obj, {
    properties: [...new Set([...properties, 'hs_object_id'])], propertiesWithHistory: history,
  }));
  const errors = missing.length
    ? [standardError('OBJECT_NOT_FOUND', `Could not get some ${SINGULAR[type].toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`, { ids: missing })]
    : [];
  return json(errors.length ? 207 : 200, batchBody(state, startedAt, results, errors));
}

function update({ state, params, body }: Ctx) {
  const type = objectType(params.type);
  const inputs = records(batchInputs(body, state.config.batchMax));
  rejectDuplicateIds(type, inputs);
  const startedAt = state.now();
  const pending: Pending = new Map();
  const { plans, errors } = planAll(inputs, (input) => {
    const id = String(input.id ?? '');
    const obj = findRecord(state, type, id, typeof input.idProperty === 'string' ? input.idProperty : undefined);
    if (!obj) throw new ApiError(404, 'OBJECT_NOT_FOUND', `Could not find ${SINGULAR[type]} ${id}.`, { context: { ids: [id] } });
    const props = validateWrite(state, type, input.properties, obj);
    checkUnique(state, type, props, obj.id, pending);
    return { obj, props };
  }, true);
  const results = plans.map(({ input, value }) => withTrace(state, updateRecord(state, value.obj, value.props), traceId(input)));
  return json(errors.length ? 207 : 200, batchBody(state, startedAt, results, errors));
}

function upsert({ state, params, body }: Ctx) {
  const type = objectType(params.type);
  const inputs = records(batchInputs(body, state.config.batchMax));
  for (const input of inputs) {
    if (typeof input.idProperty !== 'string' || !input.idProperty) throw validation('idProperty is required for every input of a batch upsert');
    if (typeof input.id !== 'string' || !input.id) throw validation('id is required for every input of a batch upsert');
    requireUniqueProperty(state, type, input.idProperty);
  }
  rejectDuplicateIds(type, inputs);
  const startedAt = state.now();
  const pending: Pending = new Map();
  const { plans, errors } = planAll(inputs, (input) => {
    const idProperty = input.idProperty as string;
    const existing = findRecord(state, type, input.id as string, idProperty);
    const raw = { ...(isRecord(input.properties) ? input.properties : {}), [idProperty]: input.id };
    const props = validateWrite(state, type, raw, existing);
    checkUnique(state, type, props, existing?.id ?? null, pending);
    return { existing, props };
  });
  const results = plans.map(({ input, value }) => {
    const obj = value.existing ? updateRecord(state, value.existing, value.props) : createRecord(state, type, value.props);
    return withTrace(state, obj, traceId(input), { new: !value.existing });
  });
  return json(errors.length ? 207 : 200, batchBody(state, startedAt, results, errors));
}

function archive({ state, params, body }: Ctx) {
  const type = objectType(params.type);
  for (const input of records(batchInputs(body, state.config.batchMax))) {
    const obj = findRecord(state, type, String(input.id ?? ''));
    if (obj) archiveRecord(state, obj);
  }
  return noContent();
}

export const batchRoutes: Route[] = [
  { method: 'POST', path: '/crm/v3/objects/:type/batch/create', handler: create },
  { method: 'POST', path: '/crm/v3/objects/:type/batch/read', handler: read },
  { method: 'POST', path: '/crm/v3/objects/:type/batch/update', handler: update },
  { method: 'POST', path: '/crm/v3/objects/:type/batch/upsert', handler: upsert },
  { method: 'POST', path: '/crm/v3/objects/:type/batch/archive', handler: archive },
];
