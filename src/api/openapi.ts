// The OpenAPI 3.0 document, generated from the same zod schemas the /api/v1 handlers parse with: every
// route is declared once (apiRoute in routes.ts) and both registered with Fastify and listed here.
import { z } from 'zod';

export type HttpMethod = 'GET' | 'POST';
/** A component's name, an array of one, or an inline zod schema. */
export type SchemaRef = string | { arrayOf: string } | z.ZodType;

export interface ApiOperation {
  method: HttpMethod;
  /** Fastify style: /api/v1/leads/:id */
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** False for the document itself. */
  auth: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The component the body is documented as (its zod schema is `body`). */
  bodyComponent?: string;
  /** Status → description and schema: a component name or a zod schema. */
  responses: Record<number, { description: string; schema?: SchemaRef; headers?: Record<string, string> }>;
}

type Json = Record<string, unknown>;

const toSchema = (schema: z.ZodType, io: 'input' | 'output'): Json => {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Json;
  delete out.$schema;
  return out;
};

const openApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');

function parameters(op: ApiOperation): Json[] {
  const out: Json[] = [];
  for (const [where, obj] of [['path', op.params], ['query', op.query]] as const) {
    if (!obj) continue;
    const schema = toSchema(obj, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, prop] of Object.entries(schema.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (schema.required ?? []).includes(name), schema: prop });
    }
  }
  return out;
}

export function buildOpenApiDocument(ops: ApiOperation[], components: Record<string, z.ZodType>, info: { version: string; serverUrl?: string }): Json {
  const schemas: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(components)) schemas[name] = toSchema(schema, name.endsWith('Input') ? 'input' : 'output');
  const ref = (s: SchemaRef, io: 'input' | 'output'): Json => {
    if (typeof s === 'string') return { $ref: `#/components/schemas/${s}` };
    if ('arrayOf' in s) return { type: 'array', items: { $ref: `#/components/schemas/${s.arrayOf}` } };
    return toSchema(s, io);
  };

  const paths: Record<string, Record<string, Json>> = {};
  for (const op of ops) {
    const path = openApiPath(op.url);
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.headers ? { headers: Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
        ...(r.schema ? { content: { 'application/json': { schema: ref(r.schema, 'output') } } } : {}),
      };
    }
    const params = parameters(op);
    (paths[path] ??= {})[op.method.toLowerCase()] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      ...(params.length ? { parameters: params } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: op.bodyComponent ? ref(op.bodyComponent, 'input') : ref(op.body, 'input') } } } } : {}),
      responses,
      security: op.auth ? [{ apiKey: [] }] : [],
    };
  }

  return {
    openapi: '3.0.3',
    info: {
      title: 'ProPart Hub lead-capture API',
      version: info.version,
      description: 'Create and read your leads, add comments and list the pipeline stages. '
        + 'Authenticate with an API key from your profile: `Authorization: Bearer pph_…`. '
        + 'Each key acts only as its agent, is limited in rate (HTTP 429 with Retry-After) and may be used from '
        + 'the browser only on the website origins listed on the key.',
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    paths,
    components: {
      schemas,
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'pph_<id>_<secret>', description: 'An API key created on your profile page' } },
    },
    security: [{ apiKey: [] }],
  };
}
