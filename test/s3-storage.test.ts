// The S3 storage against a small S3-compatible server over real HTTP (path-style, like MinIO):
// objects are written without any public ACL, read back as streams, and deleted.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { NotFoundInStorage, S3Storage } from '../src/storage/storage.server.ts';

interface Stored { body: Buffer; contentType: string | undefined; headers: http.IncomingHttpHeaders }

describe('S3 storage (S3-compatible server)', () => {
  const objects = new Map<string, Stored>();
  let server: http.Server;
  let storage: S3Storage;
  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
        if (req.method === 'PUT') {
          objects.set(path, { body: Buffer.concat(chunks), contentType: req.headers['content-type'], headers: req.headers });
          res.writeHead(200, { etag: '"x"' }).end();
        } else if (req.method === 'GET' || req.method === 'HEAD') {
          const o = objects.get(path);
          if (!o) {
            res.writeHead(404, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
            return;
          }
          res.writeHead(200, { 'content-type': o.contentType ?? 'application/octet-stream', 'content-length': String(o.body.length) }).end(o.body);
        } else if (req.method === 'DELETE') {
          objects.delete(path);
          res.writeHead(204).end();
        } else res.writeHead(405).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    storage = new S3Storage({ bucket: 'propart-private', region: 'eu-central-1', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'test', secretAccessKey: 'test-secret', forcePathStyle: true });
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('put, get and delete a private object', async () => {
    const key = 'documents/7/0123456789abcdef0123456789abcdef.pdf';
    await storage.put(key, Buffer.from('%PDF-1.4 passport scan'), 'application/pdf');
    const stored = objects.get(`/propart-private/${key}`);
    assert.ok(stored, 'written under the bucket, path-style');
    assert.equal(stored.contentType, 'application/pdf');
    assert.equal(stored.headers['x-amz-acl'], undefined, 'no public ACL is ever requested');
    assert.match(String(stored.headers.authorization), /^AWS4-HMAC-SHA256 /, 'requests are signed');
    const chunks: Buffer[] = [];
    for await (const c of await storage.get(key)) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), '%PDF-1.4 passport scan');
    await storage.delete(key);
    await assert.rejects(storage.get(key), NotFoundInStorage);
  });

  test('keys are validated before anything is sent', async () => {
    await assert.rejects(storage.put('../../etc/passwd', Buffer.from('x'), 'text/plain'), /invalid storage key/);
  });
});
