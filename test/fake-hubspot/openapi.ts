// Validates the fake's responses against HubSpot's own OpenAPI documents (copied unmodified from
// spec/hubspot-openapi into ./openapi so CI needs nothing outside the repo; HUBSPOT_OPENAPI_DIR
// overrides): finds the operation for a method + path, picks the response schema for the status (or
// `default`), resolves $refs with ajv. Two documented allowances, both real HubSpot behaviour the
// published schemas get wrong: property values may be null on reads (HUBSPOT.md §2 conventions), and a
// batch error's `subCategory` is a string (e.g. crm.associations.NO_ASSOCIATIONS_FOUND).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export const SPEC_DIR = process.env.HUBSPOT_OPENAPI_DIR ?? fileURLToPath(new URL('./openapi/', import.meta.url));
const FILES = ['contacts-v3.json', 'deals-v3.json', 'notes-v3.json', 'associations-v4.json', 'pipelines-v3.json', 'owners-v3.json', 'properties-v3.json'];

type Json = Record<string, any>;

interface Operation { file: string; template: string; regex: RegExp; params: number; method: string; responses: Json }

export interface Validated { operation: string; status: number }

function patch(schemas: Json): void {
  for (const [name, schema] of Object.entries(schemas)) {
    if (/^SimplePublic(Upsert)?Object/.test(name) && schema.properties?.properties) {
      schema.properties.properties.additionalProperties = { type: ['string', 'null'] };
    }
    if (name === 'StandardError' && schema.properties?.subCategory) schema.properties.subCategory = { type: ['string', 'object'] };
  }
}

export class OpenApiValidator {
  readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  private readonly operations: Operation[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly docs = new Map<string, Json>();
  /** Every (operation, status) a response was validated for, for coverage assertions. */
  readonly seen: Validated[] = [];

  constructor() {
    addFormats.default(this.ajv);
    this.ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31 });
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    for (const file of FILES) {
      const doc = JSON.parse(readFileSync(path.join(SPEC_DIR, file), 'utf8')) as Json;
      patch(doc.components.schemas);
      this.docs.set(file, doc);
      this.ajv.addSchema({ $id: file, components: doc.components }, file);
      for (const [template, ops] of Object.entries(doc.paths as Json)) {
        // The deals document writes paths with the object type id; the SDK uses `deals`.
        const pattern = template.replace('/crm/v3/objects/0-3', '/crm/v3/objects/(?:0-3|deals)').replace(/\{[^}]+\}/g, '[^/]+');
        for (const [method, op] of Object.entries(ops as Json)) {
          if (!op?.responses) continue;
          this.operations.push({ file, template, regex: new RegExp(`^${pattern}$`), params: (template.match(/\{/g) ?? []).length, method: method.toUpperCase(), responses: op.responses });
        }
      }
    }
  }

  /** The operation serving a concrete path: the most literal template that matches. */
  operation(method: string, urlPath: string): Operation {
    const candidates = this.operations.filter((o) => o.method === method && o.regex.test(urlPath)).sort((a, b) => a.params - b.params);
    const op = candidates[0];
    if (!op) throw new Error(`No OpenAPI operation for ${method} ${urlPath}`);
    return op;
  }

  /** Throws with ajv's errors unless `body` matches the documented response for this status. */
  validate(method: string, urlPath: string, status: number, body: unknown): void {
    const op = this.operation(method, urlPath);
    const key = op.responses[String(status)] ? String(status) : status >= 400 ? 'default' : null;
    if (!key || !op.responses[key]) throw new Error(`${method} ${op.template}: status ${status} is not documented (has ${Object.keys(op.responses).join(', ')})`);
    this.seen.push({ operation: `${method} ${op.template}`, status });
    let response = op.responses[key] as Json;
    if (response.$ref) {
      // '#/components/responses/Error' → the document's own object at that pointer.
      response = (response.$ref as string).slice(2).split('/').reduce((node: Json, key) => node[key], this.docs.get(op.file)!);
    }
    const media = response?.content ? Object.values(response.content as Json)[0] as Json : undefined;
    if (!media?.schema) {
      if (body !== undefined) throw new Error(`${method} ${op.template} ${status}: expected no body, got ${JSON.stringify(body)}`);
      return;
    }
    const schemaRef = media.schema.$ref ? `${op.file}${media.schema.$ref}` : undefined;
    const id = schemaRef ?? `${op.file}#${op.template}:${status}`;
    let fn = this.compiled.get(id);
    if (!fn) {
      fn = schemaRef ? this.ajv.getSchema(schemaRef) : this.ajv.compile({ $id: id, ...media.schema });
      if (!fn) throw new Error(`Cannot resolve ${schemaRef ?? id}`);
      this.compiled.set(id, fn);
    }
    if (!fn(body)) {
      throw new Error(`${method} ${op.template} ${status} does not match ${schemaRef ?? 'its schema'}: ${this.ajv.errorsText(fn.errors)}\n${JSON.stringify(body).slice(0, 800)}`);
    }
  }
}

export interface CallResult { status: number; headers: Headers; body: any; raw: string }

/** A fetch against the fake that validates every answer except 429s (checked for their exact body elsewhere). */
export function client(baseUrl: string, token: string, validator?: OpenApiValidator) {
  return async function call(method: string, urlPath: string, body?: unknown, opts: { token?: string | null } = {}): Promise<CallResult> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const auth = opts.token === undefined ? token : opts.token;
    if (auth) headers.authorization = `Bearer ${auth}`;
    const res = await fetch(baseUrl + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const raw = await res.text();
    const parsed: unknown = raw ? JSON.parse(raw) : undefined;
    if (res.status !== 204 && !res.headers.get('content-type')?.startsWith('application/json;charset=utf-8')) {
      throw new Error(`${method} ${urlPath}: content-type ${res.headers.get('content-type')}`);
    }
    if (validator && res.status !== 429) validator.validate(method, urlPath.split('?')[0]!, res.status, parsed);
    return { status: res.status, headers: res.headers, body: parsed, raw };
  };
}
