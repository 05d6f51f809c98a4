// Read-mostly portal metadata: deal pipelines and stages (HUBSPOT.md §2.6), owners (§2.7) and
// property definitions, including creating the app's unique property (`hasUniqueValue`).
import { propertyDef } from './fixtures.ts';
import { ApiError, boolParam, intParam, iso, isRecord, json, listParam, notFound, objectType, validation } from './http.ts';
import type { Ctx, Route } from './router.ts';
import type { Owner, Pipeline, PipelineStage, PropertyDef, PropertyType } from './types.ts';

const renderStage = (s: PipelineStage) => ({
  id: s.id, label: s.label, displayOrder: s.displayOrder, metadata: s.metadata, archived: s.archived, createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt),
});

const renderPipeline = (p: Pipeline) => ({
  id: p.id, label: p.label, displayOrder: p.displayOrder, archived: p.archived, createdAt: iso(p.createdAt), updatedAt: iso(p.updatedAt),
  stages: p.stages.map(renderStage),
});

function pipelinesOf(ctx: Ctx): Pipeline[] {
  const type = objectType(ctx.params.objectType);
  return type === 'deals' ? ctx.state.pipelines.filter((p) => p.archived === boolParam(ctx.query, 'archived')) : [];
}

function pipeline(ctx: Ctx): Pipeline {
  const found = pipelinesOf(ctx).find((p) => p.id === ctx.params.pipelineId);
  if (!found) throw notFound(`Unable to find pipeline ${ctx.params.pipelineId ?? ''}`);
  return found;
}

const renderOwner = (o: Owner) => ({
  id: o.id, email: o.email, firstName: o.firstName, lastName: o.lastName, userId: o.userId, userIdIncludingInactive: o.userId,
  type: o.type, archived: o.archived, createdAt: iso(o.createdAt), updatedAt: iso(o.updatedAt), teams: o.teams,
});

function owners({ state, query, baseUrl, path }: Ctx) {
  const limit = Math.min(Math.max(1, intParam(query, 'limit', 100)), state.config.ownersMaxLimit);
  const email = query.get('email')?.toLowerCase();
  const all = state.owners
    .filter((o) => o.archived === boolParam(query, 'archived') && (!email || o.email.toLowerCase() === email))
    .sort((a, b) => Number(a.id) - Number(b.id));
  const after = query.get('after');
  const start = after ? all.findIndex((o) => Number(o.id) >= Number(after)) : 0;
  const page = start < 0 ? [] : all.slice(start, start + limit);
  const next = start >= 0 ? all[start + page.length] : undefined;
  const body: Record<string, unknown> = { results: page.map(renderOwner) };
  if (next) {
    const link = new URLSearchParams(query);
    link.set('after', next.id);
    body.paging = { next: { after: next.id, link: `${baseUrl}${path}?${link}` } };
  }
  return json(200, body);
}

function owner({ state, params, query }: Ctx) {
  const by = query.get('idProperty') ?? 'id';
  if (by !== 'id' && by !== 'userId') throw validation(`idProperty must be one of [id, userId], got ${by}`);
  const found = state.owners.find((o) => o.archived === boolParam(query, 'archived') && (by === 'id' ? o.id : String(o.userId)) === params.ownerId);
  if (!found) throw notFound(`Owner ${params.ownerId ?? ''} not found`);
  return json(200, renderOwner(found));
}

export const renderProperty = (d: PropertyDef) => ({
  name: d.name, label: d.label, type: d.type, fieldType: d.fieldType, groupName: d.groupName, description: d.description,
  options: d.options, hasUniqueValue: d.hasUniqueValue, hidden: false, formField: !d.readOnlyValue, hubspotDefined: d.hubspotDefined,
  displayOrder: -1, archived: false, createdAt: iso(d.createdAt), updatedAt: iso(d.updatedAt), calculated: false, externalOptions: false,
  modificationMetadata: { archivable: !d.hubspotDefined, readOnlyDefinition: d.hubspotDefined, readOnlyValue: d.readOnlyValue },
});

const PROPERTY_TYPES = new Set<PropertyType>(['string', 'number', 'date', 'datetime', 'enumeration', 'bool', 'phone_number']);

function createProperty({ state, params, body }: Ctx) {
  const type = objectType(params.objectType);
  if (!isRecord(body)) throw validation('Invalid input JSON: expected a property definition');
  const missing = ['name', 'label', 'type', 'fieldType', 'groupName'].filter((k) => typeof body[k] !== 'string' || !body[k]);
  if (missing.length) throw validation(`Missing required fields: [${missing.join(', ')}]`, { context: { fields: missing } });
  const name = body.name as string;
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw validation(`Property name ${name} is invalid: use lower-case letters, digits and underscores`);
  if (!PROPERTY_TYPES.has(body.type as PropertyType)) throw validation(`Invalid property type: ${String(body.type)}`);
  if (state.properties[type].has(name)) throw new ApiError(409, 'OBJECT_ALREADY_EXISTS', `Property named '${name}' already exists.`);
  const options = Array.isArray(body.options) ? body.options.filter(isRecord).map((o) => ({ label: String(o.label), value: String(o.value), hidden: o.hidden === true })) : [];
  const now = state.now();
  const def = propertyDef({
    name, label: body.label as string, type: body.type as PropertyType, fieldType: body.fieldType as string, groupName: body.groupName as string,
    description: typeof body.description === 'string' ? body.description : '', options, hasUniqueValue: body.hasUniqueValue === true,
  }, {}, now);
  state.properties[type].set(name, def);
  return json(201, renderProperty(def));
}

export const metadataRoutes: Route[] = [
  { method: 'GET', path: '/crm/v3/pipelines/:objectType', handler: (ctx) => json(200, { results: pipelinesOf(ctx).map(renderPipeline) }) },
  { method: 'GET', path: '/crm/v3/pipelines/:objectType/:pipelineId', handler: (ctx) => json(200, renderPipeline(pipeline(ctx))) },
  { method: 'GET', path: '/crm/v3/pipelines/:objectType/:pipelineId/stages', handler: (ctx) => json(200, { results: pipeline(ctx).stages.map(renderStage) }) },
  {
    method: 'GET', path: '/crm/v3/pipelines/:objectType/:pipelineId/stages/:stageId',
    handler: (ctx) => {
      const stage = pipeline(ctx).stages.find((s) => s.id === ctx.params.stageId);
      if (!stage) throw notFound(`Unable to find stage ${ctx.params.stageId ?? ''} in pipeline ${ctx.params.pipelineId ?? ''}`);
      return json(200, renderStage(stage));
    },
  },
  { method: 'GET', path: '/crm/v3/owners', handler: owners },
  { method: 'GET', path: '/crm/v3/owners/:ownerId', handler: owner },
  {
    method: 'GET', path: '/crm/v3/properties/:objectType',
    handler: ({ state, params, query }) => {
      const names = listParam(query, 'properties');
      const defs = [...state.properties[objectType(params.objectType)].values()].filter((d) => !names || names.includes(d.name));
      return json(200, { results: defs.map(renderProperty) });
    },
  },
  {
    method: 'GET', path: '/crm/v3/properties/:objectType/:propertyName',
    handler: ({ state, params }) => {
      const def = state.properties[objectType(params.objectType)].get(params.propertyName ?? '');
      if (!def) throw notFound(`Unable to find property ${params.propertyName ?? ''}`);
      return json(200, renderProperty(def));
    },
  },
  { method: 'POST', path: '/crm/v3/properties/:objectType', handler: createProperty },
];
