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
