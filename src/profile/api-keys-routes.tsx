// API keys on the profile (agents only). The token is in the one response that creates it and nowhere else:
// not in a flash, a redirect, the session, the audit log or a log line.
import type { FastifyInstance } from 'fastify';
import { countActiveKeys, createApiKey, listApiKeys, MAX_KEYS_PER_USER, revokeApiKey } from '../api/keys.server.ts';
import { requireUser } from '../auth/guards.server.ts';
import { toId } from '../comments/schemas.ts';
import { Forbidden, NotFound } from '../platform/errors.ts';
import { parseForm, typedValues } from '../platform/validation.ts';
import type { FieldErrors } from '../platform/errors.ts';
import { ApiKeyCreatedPage, ApiKeyFormPage, apiKeyFormSchema } from './api-keys.tsx';

export async function apiKeyProfileRoutes(app: FastifyInstance): Promise<void> {
  app.post('/profile/api-keys', async (request, reply) => {
    const me = requireUser(request);
    if (me.role !== 'agent') throw new Forbidden();
    const values = typedValues(request.body);
    const reshow = async (errors: FieldErrors, status: number) => {
      const keys = await listApiKeys(request.db, me.id);
      return reply.view((ctx) => <ApiKeyFormPage ctx={ctx} keys={keys} form={{ values, errors }} />, status);
    };
    const parsed = parseForm(apiKeyFormSchema, request.body);
    if (!parsed.ok) return reshow(parsed.fields, 400);
    // Serialises one user's concurrent creations, so the limit holds.
    await request.db.selectFrom('users').select('id').where('id', '=', me.id).forUpdate().executeTakeFirst();
    if (await countActiveKeys(request.db, me.id) >= MAX_KEYS_PER_USER) return reshow({ _: 'apiKeys.tooMany' }, 409);
    const { key, token } = await createApiKey(request.db, me, parsed.data, request);
    request.log.info({ event: 'api_key_created', userId: me.id, apiKeyId: key.id }, 'API key created');
    const keys = await listApiKeys(request.db, me.id);
    reply.header('cache-control', 'no-store');
    return reply.view((ctx) => <ApiKeyCreatedPage ctx={ctx} name={key.name} token={token} keys={keys} />, 201);
  });

  app.post<{ Params: { id: string } }>('/profile/api-keys/:id/revoke', async (request, reply) => {
    const me = requireUser(request);
    const id = toId(request.params.id);
    if (id === null) throw new NotFound();
    const key = await revokeApiKey(request.db, me, id, request);
    request.log.info({ event: 'api_key_revoked', userId: me.id, apiKeyId: key.id }, 'API key revoked');
    return reply.flash('success', 'apiKeys.revokedFlash', { name: key.name }).redirect('/profile#api-keys', 303);
  });
}
