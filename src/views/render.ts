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

/** The one place where HTML is inserted without escaping: a div holding TrustedHtml. */
export function TrustedBlock({ html, ...attrs }: { html: TrustedHtml; class?: string; 'data-testid'?: string }): VNode<any> {
  return h('div', { ...attrs, dangerouslySetInnerHTML: { __html: html } });
}
