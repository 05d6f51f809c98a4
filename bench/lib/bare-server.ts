// The baseline: a bare Fastify app with one trivial route, in its own process (forked by a benchmark).
// Same Fastify version and host as the real app, no plugins, no logger: the ceiling of this machine.
import Fastify from 'fastify';
import { serveUntilParentStops } from './child.ts';

const app = Fastify({ logger: false });
app.get('/bare', async () => ({ ok: true }));
await app.listen({ port: 0, host: '127.0.0.1' });

serveUntilParentStops(app.server, { close: () => app.close() });
