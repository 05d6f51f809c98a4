// A tiny path router: `/crm/v3/objects/:type/:id` style templates, matched segment by segment.
import type { FakeState } from './state.ts';
import type { Reply } from './types.ts';

export interface Ctx {
  state: FakeState;
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** The server's own URL, for `paging.next.link`. */
  baseUrl: string;
}

export interface Route {
  method: string;
  path: string;
  /** Counts against the search API's own per-second limit. */
  search?: boolean;
  handler: (ctx: Ctx) => Reply | Promise<Reply>;
}

export function matchRoute(routes: Route[], method: string, path: string): { route: Route; params: Record<string, string> } | null {
  const parts = path.split('/').filter(Boolean);
  for (const route of routes) {
    if (route.method !== method) continue;
    const tpl = route.path.split('/').filter(Boolean);
    if (tpl.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < tpl.length && ok; i++) {
      const t = tpl[i]!;
      const p = parts[i]!;
      if (t.startsWith(':')) params[t.slice(1)] = decodeURIComponent(p);
      else ok = t === p;
    }
    if (ok) return { route, params };
  }
  return null;
}
