// The signed-in user's own profile: view, edit username/name/email, change password.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { hashPassword, verifyPassword } from '../auth/password.server.ts';
import { requireUser } from '../auth/guards.server.ts';
import { changePasswordSchema, profileSchema } from '../auth/schemas.ts';
import { isTwoFactorEnabled } from '../auth/totp-store.server.ts';
import { personalStats } from '../dashboard/queries.server.ts';
import { listDocuments } from '../documents/documents.server.ts';
import { NotFound } from '../platform/errors.ts';
import { totalFor } from '../points/points.server.ts';
import { endUserSessions } from '../platform/session.ts';
import { parseForm, typedValues } from '../platform/validation.ts';
import { brokersOf } from '../users/admin-users.server.ts';
import * as users from '../users/users.server.ts';
import { stateOf } from '../verification/verification.server.ts';
import { emptyForm, type FormState } from '../views/forms.tsx';
import { ChangePasswordPage, type ProfileData, ProfilePage } from './views.tsx';
import { listApiKeys } from '../api/keys.server.ts';

async function loadProfile(request: FastifyRequest): Promise<ProfileData> {
  const me = requireUser(request);
  const user = await users.findById(request.db, me.id);
  if (!user) throw new NotFound();
  const admin = user.admin_id ? await users.findById(request.db, user.admin_id) : undefined;
  const stats = await personalStats(request.db, user.id);
  const points = await totalFor(request.db, user.id);
  const verification = user.role === 'agent' ? await stateOf(request.db, user) : null;
  const documents = await listDocuments(request.db, user.id);
  const brokers = user.role === 'admin' ? await brokersOf(request.db, user.id) : null;
  const apiKeys = user.role === 'agent' ? await listApiKeys(request.db, user.id) : null;
  const twoFactorEnabled = await isTwoFactorEnabled(request.db, user.id);
  return { user, adminName: admin?.display_name ?? null, stats: { ...stats, points }, verification, documents, brokers, apiKeys, twoFactorEnabled };
}

const profileValues = (d: ProfileData) => ({ username: d.user.username, display_name: d.user.display_name, email: d.user.email });

export async function profileRoutes(app: FastifyInstance): Promise<void> {
  const sec = app.config.security;

  app.get('/profile', async (request, reply) => {
    const data = await loadProfile(request);
    return reply.view((ctx) => <ProfilePage ctx={ctx} data={data} profileForm={emptyForm(profileValues(data))} passwordForm={emptyForm()} />);
  });

  app.post('/profile', async (request, reply) => {
    const data = await loadProfile(request);
    const values = typedValues(request.body);
    const reshow = (profileForm: FormState, status: number) =>
      reply.view((ctx) => <ProfilePage ctx={ctx} data={data} profileForm={profileForm} passwordForm={emptyForm()} />, status);
    const parsed = parseForm(profileSchema, request.body);
    if (!parsed.ok) return reshow({ values, errors: parsed.fields }, 400);
    const taken = await users.takenFields(request.db, parsed.data.username, parsed.data.email, data.user.id);
    if (Object.keys(taken).length > 0) return reshow({ values, errors: taken }, 409);
    try {
      await request.db.updateTable('users').set({ ...parsed.data, updated_at: sql`now()` }).where('id', '=', data.user.id).execute();
    } catch (err) {
      const fields = users.uniqueViolationFields(err);
      if (!fields) throw err;
      return reshow({ values, errors: fields }, 409);
    }
    return reply.flash('success', 'profile.saved').redirect('/profile', 303);
  });

  app.get('/profile/password', { config: { allowDuringPasswordChange: true } }, async (request, reply) =>
    reply.view((ctx) => <ChangePasswordPage ctx={ctx} form={emptyForm()} />));

  app.post('/profile/password', { config: { allowDuringPasswordChange: true } }, async (request, reply) => {
    const me = requireUser(request);
    const fromProfilePage = !me.mustChangePassword;
    const data = fromProfilePage ? await loadProfile(request) : null;
    const reshow = (form: FormState, status: number) => data
      ? reply.view((ctx) => <ProfilePage ctx={ctx} data={data} profileForm={emptyForm(profileValues(data))} passwordForm={form} />, status)
      : reply.view((ctx) => <ChangePasswordPage ctx={ctx} form={form} />, status);
    const parsed = parseForm(changePasswordSchema, request.body);
    if (!parsed.ok) return reshow({ values: {}, errors: parsed.fields }, 400);
    const user = await users.findById(request.db, me.id);
    if (!user || !(await verifyPassword(parsed.data.current_password, user.password_hash))) {
      return reshow({ values: {}, errors: { current_password: 'validation.currentPasswordWrong' } }, 400);
    }
    await request.db.updateTable('users')
      .set({ password_hash: await hashPassword(parsed.data.new_password, sec.bcryptCost), must_change_password: false, updated_at: sql`now()` })
      .where('id', '=', me.id).execute();
    // Anyone else signed in with the old password is signed out.
    await endUserSessions(request.db, me.id, request.sessionId);
    request.log.info({ event: 'password_changed', userId: me.id }, 'password changed');
    return reply.flash('success', 'profile.passwordChanged').redirect('/profile', 303);
  });
}
