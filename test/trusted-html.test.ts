// HTML is inserted unescaped in one place only (TrustedBlock, src/views/render.ts), and only two functions
// make the TrustedHtml it takes: renderFragment (Preact's own escaped output) and renderMarkdown
// (sanitised). A new raw-HTML path anywhere else fails here and needs a review of its own.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

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
