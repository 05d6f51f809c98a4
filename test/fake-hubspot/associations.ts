// Associations: HubSpot-defined type ids (HUBSPOT.md §2.5), both directions stored, inline
// associations on create, `?associations=` on v3 reads, and the v4 single and batch endpoints.
import {
  batchInputs, intParam, iso, isRecord, json, noContent, notFound, OBJECT_TYPE_IDS, objectType, SINGULAR, standardError, validation,
} from './http.ts';
import type { Route } from './router.ts';
import type { FakeState } from './state.ts';
import { ordered } from './store.ts';
import type { AssociationEdge, CrmObject, ObjectType } from './types.ts';

interface TypeDef { from: ObjectType; to: ObjectType; typeId: number; inverse: number; name: string }

export const ASSOCIATION_TYPES: TypeDef[] = [
  { from: 'deals', to: 'contacts', typeId: 3, inverse: 4, name: 'deal_to_contact' },
  { from: 'contacts', to: 'deals', typeId: 4, inverse: 3, name: 'contact_to_deal' },
  { from: 'contacts', to: 'notes', typeId: 201, inverse: 202, name: 'contact_to_note' },
  { from: 'notes', to: 'contacts', typeId: 202, inverse: 201, name: 'note_to_contact' },
  { from: 'deals', to: 'notes', typeId: 213, inverse: 214, name: 'deal_to_note' },
  { from: 'notes', to: 'deals', typeId: 214, inverse: 213, name: 'note_to_deal' },
];

const key = (fromType: ObjectType, fromId: string, toType: ObjectType, toId: string) => `${fromType}:${fromId}>${toType}:${toId}`;

function defaultType(from: ObjectType, to: ObjectType): TypeDef {
  const def = ASSOCIATION_TYPES.find((d) => d.from === from && d.to === to);
  if (!def) throw validation(`No association type is defined from ${SINGULAR[from]} to ${SINGULAR[to]}.`);
  return def;
}

/** Validates one `{associationCategory, associationTypeId}` for a pair of object types. */
export function checkSpec(from: ObjectType, to: ObjectType, spec: unknown): TypeDef {
  if (!isRecord(spec) || typeof spec.associationTypeId !== 'number') throw validation('Invalid association spec: associationTypeId must be an integer');
  const def = ASSOCIATION_TYPES.find((d) => d.from === from && d.to === to && d.typeId === spec.associationTypeId);
  if (spec.associationCategory !== 'HUBSPOT_DEFINED' || !def) {
    const valid = ASSOCIATION_TYPES.filter((d) => d.from === from && d.to === to).map((d) => d.typeId).join(', ');
    throw validation(`${String(spec.associationCategory)} association type ${spec.associationTypeId} is not valid from ${SINGULAR[from]} to ${SINGULAR[to]}. Valid HUBSPOT_DEFINED types: [${valid}]`);
  }
  return def;
}

/** Stores an association and its reverse (re-applying an existing one is harmless). */
export function associate(state: FakeState, from: CrmObject, to: CrmObject, def: TypeDef): void {
  const add = (a: CrmObject, b: CrmObject, typeId: number) => {
    const k = key(a.type, a.id, b.type, b.id);
    const edge: AssociationEdge = state.associations.get(k) ?? { fromType: a.type, fromId: a.id, toType: b.type, toId: b.id, types: [], createdAt: state.now() };
    if (!edge.types.some((t) => t.typeId === typeId)) edge.types.push({ category: 'HUBSPOT_DEFINED', typeId });
    state.associations.set(k, edge);
  };
  add(from, to, def.typeId);
  add(to, from, def.inverse);
}

export function dissociate(state: FakeState, fromType: ObjectType, fromId: string, toType: ObjectType, toId: string): void {
  state.associations.delete(key(fromType, fromId, toType, toId));
  state.associations.delete(key(toType, toId, fromType, fromId));
}

/** Live associations of one record towards one object type, in target-id order. */
export function edgesFrom(state: FakeState, type: ObjectType, id: string, toType: ObjectType): AssociationEdge[] {
  return [...state.associations.values()]
    .filter((e) => e.fromType === type && e.fromId === id && e.toType === toType && state.objects[toType].get(e.toId)?.archived === false)
    .sort((a, b) => Number(a.toId) - Number(b.toId));
}

type Resolved = { to: CrmObject; def: TypeDef }[];

/** Checks the `associations` of a create body (targets must exist); returns what to store afterwards. */
export function resolveInline(state: FakeState, type: ObjectType, raw: unknown): Resolved {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw validation('Invalid input JSON: "associations" must be an array');
  const out: Resolved = [];
  for (const item of raw) {
    if (!isRecord(item) || !isRecord(item.to) || !Array.isArray(item.types)) throw validation('Invalid association: expected {to:{id}, types:[…]}');
    const toId = String(item.to.id);
    const candidates = ASSOCIATION_TYPES.filter((d) => d.from === type);
    for (const spec of item.types) {
      const typeId = isRecord(spec) ? spec.associationTypeId : undefined;
      const toType = candidates.find((d) => d.typeId === typeId)?.to;
      if (!toType) throw validation(`association type ${String(typeId)} is not valid from ${SINGULAR[type]}`);
      const def = checkSpec(type, toType, spec);
      const to = state.objects[toType].get(toId);
      if (!to || to.archived) throw validation(`Association target ${SINGULAR[toType]} ${toId} does not exist (INVALID_OBJECT_IDS)`, { context: { ids: [toId] } });
      out.push({ to, def });
    }
  }
  return out;
}

export function applyInline(state: FakeState, from: CrmObject, resolved: Resolved): void {
  for (const { to, def } of resolved) associate(state, from, to, def);
}

/** `associations` of a v3 read: `{deals: {results: [{id, type: 'contact_to_deal'}]}}`. */
export function renderV3Associations(state: FakeState, obj: CrmObject, names: string[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    let toType: ObjectType;
    try { toType = objectType(name); } catch { continue; }
    const results = edgesFrom(state, obj.type, obj.id, toType).flatMap((e) => e.types.map((t) => ({
      id: e.toId, type: ASSOCIATION_TYPES.find((d) => d.typeId === t.typeId)?.name ?? String(t.typeId),
    })));
    if (results.length) out[toType] = { results };
  }
  return Object.keys(out).length ? out : undefined;
}

const pairBody = (from: CrmObject, to: CrmObject) => ({
  fromObjectTypeId: OBJECT_TYPE_IDS[from.type], fromObjectId: from.id, toObjectTypeId: OBJECT_TYPE_IDS[to.type], toObjectId: to.id, labels: [] as string[],
});

const multiTarget = (e: AssociationEdge) => ({ toObjectId: e.toId, associationTypes: e.types.map((t) => ({ category: t.category, typeId: t.typeId })) });

function live(state: FakeState, type: ObjectType, id: unknown): CrmObject | undefined {
  const obj = state.objects[type].get(String(id));
  return obj && !obj.archived ? obj : undefined;
}

function batchBody(state: FakeState, startedAt: number, results: unknown[], errors: unknown[]): Record<string, unknown> {
  const body: Record<string, unknown> = { status: 'COMPLETE', results: ordered(state, results), startedAt: iso(startedAt), completedAt: iso(state.now()) };
  if (errors.length) Object.assign(body, { numErrors: errors.length, errors });
  return body;
}

const missing = (type: ObjectType, id: string) => standardError('OBJECT_NOT_FOUND', `${SINGULAR[type]} ${id} does not exist.`, { ids: [id], objectType: [SINGULAR[type]] });

export const associationRoutes: Route[] = [
  {
    method: 'PUT', path: '/crm/v4/objects/:fromType/:fromId/associations/default/:toType/:toId',
    handler: ({ state, params }) => {
      const fromType = objectType(params.fromType);
      const toType = objectType(params.toType);
      const def = defaultType(fromType, toType);
      const from = live(state, fromType, params.fromId);
      const to = live(state, toType, params.toId);
      if (!from || !to) throw notFound(`${!from ? SINGULAR[fromType] : SINGULAR[toType]} ${!from ? params.fromId : params.toId} does not exist.`);
      const startedAt = state.now();
      associate(state, from, to, def);
      const results = [
        { from: { id: from.id }, to: { id: to.id }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: def.typeId } },
        { from: { id: to.id }, to: { id: from.id }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: def.inverse } },
      ];
      return json(200, { status: 'COMPLETE', results, startedAt: iso(startedAt), completedAt: iso(state.now()) });
    },
  },
  {
    method: 'PUT', path: '/crm/v4/objects/:fromType/:fromId/associations/:toType/:toId',
    handler: ({ state, params, body }) => {
      const fromType = objectType(params.fromType);
      const toType = objectType(params.toType);
      if (!Array.isArray(body) || body.length === 0) throw validation('Invalid input JSON: expected a non-empty array of association specs');
      const defs = body.map((spec) => checkSpec(fromType, toType, spec));
      const from = live(state, fromType, params.fromId);
      const to = live(state, toType, params.toId);
      if (!from || !to) throw notFound(`${!from ? SINGULAR[fromType] : SINGULAR[toType]} ${!from ? params.fromId : params.toId} does not exist.`);
      for (const def of defs) associate(state, from, to, def);
      return json(201, pairBody(from, to));
    },
  },
  {
    method: 'GET', path: '/crm/v4/objects/:type/:id/associations/:toType',
    handler: ({ state, params, query, baseUrl, path }) => {
      const type = objectType(params.type);
      const toType = objectType(params.toType);
      const limit = Math.min(intParam(query, 'limit', state.config.associationPageMax), state.config.associationPageMax);
      const edges = edgesFrom(state, type, String(params.id), toType);
      const after = query.get('after');
      const start = after ? edges.findIndex((e) => Number(e.toId) >= Number(after)) : 0;
      const page = start < 0 ? [] : edges.slice(start, start + Math.max(1, limit));
      const next = start >= 0 ? edges[start + page.length] : undefined;
      const body: Record<string, unknown> = { results: page.map(multiTarget) };
      if (next) body.paging = { next: { after: next.toId, link: `${baseUrl}${path}?after=${next.toId}` } };
      return json(200, body);
    },
  },
  {
    method: 'DELETE', path: '/crm/v4/objects/:type/:id/associations/:toType/:toId',
    handler: ({ state, params }) => {
      dissociate(state, objectType(params.type), String(params.id), objectType(params.toType), String(params.toId));
      return noContent();
    },
  },
  {
    method: 'POST', path: '/crm/v4/associations/:fromType/:toType/batch/create',
    handler: ({ state, params, body }) => {
      const fromType = objectType(params.fromType);
      const toType = objectType(params.toType);
      const inputs = batchInputs(body, state.config.associationBatchCreateMax);
      const startedAt = state.now();
      const plans = inputs.map((input) => {
        if (!isRecord(input) || !isRecord(input.from) || !isRecord(input.to) || !Array.isArray(input.types)) {
          throw validation('Invalid input JSON: expected inputs of {from:{id}, to:{id}, types:[…]}');
        }
        return { fromId: String(input.from.id), toId: String(input.to.id), defs: input.types.map((spec) => checkSpec(fromType, toType, spec)) };
      });
      const results: unknown[] = [];
      const errors: unknown[] = [];
      for (const plan of plans) {
        const from = live(state, fromType, plan.fromId);
        const to = live(state, toType, plan.toId);
        if (!from || !to) {
          errors.push(!from ? missing(fromType, plan.fromId) : missing(toType, plan.toId));
          continue;
        }
        for (const def of plan.defs) associate(state, from, to, def);
        results.push(pairBody(from, to));
      }
      return json(errors.length ? 207 : 201, batchBody(state, startedAt, results, errors));
    },
  },
  {
    method: 'POST', path: '/crm/v4/associations/:fromType/:toType/batch/associate/default',
    handler: ({ state, params, body }) => {
      const fromType = objectType(params.fromType);
      const toType = objectType(params.toType);
      const def = defaultType(fromType, toType);
      const inputs = batchInputs(body, state.config.associationBatchCreateMax);
      const startedAt = state.now();
      const results: unknown[] = [];
      const errors: unknown[] = [];
      for (const input of inputs) {
        if (!isRecord(input) || !isRecord(input.from) || !isRecord(input.to)) throw validation('Invalid input JSON: expected inputs of {from:{id}, to:{id}}');
        const from = live(state, fromType, input.from.id);
        const to = live(state, toType, input.to.id);
        if (!from || !to) {
          errors.push(!from ? missing(fromType, String(input.from.id)) : missing(toType, String(input.to.id)));
          continue;
        }
        associate(state, from, to, def);
        results.push({ from: { id: from.id }, to: { id: to.id }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: def.typeId } });
      }
      return json(200, batchBody(state, startedAt, results, errors));
    },
  },
  {
    method: 'POST', path: '/crm/v4/associations/:fromType/:toType/batch/read',
    handler: ({ state, params, body }) => {
      const fromType = objectType(params.fromType);
      const toType = objectType(params.toType);
      const inputs = batchInputs(body, state.config.associationBatchReadMax);
      const startedAt = state.now();
      const results: unknown[] = [];
      const errors: unknown[] = [];
      for (const input of inputs) {
        if (!isRecord(input) || input.id === undefined) throw validation('Invalid input JSON: expected inputs of {id}');
        const id = String(input.id);
        const edges = edgesFrom(state, fromType, id, toType);
        if (!edges.length) {
          errors.push(standardError('OBJECT_NOT_FOUND', `No ${SINGULAR[toType]} is associated with ${SINGULAR[fromType]} ${id}.`, {
            fromObjectId: [id], fromObjectType: [SINGULAR[fromType]], toObjectType: [SINGULAR[toType]],
          }, { subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND' }));
          continue;
        }
        results.push({ from: { id }, to: edges.map(multiTarget) });
      }
      return json(errors.length ? 207 : 200, batchBody(state, startedAt, results, errors));
    },
  },
  {
    method: 'POST', path: '/crm/v4/associations/:fromType/:toType/batch/archive',
    handler: ({ state, params, body }) => {
      const fromType = objectType(params.fromType);
      const toType = objectType(params.toType);
      for (const input of batchInputs(body, state.config.associationBatchCreateMax)) {
        if (!isRecord(input) || !isRecord(input.from) || !Array.isArray(input.to)) throw validation('Invalid input JSON: expected inputs of {from:{id}, to:[{id}]}');
        for (const to of input.to) if (isRecord(to)) dissociate(state, fromType, String(input.from.id), toType, String(to.id));
      }
      return noContent();
    },
  },
];
