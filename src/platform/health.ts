// /healthz: the process answers. /readyz: the database answers and every migration is applied.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { pendingMigrations } from '../db/migrate.ts';

export function registerHealth(app: FastifyInstance): void {
  app.get('/healthz', { config: { public: true }, logLevel: 'warn' }, async () => ({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) }));

  app.get('/readyz', { config: { public: true }, logLevel: 'warn' }, async (_request, reply) => {
    try {
      await sql`select 1`.execute(app.db);
      const pending = await pendingMigrations(app.db);
      if (pending.length > 0) return reply.code(503).send({ status: 'not ready', database: 'ok', pendingMigrations: pending });
      return { status: 'ready', database: 'ok', driver: app.database.kind };
    } catch {
      return reply.code(503).send({ status: 'not ready', database: 'unreachable' });
    }
  });
}
