import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { render } from 'preact-render-to-string';
import { CommentText, linkify, safeHref } from './text.tsx';

const html = (text: string) => render(<CommentText text={text} />);
const links = (out: string) => [...out.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1]);

describe('linkify', () => {
  const cases: { input: string; expected: ReturnType<typeof linkify> }[] = [
    { input: 'plain text', expected: [{ kind: 'text', text: 'plain text' }] },
    { input: '', expected: [] },
    { input: 'see https://example.com/a?b=1', expected: [{ kind: 'text', text: 'see ' }, { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' }] },
    { input: 'http://example.com.', expected: [{ kind: 'link', text: 'http://example.com', href: 'http://example.com/' }, { kind: 'text', text: '.' }] },
    { input: '(https://example.com/x)', expected: [{ kind: 'text', text: '(' }, { kind: 'link', text: 'https://example.com/x', href: 'https://example.com/x' }, { kind: 'text', text: ')' }] },
    { input: 'https://en.wikipedia.org/wiki/Kyiv_(city)', expected: [{ kind: 'link', text: 'https://en.wikipedia.org/wiki/Kyiv_(city)', href: 'https://en.wikipedia.org/wiki/Kyiv_(city)' }] },
    { input: 'a https://x.com b https://y.com', expected: [{ kind: 'text', text: 'a ' }, { kind: 'link', text: 'https://x.com', href: 'https://x.com/' }, { kind: 'text', text: ' b ' }, { kind: 'link', text: 'https://y.com', href: 'https://y.com/' }] },
    { input: 'javascript:alert(1)', expected: [{ kind: 'text', text: 'javascript:alert(1)' }] },
    { input: 'ftp://example.com/file', expected: [{ kind: 'text', text: 'ftp://example.com/file' }] },
    { input: 'xhttps://example.com', expected: [{ kind: 'text', text: 'xhttps://example.com' }] },
    { input: 'https://', expected: [{ kind: 'text', text: 'https://' }] },
    { input: 'HTTPS://EXAMPLE.COM/A', expected: [{ kind: 'link', text: 'HTTPS://EXAMPLE.COM/A', href: 'https://example.com/A' }] },
  ];
  for (const { input, expected } of cases) {
    test(JSON.stringify(input), () => assert.deepEqual(linkify(input), expected));
  }

  test('safeHref accepts only well-formed http(s) URLs', () => {
    assert.equal(safeHref('javascript:alert(1)'), null);
    assert.equal(safeHref('data:text/html,<script>alert(1)</script>'), null);
    assert.equal(safeHref('vbscript:msgbox(1)'), null);
    assert.equal(safeHref('https://'), null);
    assert.equal(safeHref('https://example.com'), 'https://example.com/');
  });
});

describe('CommentText', () => {
  test('keeps line breaks as <br> and nothing else as markup', () => {
    assert.equal(html('one\ntwo\n\nthree'), '<div class="comment-text text-break" data-testid="comment-text">one<br/>two<br/><br/>three</div>');
  });

  test('links open in a new tab with rel="noopener noreferrer nofollow ugc"', () => {
    const out = html('https://example.com/page');
    assert.match(out, /<a href="https:\/\/example.com\/page" rel="noopener noreferrer nofollow ugc" target="_blank">https:\/\/example.com\/page<\/a>/);
  });

  const payloads = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '"><svg onload=alert(1)>',
    "'><svg/onload=alert(1)>",
    '</textarea><script>alert(1)</script>',
    '<a href="javascript:alert(1)">click</a>',
    'javascript:alert(document.cookie)',
    'JaVaScRiPt:alert(1)',
    '<iframe src="https://evil.example"></iframe>',
  ];
  for (const payload of payloads) {
    test(`escapes ${JSON.stringify(payload)}`, () => {
      const out = html(`before ${payload} after`);
      const inner = out.replace(/^<div [^>]*>/, '').replace(/<\/div>$/, '');
      assert.doesNotMatch(inner, /<(?!\/?a[ >]|br\/>)/, 'no tag other than a generated link or <br>');
      assert.doesNotMatch(out, /<script|<img|<svg|<iframe/i, "the payload's tags are text");
      for (const href of links(out)) assert.match(href!, /^https?:\/\//);
    });
  }

  test('a URL cannot break out of its href attribute', () => {
    const out = html('https://example.com/"><svg onload=alert(1)> and https://example.com/\'onmouseover=alert(1)');
    assert.deepEqual(links(out), ['https://example.com/', 'https://example.com/']);
    assert.doesNotMatch(out, /<svg/);
    assert.match(out, /&quot;>&lt;svg onload=alert\(1\)>/);
  });

  test('javascript: and data: URLs stay text', () => {
    const out = html('javascript:alert(1) data:text/html;base64,PHNjcmlwdD4= https://ok.example');
    assert.deepEqual(links(out), ['https://ok.example/']);
  });
});
