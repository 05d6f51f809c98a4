// Single-record endpoints for contacts, deals and notes (HUBSPOT.md §2.2): create, read, update,
// archive and list, with `idProperty`, `properties`, `propertiesWithHistory` and `associations`.
import { applyInline, renderV3Associations, resolveInline } from './associations.ts';
import { DEFAULT_READ_PROPERTIES } from './fixtures.ts';
import { boolParam, intParam, isRecord, json, listParam, noContent, notFound, objectType, validation } from './http.ts';
import type { Ctx, Route } from './router.ts';
import type { FakeState } from './state.ts';
import { archiveRecord, checkUnique, createRecord, findRecord, render, updateRecord, validateWrite } from './store.ts';
import type { CrmObject, ObjectType } from './types.ts';

/** The record a `GET/PATCH/DELETE …/{id}[?idProperty=]` names, or 404. */
function target(ctx: Ctx, type: ObjectType, archived = false): CrmObject {
  const id = ctx.params.id!;
  const obj = findRecord(ctx.state, type, id, ctx.query.get('idProperty'), archived);
  if (!obj) throw notFound('Object not found.  objectId are usually numeric.', { id: [id] });
  return obj;
}

/** A record as returned by reads: asked-for (or default) properties, history and associations. */
export function renderRead(state: FakeState, obj: CrmObject, query: URLSearchParams): Record<string, unknown> {
  const properties = listParam(query, 'properties') ?? DEFAULT_READ_PROPERTIES[obj.type];
  const associations = listParam(query, 'associations');
  const extra = associations ? renderV3Associations(state, obj, associations) : undefined;
  return render(state, obj, {
    properties: [...new Set([...properties, 'hs_object_id'])],
    propertiesWithHistory: listParam(query, 'propertiesWithHistory'),
    extra: extra ? { associations: extra } : undefined,
  });
}

function create({ state, params, body }: Ctx) {
  const type = objectType(params.type);
  if (!isRecord(body)) throw validation('Invalid input JSON: expected an object with "properties"');
  const props = validateWrite(state, type, body.properties);
  const links = resolveInline(state, type, body.associations);
  checkUnique(state, type, props, null);
  const obj = createRecord(state, type, props);
  applyInline(state, obj, links);
  return json(201, render(state, obj));
}

function read(ctx: Ctx) {
  const type = objectType(ctx.params.type);
  const obj = target(ctx, type, boolParam(ctx.query, 'archived'));
  return json(200, renderRead(ctx.state, obj, ctx.query));
}

function update(ctx: Ctx) {
  const type = objectType(ctx.params.type);
  const { state, body } = ctx;
  if (!isRecord(body)) throw validation('Invalid input JSON: expected an object with "properties"');
  const obj = target(ctx, type);
  const props = validateWrite(state, type, body.properties, obj);
  checkUnique(state, type, props, obj.id);
  updateRecord(state, obj, props);
  return json(200, render(state, obj));
}

function archive(ctx: Ctx) {
  const type = objectType(ctx.params.type);
  archiveRecord(ctx.state, target(ctx, type));
  return noContent();
}

function list({ state, params, query, baseUrl, path }: Ctx) {
  const type = objectType(params.type);
  const limit = Math.min(Math.max(1, intParam(query, 'limit', 10)), state.config.listMaxLimit);
  const archived = boolParam(query, 'archived');
  const all = [...state.objects[type].values()].filter((o) => o.archived === archived).sort((a, b) => Number(a.id) - Number(b.id));
  const after = query.get('after');
  const start = after ? all.findIndex((o) => Number(o.id) >= Number(after)) : 0;
  const page = start < 0 ? [] : all.slice(start, start + limit);
  const next = start >= 0 ? all[start + page.length] : undefined;
  const body: Record<string, unknown> = { results: page.map((o) => renderRead(state, o, query)) };
  if (next) {
    const link = new URLSearchParams(query);
    link.set('after', next.id);
    body.paging = { next: { after: next.id, link: `${baseUrl}${path}?${link}` } };
  }
  return json(200, body);
}

export const objectRoutes: Route[] = [
  { method: 'POST', path: '/crm/v3/objects/:type', handler: create },
  { method: 'GET', path: '/crm/v3/objects/:type', handler: list },
  { method: 'GET', path: '/crm/v3/objects/:type/:id', handler: read },
  { method: 'PATCH', path: '/crm/v3/objects/:type/:id', handler: update },
  { method: 'DELETE', path: '/crm/v3/objects/:type/:id', handler: archive },
];
