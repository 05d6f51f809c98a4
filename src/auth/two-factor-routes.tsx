// Two-factor sign-in: the second login step, enrolment (QR + secret, confirmed by a code, recovery codes
// shown once), and turning it off (password + code; not for administrators when it is required).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { endUserSessions, mustEnrolTwoFactor, startSession } from '../platform/session.ts';
import { typedValues } from '../platform/validation.ts';
import { safeLocalPath } from '../platform/views.ts';
import * as users from '../users/users.server.ts';
import { emptyForm } from '../views/forms.tsx';
import { requireUser } from './guards.server.ts';
import { verifyPassword } from './password.server.ts';
import {
  checkSecondFactor, confirmEnrolment, disableTwoFactor, endPendingLogin, enrolmentSecret, findPendingLogin, isTwoFactorEnabled,
  unusedRecoveryCodes,
} from './totp-store.server.ts';
import { otpauthUri } from './totp.server.ts';
import { RecoveryCodesPage, TwoFactorEnrolPage, TwoFactorLoginPage, TwoFactorStatusPage, type EnrolData } from './two-factor-views.tsx';

const codeOf = (body: unknown) => {
  const v = (body as { code?: unknown } | undefined)?.code;
  return typeof v === 'string' ? v.trim().slice(0, 40) : '';
};

export async function twoFactorRoutes(app: FastifyInstance): Promise<void> {
  const sec = app.config.security;
  const secretKey = app.config.secretKey;

  app.get('/login/two-factor', { config: { public: true } }, async (request, reply) => {
    const pending = await findPendingLogin(request.db, request);
    if (!pending) return reply.flash('warning', 'twoFactor.expired').redirect('/login', 303);
    return reply.view((ctx) => <TwoFactorLoginPage ctx={ctx} form={emptyForm()} />);
  });

  app.post('/login/two-factor', {
    config: { public: true, rateLimit: { max: sec.loginRatePerMinute, timeWindow: 60_000 } },
  }, async (request, reply) => {
    const pending = await findPendingLogin(request.db, request);
    if (!pending) {
      await endPendingLogin(request.db, reply, null);
      return reply.flash('warning', 'twoFactor.expired').redirect('/login', 303);
    }
    const user = await users.findById(request.db, pending.userId);
    if (!user || !user.is_active) {
      await endPendingLogin(request.db, reply, pending.id);
      return reply.flash('warning', 'twoFactor.expired').redirect('/login', 303);
    }
    if (users.isLocked(user)) {
      await endPendingLogin(request.db, reply, pending.id);
      const seconds = Math.ceil((new Date(user.locked_until!).getTime() - Date.now()) / 1000);
      reply.header('retry-after', String(seconds));
      return reply.view((ctx) => <TwoFactorLoginPage ctx={ctx} form={{ values: {}, errors: { _: 'login.locked' } }} minutes={Math.ceil(seconds / 60)} />, 429);
    }
    const code = codeOf(request.body);
    if (!code) return reply.view((ctx) => <TwoFactorLoginPage ctx={ctx} form={{ values: {}, errors: { code: 'validation.required' } }} />, 400);
    if (!(await checkSecondFactor(request.db, secretKey, user.id, code))) {
      const { locked } = await users.recordFailedLogin(request.db, user.id, sec.lockoutThreshold, sec.lockoutMinutes);
      request.log.warn({ event: 'login_failed', userId: user.id, reason: 'second_factor', locked }, locked ? 'account locked after failed codes' : 'second factor refused');
      if (locked) {
        await endPendingLogin(request.db, reply, pending.id);
        return reply.view((ctx) => <TwoFactorLoginPage ctx={ctx} form={{ values: {}, errors: { _: 'login.locked' } }} minutes={sec.lockoutMinutes} />, 429);
      }
      return reply.view((ctx) => <TwoFactorLoginPage ctx={ctx} form={{ values: {}, errors: { _: 'twoFactor.invalidCode' } }} />, 401);
    }
    await endPendingLogin(request.db, reply, pending.id);
    await users.recordSuccessfulLogin(request.db, user.id);
    await startSession(request.db, request, reply, user.id);
    request.log.info({ event: 'login', userId: user.id, twoFactor: true }, 'user logged in');
    if (user.must_change_password) return reply.flash('warning', 'profile.mustChangePassword').redirect('/profile/password', 303);
    return reply.flash('success', 'login.welcome', { name: user.display_name }).redirect(safeLocalPath(pending.next), 303);
  });

  const enrolData = async (db: FastifyRequest['db'], userId: number, account: string, required: boolean): Promise<EnrolData> => {
    const secret = await enrolmentSecret(db, secretKey, userId);
    const uri = otpauthUri(secret, account);
    const svg = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return { secret, uri, qrDataUri: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`, required };
  };
  const canDisable = (role: string) => !(sec.adminTwoFactorRequired && role === 'admin');

  app.get('/profile/two-factor', { config: { allowDuringTwoFactorEnrolment: true } }, async (request, reply) => {
    const me = requireUser(request);
    if (await isTwoFactorEnabled(request.db, me.id)) {
      const left = await unusedRecoveryCodes(request.db, me.id);
      return reply.view((ctx) => <TwoFactorStatusPage ctx={ctx} recoveryLeft={left} canDisable={canDisable(me.role)} form={emptyForm()} />);
    }
    const data = await enrolData(request.db, me.id, me.username, mustEnrolTwoFactor(request));
    return reply.view((ctx) => <TwoFactorEnrolPage ctx={ctx} data={data} form={emptyForm()} />);
  });

  app.post('/profile/two-factor/enable', {
    config: { allowDuringTwoFactorEnrolment: true, rateLimit: { max: sec.loginRatePerMinute, timeWindow: 60_000 } },
  }, async (request, reply) => {
    const me = requireUser(request);
    if (await isTwoFactorEnabled(request.db, me.id)) return reply.redirect('/profile/two-factor', 303);
    const code = codeOf(request.body);
    const codes = code ? await confirmEnrolment(request.db, secretKey, me.id, code) : null;
    if (!codes) {
      const data = await enrolData(request.db, me.id, me.username, mustEnrolTwoFactor(request));
      return reply.view((ctx) => <TwoFactorEnrolPage ctx={ctx} data={data} form={{ values: {}, errors: code ? { _: 'twoFactor.invalidCode' } : { code: 'validation.required' } }} />, 400);
    }
    // Any other session (perhaps someone who knew only the password) ends now.
    await endUserSessions(request.db, me.id, request.sessionId);
    request.log.info({ event: 'two_factor_enabled', userId: me.id }, 'two-factor sign-in enabled');
    reply.header('cache-control', 'no-store');
    return reply.view((ctx) => <RecoveryCodesPage ctx={{ ...ctx, user: ctx.user }} codes={codes} />);
  });

  app.post('/profile/two-factor/disable', {
    config: { rateLimit: { max: sec.loginRatePerMinute, timeWindow: 60_000 } },
  }, async (request, reply) => {
    const me = requireUser(request);
    if (!(await isTwoFactorEnabled(request.db, me.id))) return reply.redirect('/profile/two-factor', 303);
    const left = await unusedRecoveryCodes(request.db, me.id);
    if (!canDisable(me.role)) {
      return reply.view((ctx) => <TwoFactorStatusPage ctx={ctx} recoveryLeft={left} canDisable={false} form={{ values: {}, errors: { _: 'twoFactor.adminCannotDisable' } }} />, 403);
    }
    const values = typedValues(request.body, ['password', 'code']);
    const password = typeof (request.body as { password?: unknown })?.password === 'string' ? (request.body as { password: string }).password : '';
    const user = await users.findById(request.db, me.id);
    const passwordOk = !!user && password.length > 0 && password.length <= 1024 && await verifyPassword(password, user.password_hash);
    if (!passwordOk) {
      return reply.view((ctx) => <TwoFactorStatusPage ctx={ctx} recoveryLeft={left} canDisable form={{ values, errors: { password: 'validation.currentPasswordWrong' } }} />, 400);
    }
    if (!(await checkSecondFactor(request.db, secretKey, me.id, codeOf(request.body)))) {
      return reply.view((ctx) => <TwoFactorStatusPage ctx={ctx} recoveryLeft={left} canDisable form={{ values, errors: { _: 'twoFactor.invalidCode' } }} />, 400);
    }
    await disableTwoFactor(request.db, me.id);
    request.log.info({ event: 'two_factor_disabled', userId: me.id }, 'two-factor sign-in disabled');
    return reply.flash('success', 'twoFactor.disabledFlash').redirect('/profile', 303);
  });
}
