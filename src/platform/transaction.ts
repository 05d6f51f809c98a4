// Every state-changing request runs in one transaction: committed just before the response is written,
// rolled back when anything threw — so a handler failing half-way leaves nothing behind. A handler that
// answers a user's mistake itself (a form re-shown with 4xx) keeps its writes, e.g. a failed-login count.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ControlledTransaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { StateChangeHooks } from './security.ts';

const TRX = Symbol('propart.trx');
const FAILED = Symbol('propart.failed');
type WithTrx = FastifyRequest & { [TRX]?: ControlledTransaction<Database>; [FAILED]?: boolean };

/** Called by the error handler: whatever this request wrote is rolled back. */
export function markRequestFailed(request: FastifyRequest): void {
  (request as WithTrx)[FAILED] = true;
}

/** Adds the request transaction to the state-change hooks (only state-changing routes run them). */
export function registerRequestTransactions(app: FastifyInstance, hooks: StateChangeHooks): void {
  // The request's database: its transaction while one is open, else the pool.
  app.decorateRequest('db', {
    getter(this: WithTrx) {
      return this[TRX] ?? app.db;
    },
  });

  const finish = async (request: FastifyRequest, commit: boolean): Promise<void> => {
    const r = request as WithTrx;
    const trx = r[TRX];
    if (!trx) return;
    r[TRX] = undefined;
    if (commit) {
      try {
        await trx.commit().execute();
      } catch (err) {
        // Kysely keeps the connection checked out when COMMIT fails (e.g. a deferred constraint): a
        // rollback releases it — without this the pool leaks a connection and PGlite's only one hangs.
        await trx.rollback().execute().catch(() => {});
        throw err;
      }
    } else await trx.rollback().execute().catch((err: unknown) => request.log.warn({ err }, 'rollback failed'));
  };

  hooks.beforeHandler.push(async (request) => {
    (request as WithTrx)[TRX] = await app.db.startTransaction().execute();
  });
  // A failed commit throws here, which Fastify turns into the error response: the user never sees "saved".
  hooks.onSend.push(async (request, _reply, payload) => {
    await finish(request, !(request as WithTrx)[FAILED]);
    return payload;
  });
  // After the answer (or an abort) whatever is still open is rolled back.
  hooks.afterResponse.push(async (request) => finish(request, false));
}
