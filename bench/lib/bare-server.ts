// The baseline: a bare Fastify app with trivial routes, in its own process (forked by a benchmark).
// Same Fastify version and host as the real app, no plugins, no logger: the ceiling of this machine.
//   GET /bare          {"ok":true}: the judged baseline
//   GET /page/:bytes   a fixed HTML page of that many bytes (Cyrillic text, sent as a Buffer, as the app
//                      sends its pages): what moving a page of the dashboard's size costs by itself
import Fastify from 'fastify';
import { serveUntilParentStops } from './child.ts';
import { benchPage } from './page.ts';

const app = Fastify({ logger: false });
app.get('/bare', async () => ({ ok: true }));

app.get<{ Params: { bytes: string } }>('/page/:bytes', async (request, reply) => {
  const page = benchPage(Number(request.params.bytes));
  if (!page) return reply.code(400).send({ error: 'bytes: 1 to 1000000' });
  return reply.header('content-type', 'text/html; charset=utf-8').send(page);
});
await app.listen({ port: 0, host: '127.0.0.1' });

serveUntilParentStops(app.server, { close: () => app.close() });
