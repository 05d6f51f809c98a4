// Multipart form posts the way a browser sends them, through app.inject with the client's cookies.
import type { LightMyRequestResponse } from 'fastify';
import type { Client } from './client.ts';

export interface FilePart { field: string; name: string; data: Uint8Array; type?: string }

/** Posts fields and files with the page's CSRF token (unless csrf: false); keeps cookies like the client. */
export async function postMultipart(c: Client, url: string, fields: Record<string, string>, files: FilePart[], opts: { csrf?: boolean; json?: boolean } = {}): Promise<LightMyRequestResponse> {
  const fd = new FormData();
  if (opts.csrf !== false) fd.append('_csrf', c.csrfToken);
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  for (const f of files) fd.append(f.field, new Blob([new Uint8Array(f.data)], { type: f.type ?? 'text/csv' }), f.name);
  const req = new Request('http://localhost/', { method: 'POST', body: fd });
  const res = await c.app.inject({
    method: 'POST', url, payload: Buffer.from(await req.arrayBuffer()),
    headers: {
      'content-type': req.headers.get('content-type')!, accept: opts.json ? 'application/json' : 'text/html',
      cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    },
  });
  return (c as unknown as { absorb(r: LightMyRequestResponse): LightMyRequestResponse }).absorb(res);
}
