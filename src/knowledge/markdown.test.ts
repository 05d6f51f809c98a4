import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSafeHref, plainExcerpt, renderMarkdown } from './markdown.ts';

test('links: only http(s), mailto and paths on this site', () => {
  const cases: [string, boolean][] = [
    ['https://example.com/a?b#c', true], ['http://example.com', true], ['mailto:sales@example.com', true], ['HTTPS://EXAMPLE.COM', true],
    ['/properties/1', true], ['#section', true], ['?q=1', true], ['relative/page', true], ['//cdn.example.com/x', true],
    ['javascript:alert(1)', false], ['JaVaScRiPt:alert(1)', false], [' javascript:alert(1)', false], ['java\tscript:alert(1)', false],
    ['java\nscript:alert(1)', false], ['\u0001javascript:alert(1)', false], ['vbscript:msgbox(1)', false], ['data:text/html,<script>', false],
    ['data:image/png;base64,AAAA', false], ['file:///etc/passwd', false], ['java%09script:alert(1)', false], ['tel:+380501234567', false],
    ['\\\\evil\\share', false], ['', false],
  ];
  for (const [href, ok] of cases) assert.equal(isSafeHref(href), ok, JSON.stringify(href));
});

test('Markdown renders, raw HTML is text, unsafe links are not links, every link is rel=noopener noreferrer nofollow', () => {
  const html = renderMarkdown([
    '# Розстрочка', '', '**Важливо:** *до* 3 років.', '', '- один', '- два', '', '| A | B |', '|---|---|', '| 1 | 2 |', '',
    '[Прайс](https://example.com/price.pdf) [Каталог](/properties) [пошта](mailto:a@b.co)',
    '<script>alert(1)</script>', '<img src=x onerror=alert(2)>', '<a href="javascript:alert(3)">x</a>',
    '[bad](javascript:alert(4)) [bad2](JAVASCRIPT:alert(5)) [bad3](java&#x09;script:alert(6)) <javascript:alert(7)> [bad4](data:text/html;base64,PHNjcmlwdD4=)',
    '![pixel](https://tracker.example/p.gif)',
  ].join('\n'));
  assert.match(html, /<h1>Розстрочка<\/h1>/);
  assert.match(html, /<strong>Важливо:<\/strong> <em>до<\/em>/);
  assert.match(html, /<li>два<\/li>/);
  assert.match(html, /<table>/);
  assert.match(html, /<a href="https:\/\/example\.com\/price\.pdf" rel="noopener noreferrer nofollow" target="_blank">Прайс<\/a>/);
  assert.match(html, /<a href="\/properties" rel="noopener noreferrer nofollow">Каталог<\/a>/);
  assert.match(html, /<a href="mailto:a@b\.co" rel="noopener noreferrer nofollow">/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.doesNotMatch(html, /<script|<img|<iframe|onerror="|href="javascript|href="data|href="java/i);
  const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
  assert.ok(hrefs.length === 4, `only the four good links (the pixel becomes one): ${hrefs.join(' ')}`);
  for (const a of html.matchAll(/<a [^>]*>/g)) assert.match(a[0], /rel="noopener noreferrer nofollow"/);
});

test('search excerpts are plain text', () => {
  assert.equal(plainExcerpt('# Title\n\nSome **bold** and [a link](https://x.y) here.'), 'Title Some bold and a link here.');
  assert.equal(plainExcerpt('x'.repeat(300), 20).length, 20);
});
