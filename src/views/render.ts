import type { VNode } from 'preact';
import { render } from 'preact-render-to-string';

/** Preact escapes every interpolated value: there is no raw-HTML path in our templates. */
export function renderDocument(node: VNode): string {
  return `<!doctype html>${render(node)}`;
}
