// Every state-changing request runs in one transaction: committed just before the response is written,
// rolled back when anything threw — so a handler failing half-way leaves nothing behind. A handler that
// answers a user's mistake itself (a form re-shown with 4xx) keeps its writes, e.g. a failed-login count.
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { ControlledTransaction } from 'kysely';
import type { Database } from '../db/schema.ts';

const TRX = Symbol('propart.trx');
const FAILED = Symbol('propart.failed');
type WithTrx = FastifyRequest & { [TRX]?: ControlledTransaction<Database>; [FAILED]?: boolean };

/** Called by the error handler: whatever this request wrote is rolled back. */
export function markRequestFailed(request: FastifyRequest): void {
  (request as WithTrx)[FAILED] = true;
}

export function registerRequestTransactions(app: FastifyInstance): { begin: preHandlerHookHandler } {
  app.decorateRequest('db', null as never);
  app.addHook('onRequest', async (request) => {
    request.db = app.db;
  });

  const finish = async (request: FastifyRequest, commit: boolean): Promise<void> => {
    const r = request as WithTrx;
    const trx = r[TRX];
    if (!trx) return;
    r[TRX] = undefined;
    request.db = app.db;
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

  app.addHook('onSend', async (request, _reply, payload) => {
    // A failed commit throws here, which Fastify turns into the error response: the user never sees "saved".
    await finish(request, !(request as WithTrx)[FAILED]);
    return payload;
  });
  app.addHook('onResponse', async (request) => finish(request, false));
  app.addHook('onRequestAbort', async (request) => finish(request, false));

  const begin: preHandlerHookHandler = async (request) => {
    const trx = await app.db.startTransaction().execute();
    (request as WithTrx)[TRX] = trx;
    request.db = trx;
  };
  return { begin };
}
