import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32, gunzipSync } from 'node:zlib';
import { acceptsGzip, crcCombine, crcShift, gzipLayout } from './gzip.ts';

test('two CRC-32s combine into the CRC-32 of the bytes joined, for any lengths', () => {
  for (const [a, b] of [[0, 0], [0, 7], [7, 0], [1, 1], [13, 52], [4096, 52], [52, 22_000], [100_003, 65_537]] as const) {
    const x = randomBytes(a);
    const y = randomBytes(b);
    assert.equal(crcCombine(crc32(x), crc32(y), crcShift(b)), crc32(Buffer.concat([x, y])), `${a} + ${b} bytes`);
  }
});

/** The parts joined by the token, as the page is sent plain. */
const joined = (parts: Buffer[], token: string) => Buffer.from(parts.map((p) => p.toString('latin1')).join(token), 'latin1');

/** The layout's pieces filled with a token and sealed, as fillPageTemplate does. */
function filled(parts: Buffer[], token: string): Buffer {
  const layout = gzipLayout(parts, token.length);
  const body = Buffer.from(layout.pieces.map((p) => p.toString('latin1')).join(token), 'latin1');
  layout.seal(body, token);
  return body;
}

test('a gzip layout filled with a token is the gzip of the page with that token, checked by gunzip (CRC-32, size)', () => {
  const page = Buffer.from('<!doctype html><html><head><meta content="•"></head><body>'.concat('<tr><td>Клієнт 1</td></tr>'.repeat(500), '</body></html>'));
  const cases: Buffer[][] = [
    [page], // no token at all
    [page.subarray(0, 40), page.subarray(40, 5000), page.subarray(5000)],
    [Buffer.alloc(0), page, Buffer.alloc(0)], // a token first and last
    [page.subarray(0, 100), Buffer.alloc(0), page.subarray(100)], // two tokens side by side
    [randomBytes(70_000), randomBytes(10)], // a part that does not compress, longer than one stored block
  ];
  for (const parts of cases) {
    for (const token of ['a1b2c3d4-AbCdEf_0123456789-abcdefghijklmnopqrstuvwxyzABC', 'x']) {
      const body = filled(parts, token);
      assert.deepEqual(gunzipSync(body), joined(parts, token), `${parts.length} parts, a ${token.length}-byte token`);
      if (parts.length > 1) assert.ok(body.includes(token), 'the token is stored as it is: never compressed with the page');
    }
  }
  const big = [page, page];
  assert.ok(filled(big, 'token').length < joined(big, 'token').length / 4, 'the page is compressed');
});

test('the token is written over the last one in the same bytes: only its places and the CRC change', () => {
  const parts = [Buffer.from('<meta content="'), Buffer.from('"><form><input value="'), Buffer.from('">'.repeat(300))];
  const layout = gzipLayout(parts, 8);
  const body = Buffer.from(layout.pieces.map((p) => p.toString('latin1')).join('token-A1'), 'latin1');
  layout.seal(body, 'token-A1');
  const second = Buffer.from(body.toString('latin1').replaceAll('token-A1', 'token-B2'), 'latin1');
  assert.throws(() => gunzipSync(second), /incorrect data check/, 'a token changed without its CRC is refused by the client');
  layout.seal(second, 'token-B2');
  assert.deepEqual(gunzipSync(second), joined(parts, 'token-B2'));
});

test('Accept-Encoding: gzip when named (or "*") with a q above 0', () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false], ['', false], ['identity', false], ['br', false], ['deflate, br', false],
    ['gzip', true], ['GZIP', true], ['x-gzip', true], ['gzip, deflate, br, zstd', true], ['br;q=1.0, gzip;q=0.8, *;q=0.1', true],
    ['gzip;q=0', false], ['gzip; q=0.000', false], ['*', true], ['*;q=0', false], ['gzip;q=0, *', false], ['br, *;q=0.5', true],
    ['gzip;q=abc', false],
  ];
  for (const [header, expected] of cases) {
    assert.equal(acceptsGzip(header), expected, String(header));
    assert.equal(acceptsGzip(header), expected, `${header}, asked again (the last answer is kept)`);
  }
});
