import { randomUUID } from 'node:crypto';
import { h, type VNode } from 'preact';
import { render } from 'preact-render-to-string';
import { gzipLayout } from './gzip.ts';

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
export interface PageTemplate { readonly [template]: true }

/** A template's page as it is kept: the bytes around each place of the token, and how it has been filled. */
interface Filling {
  readonly parts: readonly Buffer[];
  /** The page as it is, for a token of the length first seen (tokens are all one length); made when first asked. */
  plain: Filler | null;
  /** The page gzipped (decision 031), made when the page is asked again: a page asked once stays plain. */
  gzip: Filler | null;
}

/** The fixed bytes around each place of a token of one length, and one filled copy kept to use again. */
class Filler {
  private spare: Buffer | null = null;
  private readonly bytes: number;
  readonly pieces: readonly Buffer[];
  readonly tokenBytes: number;
  private readonly seal: ((body: Buffer, token: string) => void) | undefined;
  constructor(pieces: readonly Buffer[], tokenBytes: number, seal?: (body: Buffer, token: string) => void) {
    this.pieces = pieces;
    this.tokenBytes = tokenBytes;
    this.seal = seal;
    this.bytes = pieces.reduce((sum, p) => sum + p.length, 0) + (pieces.length - 1) * tokenBytes;
  }

  fill(token: string): { body: Buffer; written: () => void; gzip: boolean } {
    let body = this.spare;
    this.spare = null;
    const fresh = !body;
    if (!body) {
      body = Buffer.allocUnsafe(this.bytes);
      this.pieces[0]!.copy(body, 0);
    }
    // Only the token's places change from one request to the next (a fresh copy takes the pieces too).
    let at = this.pieces[0]!.length;
    for (let i = 1; i < this.pieces.length; i++) {
      at += body.write(token, at, 'latin1');
      if (fresh) this.pieces[i]!.copy(body, at);
      at += this.pieces[i]!.length;
    }
    this.seal?.(body, token);
    // A bound function, not a closure: no per-request function for the transpiler to name.
    return { body, written: this.keep.bind(this, body), gzip: this.seal !== undefined };
  }

  /** Called once `body` has been handed to the operating system: the next request may write over it. */
  keep(body: Buffer): void {
    this.spare = body;
  }
}

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
  const filling: Filling = { parts, plain: null, gzip: null };
  return filling as unknown as PageTemplate;
}

const TOKEN = /^[\w-]*$/;

/**
 * The page with this request's token (a CSRF token: letters, digits, "-" and "_"), gzipped when the client
 * takes gzip and the page has been asked before (`gzip` is then true), and `written`, to call once the
 * response has been handed to the operating system (the response's "finish"): the page's bytes may then be
 * used again for the next request, which only writes its token over the last one's instead of copying the
 * whole page (~5 % of a cached dashboard). One such copy per template and encoding; a page asked while its
 * copy is still being written is copied afresh. Never call `written` before "finish" — or at all when the
 * response ended otherwise: until then the bytes may still be on their way to the client.
 */
export function fillPageTemplate(page: PageTemplate, csrfToken: string, takesGzip = false): { body: Buffer; written: () => void; gzip: boolean } {
  if (!TOKEN.test(csrfToken)) throw new Error('a CSRF token holds only letters, digits, "-" and "_"');
  const f = page as unknown as Filling;
  const tokenBytes = csrfToken.length; // ASCII: as many bytes as characters
  const askedBefore = f.plain !== null;
  f.plain ??= new Filler(f.parts, tokenBytes);
  if (f.plain.tokenBytes !== tokenBytes) {
    // Not the usual length: filled afresh, kept nowhere, sent as it is.
    return { body: new Filler(f.parts, tokenBytes).fill(csrfToken).body, written: noop, gzip: false };
  }
  if (takesGzip && askedBefore) {
    if (!f.gzip) {
      const layout = gzipLayout(f.parts, tokenBytes);
      f.gzip = new Filler(layout.pieces, tokenBytes, layout.seal);
    }
    return f.gzip.fill(csrfToken);
  }
  return f.plain.fill(csrfToken);
}

function noop(): void {}
