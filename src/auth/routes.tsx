// Login, logout and self-registration.
import bcrypt from 'bcrypt';
import type { FastifyInstance } from 'fastify';
import { endSession, startSession } from '../platform/session.ts';
import { parseForm, typedValues } from '../platform/validation.ts';
import { safeLocalPath } from '../platform/views.ts';
import * as users from '../users/users.server.ts';
import { emptyForm } from '../views/forms.tsx';
import { burnPasswordCheck, hashPassword, verifyPassword } from './password.server.ts';
import { loginSchema, registerSchema } from './schemas.ts';
import { isTwoFactorEnabled, startPendingLogin } from './totp-store.server.ts';
import { twoFactorRoutes } from './two-factor-routes.tsx';
import { LoginPage, RegisterPage } from './views.tsx';

export async function authRoutes(app: FastifyInstance): Promise<void> {
  const sec = app.config.security;

  app.get('/', { config: { public: true } }, async (request, reply) => reply.redirect(request.user ? '/dashboard' : '/login'));

  app.get<{ Querystring: { next?: string } }>('/login', { config: { public: true } }, async (request, reply) => {
    if (request.user) return reply.redirect('/dashboard');
    const next = safeLocalPath(request.query.next);
    return reply.view((ctx) => <LoginPage ctx={ctx} form={emptyForm()} next={next} />);
  });

  app.post('/login', {
    config: { public: true, rateLimit: { max: sec.loginRatePerMinute, timeWindow: 60_000 } },
  }, async (request, reply) => {
    const values = typedValues(request.body, ['password']);
    const next = safeLocalPath(values.next);
    const fail = (status: number, key: Parameters<typeof request.t>[0]) =>
      reply.view((ctx) => <LoginPage ctx={ctx} form={{ values, errors: { _: key } }} next={next} />, status);

    const parsed = parseForm(loginSchema, request.body);
    if (!parsed.ok) return reply.view((ctx) => <LoginPage ctx={ctx} form={{ values, errors: parsed.fields }} next={next} />, 400);
    const { username, password } = parsed.data;

    const user = await users.findByLogin(request.db, username);
    if (!user) {
      await burnPasswordCheck(password, sec.bcryptCost);
      request.log.info({ event: 'login_failed', reason: 'unknown_user' }, 'login failed');
      return fail(401, 'login.invalid');
    }
    if (users.isLocked(user)) {
      request.log.warn({ event: 'login_refused', userId: user.id, reason: 'locked' }, 'login refused: account locked');
      const seconds = Math.ceil((new Date(user.locked_until!).getTime() - Date.now()) / 1000);
      reply.header('retry-after', String(seconds));
      return reply.view((ctx) => <LoginPage ctx={ctx} form={{ values, errors: { _: 'login.locked' } }} next={next} minutes={Math.ceil(seconds / 60)} />, 429);
    }
    if (!(await verifyPassword(password, user.password_hash))) {
      const { locked } = await users.recordFailedLogin(request.db, user.id, sec.lockoutThreshold, sec.lockoutMinutes);
      request.log.warn({ event: 'login_failed', userId: user.id, locked }, locked ? 'account locked after failed logins' : 'login failed');
      if (locked) return reply.view((ctx) => <LoginPage ctx={ctx} form={{ values, errors: { _: 'login.locked' } }} next={next} minutes={sec.lockoutMinutes} />, 429);
      return fail(401, 'login.invalid');
    }
    // Only someone who knows the password learns that the account is deactivated.
    if (!user.is_active) return fail(403, 'login.inactive');

    if (bcrypt.getRounds(user.password_hash) < sec.bcryptCost) {
      await request.db.updateTable('users').set({ password_hash: await hashPassword(password, sec.bcryptCost) }).where('id', '=', user.id).execute();
    }
    // With two-factor sign-in on, the password alone opens only a short-lived pending login; the failed-attempt
    // counter is reset only once the code is right too, so wrong codes keep counting toward the lockout.
    if (await isTwoFactorEnabled(request.db, user.id)) {
      await startPendingLogin(request.db, request, reply, user.id, next);
      request.log.info({ event: 'login_password_ok', userId: user.id }, 'password accepted, waiting for the second factor');
      return reply.redirect('/login/two-factor', 303);
    }
    await users.recordSuccessfulLogin(request.db, user.id);
    await startSession(request.db, request, reply, user.id);
    request.log.info({ event: 'login', userId: user.id }, 'user logged in');
    if (user.must_change_password) return reply.flash('warning', 'profile.mustChangePassword').redirect('/profile/password', 303);
    return reply.flash('success', 'login.welcome', { name: user.display_name }).redirect(next, 303);
  });

  app.post('/logout', { config: { public: true, allowDuringPasswordChange: true } }, async (request, reply) => {
    await endSession(request.db, request, reply);
    return reply.flash('info', 'logout.done').redirect('/login', 303);
  });

  app.get('/register', { config: { public: true } }, async (request, reply) => {
    if (request.user) return reply.redirect('/dashboard');
    const admins = await users.listAdminsForRegistration(request.db);
    return reply.view((ctx) => <RegisterPage ctx={ctx} form={emptyForm()} admins={admins} />);
  });

  app.post('/register', {
    config: { public: true, rateLimit: { max: sec.loginRatePerMinute, timeWindow: 60_000 } },
  }, async (request, reply) => {
    const values = typedValues(request.body, ['password', 'confirm_password']);
    const admins = await users.listAdminsForRegistration(request.db);
    const reshow = (errors: Record<string, Parameters<typeof request.t>[0]>, status = 400) =>
      reply.view((ctx) => <RegisterPage ctx={ctx} form={{ values, errors }} admins={admins} />, status);

    const parsed = parseForm(registerSchema, request.body);
    if (!parsed.ok) return reshow(parsed.fields);
    const input = parsed.data;
    values.username = input.username;
    const admin = admins.find((a) => a.id === input.admin_id);
    if (!admin) return reshow({ admin_id: 'validation.adminRequired' });
    const taken = await users.takenFields(request.db, input.username, input.email);
    if (Object.keys(taken).length > 0) return reshow(taken, 409);

    const passwordHash = await hashPassword(input.password, sec.bcryptCost);
    try {
      const user = await users.insertUser(request.db, {
        username: input.username, email: input.email, display_name: input.display_name,
        password_hash: passwordHash, role: 'agent', admin_id: admin.id,
      });
      request.log.info({ event: 'registered', userId: user.id }, 'agent registered');
    } catch (err) {
      const fields = users.uniqueViolationFields(err);
      if (!fields) throw err;
      return reshow(fields, 409);
    }
    return reply.flash('success', 'register.success', { admin: admin.display_name }).redirect('/login', 303);
  });

  await twoFactorRoutes(app);
}
