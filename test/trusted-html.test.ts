// HTML is inserted unescaped in one place only (TrustedBlock, src/views/render.ts), and only two functions
// make the TrustedHtml it takes: renderFragment (Preact's own escaped output) and renderMarkdown
// (sanitised). A new raw-HTML path anywhere else fails here and needs a review of its own.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { h, type VNode } from 'preact';
import { fillPageTemplate, renderDocument, renderDocumentBytes, renderEncodedFragment, renderFragment, renderPageTemplate, TrustedBlock } from '../src/views/render.ts';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

const filesWith = (pattern: RegExp) => sources(SRC).filter((f) => pattern.test(readFileSync(f, 'utf8'))).map((f) => path.relative(SRC, f)).sort();

test('only TrustedBlock inserts raw HTML', () => {
  assert.deepEqual(filesWith(/dangerouslySetInnerHTML/), ['views/render.ts']);
});

test('only renderFragment and renderMarkdown make TrustedHtml', () => {
  assert.deepEqual(filesWith(/as (TrustedHtml|SafeHtml)\b/), ['knowledge/markdown.ts', 'views/render.ts']);
});

test('an encoded fragment is sent as the same bytes as its HTML, in its place, and only in a page rendered as bytes', () => {
  const body = h('section', null, h('p', null, 'Клієнт <b>"&'), h('p', null, '<!--slot:x-->'));
  const page = (inner: VNode<any>) => h('html', null, h('body', null, h('h1', null, 'Привіт <script>'), inner, h('footer', null, 'кінець')));
  const asText = renderDocument(page(h(TrustedBlock, { html: renderFragment(body), 'data-testid': 'b' })));
  const asBytes = renderDocumentBytes(page(h(TrustedBlock, { html: renderEncodedFragment(body), 'data-testid': 'b' })));
  assert.equal(asBytes.toString('utf8'), asText);
  assert.match(asText, /&lt;!--slot:x-->/, 'text that looks like a slot is escaped');
  assert.doesNotMatch(asText, /<script>/);
  assert.throws(() => renderDocument(page(h(TrustedBlock, { html: renderEncodedFragment(body) }))), /renderDocumentBytes/);
  // Two fragments, each in its own place.
  const two = renderDocumentBytes(h('div', null, h(TrustedBlock, { html: renderEncodedFragment(h('i', null, 'один')) }), 'між', h(TrustedBlock, { html: renderEncodedFragment(h('i', null, 'два')) })));
  assert.equal(two.toString('utf8'), '<!doctype html><div><div><i>один</i></div>між<div><i>два</i></div></div>');
});

test("a page rendered ahead (PageTemplate) gets each request's token in every place, and is otherwise the page itself", () => {
  const body = renderEncodedFragment(h('p', null, 'Клієнт <b>"&'));
  const page = (token: string) => h('html', null,
    h('head', null, h('meta', { name: 'csrf-token', content: token })),
    h('body', null, h(TrustedBlock, { html: body }), h('form', null, h('input', { type: 'hidden', name: '_csrf', value: token })), 'кінець'));
  const template = renderPageTemplate(page);
  for (const token of ['tok-1_A', 'tok-2_B']) {
    const filled = fillPageTemplate(template, token).body.toString('utf8');
    assert.equal(filled, renderDocumentBytes(page(token)).toString('utf8'));
    assert.equal(filled.split(token).length - 1, 2, 'in the meta tag and the form');
  }
  assert.throws(() => fillPageTemplate(template, 'x"><script>'), /CSRF token/, 'anything but a token is refused, never inserted');
});

test('a filled page is used again only once written: a page still on its way keeps its token', () => {
  const page = (token: string) => h('html', null, h('head', null, h('meta', { name: 'csrf-token', content: token })),
    h('body', null, h('p', null, 'Клієнт'), h('input', { type: 'hidden', name: '_csrf', value: token }), 'кінець'));
  const template = renderPageTemplate(page);
  const expected = (token: string) => renderDocumentBytes(page(token)).toString('utf8');

  const a = fillPageTemplate(template, 'token-A1');
  const b = fillPageTemplate(template, 'token-B2'); // asked while a is still being written
  assert.notEqual(b.body, a.body);
  assert.equal(a.body.toString('utf8'), expected('token-A1'), 'filling b did not touch a');
  a.written();
  const c = fillPageTemplate(template, 'token-C3');
  assert.equal(c.body, a.body, "a's bytes are used again once a was written");
  assert.equal(c.body.toString('utf8'), expected('token-C3'), 'with every place of the token rewritten');
  assert.equal(b.body.toString('utf8'), expected('token-B2'), 'b, still on its way, is untouched');
  const d = fillPageTemplate(template, 'token-D4');
  assert.notEqual(d.body, c.body, 'c is not handed out twice');
  // A token of another length is filled afresh, and its page is not kept.
  c.written();
  const long = fillPageTemplate(template, 'a-longer-token_123');
  assert.equal(long.body.toString('utf8'), expected('a-longer-token_123'));
  assert.notEqual(long.body, c.body);
  long.written();
  assert.equal(fillPageTemplate(template, 'token-E5').body, c.body, 'the kept page is still the one of the usual length');
});

test('a page asked again is gzipped for a client that takes gzip: the same page, its bytes used again once written', () => {
  const page = (token: string) => h('html', null, h('head', null, h('meta', { name: 'csrf-token', content: token })),
    h('body', null, Array.from({ length: 200 }, (_, i) => h('p', { key: i }, `Клієнт ${i}`)), h('input', { type: 'hidden', name: '_csrf', value: token }), 'кінець'));
  const template = renderPageTemplate(page);
  const expected = (token: string) => renderDocumentBytes(page(token)).toString('utf8');

  const first = fillPageTemplate(template, 'token-A1', true);
  assert.equal(first.gzip, false, 'a page asked once is sent as it is (it may never be asked again)');
  assert.equal(first.body.toString('utf8'), expected('token-A1'));
  first.written();
  const a = fillPageTemplate(template, 'token-B2', true);
  assert.equal(a.gzip, true);
  assert.equal(gunzipSync(a.body).toString('utf8'), expected('token-B2'));
  assert.ok(a.body.length < first.body.length / 3, 'compressed');
  const b = fillPageTemplate(template, 'token-C3', true); // asked while a is still being written
  assert.notEqual(b.body, a.body);
  assert.equal(gunzipSync(a.body).toString('utf8'), expected('token-B2'), 'filling b did not touch a');
  a.written();
  const c = fillPageTemplate(template, 'token-D4', true);
  assert.equal(c.body, a.body, "a's bytes are used again once a was written");
  assert.equal(gunzipSync(c.body).toString('utf8'), expected('token-D4'), 'with its token and the CRC rewritten');
  assert.equal(gunzipSync(b.body).toString('utf8'), expected('token-C3'), 'b, still on its way, is untouched');
  const plain = fillPageTemplate(template, 'token-E5', false);
  assert.equal(plain.gzip, false, 'a client that does not take gzip gets the page as it is');
  assert.equal(plain.body, first.body, 'from its own kept copy');
  assert.equal(plain.body.toString('utf8'), expected('token-E5'));
});
