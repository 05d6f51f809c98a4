// The baseline: a bare Fastify app with trivial routes, in its own process (forked by a benchmark).
// Same Fastify version and host as the real app, no plugins, no logger: the ceiling of this machine.
//   GET /bare          {"ok":true}: the judged baseline
//   GET /page/:bytes   a fixed HTML page of that many bytes (Cyrillic text, sent as a Buffer, as the app
//                      sends its pages): what moving a page of the dashboard's size costs by itself
import Fastify from 'fastify';
import { serveUntilParentStops } from './child.ts';

const app = Fastify({ logger: false });
app.get('/bare', async () => ({ ok: true }));

const pages = new Map<number, Buffer>();
function page(bytes: number): Buffer {
  let body = pages.get(bytes);
  if (!body) {
    const row = '<tr><td><a href="/leads/1">Клієнт Сторінки</a></td><td>+380 50 123 4567</td></tr>';
    const html = Buffer.from(`<!doctype html><html lang="uk"><body><table>${row.repeat(Math.ceil(bytes / Buffer.byteLength(row)))}`);
    body = html.subarray(0, bytes);
    pages.set(bytes, body);
  }
  return body;
}
app.get<{ Params: { bytes: string } }>('/page/:bytes', async (request, reply) => {
  const bytes = Number(request.params.bytes);
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1_000_000) return reply.code(400).send({ error: 'bytes: 1 to 1000000' });
  return reply.header('content-type', 'text/html; charset=utf-8').send(page(bytes));
});
await app.listen({ port: 0, host: '127.0.0.1' });

serveUntilParentStops(app.server, { close: () => app.close() });
