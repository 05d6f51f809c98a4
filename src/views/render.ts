import { randomUUID } from 'node:crypto';
import { h, type VNode } from 'preact';
import { render } from 'preact-render-to-string';

/** Preact escapes every interpolated value: templates have no raw-HTML path but TrustedBlock below. */
export function renderDocument(node: VNode): string {
  return `<!doctype html>${render(node)}`;
}

declare const trusted: unique symbol;
/**
 * HTML that may be inserted as it is. Only two functions make it: renderFragment (Preact's output, every
 * value escaped) and renderMarkdown (knowledge/markdown.ts, sanitised); test/trusted-html.test.ts holds
 * the code to that.
 */
export type TrustedHtml = string & { readonly [trusted]: true };

/** A part of a page rendered ahead, to be cached and inserted later with TrustedBlock. */
export function renderFragment(node: VNode): TrustedHtml {
  return render(node) as TrustedHtml;
}

declare const encoded: unique symbol;
/**
 * TrustedHtml already encoded as UTF-8, for a cache: a page holding it is sent without converting its
 * largest part again (for a cached dashboard that conversion was a third of the request).
 */
export interface EncodedHtml { readonly bytes: Buffer; readonly [encoded]: true }

/** renderFragment, encoded once. */
export function renderEncodedFragment(node: VNode): EncodedHtml {
  return { bytes: Buffer.from(renderFragment(node)) } as EncodedHtml;
}

// Where an encoded fragment goes in a page being rendered by renderDocumentBytes. Random per process, so
// no text on a page can stand in for it (Preact escapes "<" in any value anyway).
const SLOT = `<!--slot:${randomUUID()}-->`;
// The encoded fragments of the page being rendered (rendering is synchronous: one page at a time).
let slots: Buffer[] | null = null;

/** The one place where HTML is inserted without escaping: a div holding TrustedHtml. */
export function TrustedBlock({ html, ...attrs }: { html: TrustedHtml | EncodedHtml; class?: string; 'data-testid'?: string }): VNode<any> {
  if (typeof html === 'string') return h('div', { ...attrs, dangerouslySetInnerHTML: { __html: html } });
  if (!slots) throw new Error('a page with an encoded fragment is rendered with renderDocumentBytes');
  slots.push(html.bytes);
  return h('div', { ...attrs, dangerouslySetInnerHTML: { __html: SLOT } });
}

/** renderDocument as UTF-8 bytes, with any encoded fragments copied in as they are. */
export function renderDocumentBytes(node: VNode): Buffer {
  const outer = slots;
  slots = [];
  try {
    const text = renderDocument(node);
    const fragments = slots;
    if (fragments.length === 0) return Buffer.from(text);
    const pieces = text.split(SLOT);
    if (pieces.length !== fragments.length + 1) throw new Error('an encoded fragment lost its place in the page');
    return Buffer.concat(pieces.flatMap((piece, i) => (i < fragments.length ? [Buffer.from(piece), fragments[i]!] : [Buffer.from(piece)])));
  } finally {
    slots = outer;
  }
}

declare const template: unique symbol;
/**
 * A whole page rendered ahead for one user, with the CSRF token left out: `fillPageTemplate` puts a
 * request's own token in. For a page served again and again unchanged (the dashboard, decision 023).
 */
export interface PageTemplate { readonly parts: readonly Buffer[]; readonly [template]: true }

/** What a template keeps to fill itself: one filled copy, handed back once written (see below). */
interface Filling { parts: readonly Buffer[]; spare: Buffer | null; tokenBytes: number }

// Stands for the token while the page is rendered: letters and digits only (no value escapes to anything
// else), random per process (no text on a page can stand in for it).
const TOKEN_SLOT = `csrf${randomUUID().replaceAll('-', '')}`;
const TOKEN_SLOT_BYTES = Buffer.from(TOKEN_SLOT);

/** Renders the page with a stand-in token, kept as the bytes around each place the token goes. */
export function renderPageTemplate(page: (csrfToken: string) => VNode): PageTemplate {
  const bytes = renderDocumentBytes(page(TOKEN_SLOT));
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = bytes.indexOf(TOKEN_SLOT_BYTES); at >= 0; at = bytes.indexOf(TOKEN_SLOT_BYTES, from)) {
    parts.push(bytes.subarray(from, at));
    from = at + TOKEN_SLOT_BYTES.length;
  }
  parts.push(bytes.subarray(from));
  const filling: Filling = { parts, spare: null, tokenBytes: -1 };
  return filling as unknown as PageTemplate;
}

const TOKEN = /^[\w-]*$/;

/**
 * The page with this request's token (a CSRF token: letters, digits, "-" and "_"), and `written`, to call
 * once the response has been handed to the operating system (the response's "finish"): the page's bytes
 * may then be used again for the next request, which only writes its token over the last one's instead
 * of copying the whole page (~5 % of a cached dashboard). One such copy per template; a page asked while
 * its copy is still being written is copied afresh. Never call `written` before "finish" — or at all
 * when the response ended otherwise: until then the bytes may still be on their way to the client.
 */
export function fillPageTemplate(page: PageTemplate, csrfToken: string): { body: Buffer; written: () => void } {
  if (!TOKEN.test(csrfToken)) throw new Error('a CSRF token holds only letters, digits, "-" and "_"');
  const f = page as unknown as Filling;
  const reusable = f.tokenBytes === csrfToken.length; // ASCII: as many bytes as characters
  let body = reusable ? f.spare : null;
  if (body) {
    f.spare = null;
    let at = 0;
    for (let i = 0; i < f.parts.length - 1; i++) {
      at += f.parts[i]!.length;
      at += body.write(csrfToken, at, 'latin1');
    }
  } else {
    const token = Buffer.from(csrfToken);
    const pieces: Buffer[] = [];
    f.parts.forEach((part, i) => {
      if (i > 0) pieces.push(token);
      pieces.push(part);
    });
    body = Buffer.concat(pieces);
    if (f.tokenBytes < 0) f.tokenBytes = token.length;
  }
  // A bound function, not a closure: no per-request function for the transpiler to name.
  return { body, written: f.tokenBytes === csrfToken.length ? handBack.bind(f, body) : noop };
}

function handBack(this: Filling, body: Buffer): void {
  this.spare = body;
}

function noop(): void {}
