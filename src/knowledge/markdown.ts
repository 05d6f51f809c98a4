// Markdown → HTML for knowledge-base articles. The only HTML in the app that is not built by Preact, so
// it is made safe here and nowhere else: raw HTML is shown as text (html: false), images are off (they
// would load from anywhere), and a link survives only when it goes to http(s), mailto or a path on this
// site; every link gets rel="noopener noreferrer nofollow". The result is TrustedHtml (views/render.ts),
// which only this module and renderFragment make, and only TrustedBlock inserts.
import MarkdownIt from 'markdown-it';
import type { TrustedHtml } from '../views/render.ts';

export type SafeHtml = TrustedHtml;

const ALLOWED_SCHEMES = new Set(['http', 'https', 'mailto']);

/** True for http(s) and mailto links and for relative ones (a path, a query, a #fragment). */
export function isSafeHref(url: string): boolean {
  // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:"); so do we.
  const compact = url.replace(/[\u0000-\u0020\u007f-\u009f]/g, '');
  if (compact === '') return false;
  const beforePath = compact.split(/[/?#]/, 1)[0] ?? '';
  const colon = beforePath.indexOf(':');
  if (colon === -1) return !compact.startsWith('\\');
  return ALLOWED_SCHEMES.has(beforePath.slice(0, colon).toLowerCase());
}

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
md.disable('image');
md.validateLink = isSafeHref;

md.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
  const token = tokens[idx]!;
  // validateLink already refused the rest; checked again here so no future rule can slip one through.
  const href = String(token.attrGet('href') ?? '');
  if (!isSafeHref(href)) token.attrSet('href', '#');
  token.attrSet('rel', 'noopener noreferrer nofollow');
  if (/^https?:/i.test(href)) token.attrSet('target', '_blank');
  return self.renderToken(tokens, idx, options);
};

export function renderMarkdown(source: string): SafeHtml {
  return md.render(source) as TrustedHtml;
}

/** Plain text for search results: the Markdown with its markup stripped, shortened. */
export function plainExcerpt(source: string, max = 220): string {
  const text = source
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[#>*_`~|-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}
