// A plain page listing the /api/v1 operations (from the same declarations as the OpenAPI document).
import type { ViewContext } from '../views/context.ts';
import { AppPage, PublicPage } from '../views/layout.tsx';
import type { ApiOperation } from './openapi.ts';

export function ApiDocsPage({ ctx, operations }: { ctx: ViewContext; operations: ApiOperation[] }) {
  const Page = ctx.user ? AppPage : PublicPage;
  return (
    <Page ctx={ctx} title="ProPart Hub API v1">
      <p>
        Authentication: <code>Authorization: Bearer pph_…</code> — an API key from your profile. Each key acts only as its agent,
        is limited to 60 requests a minute (HTTP 429 with <code>Retry-After</code>) and may be used from a browser only on the
        websites listed on the key. Errors are JSON: <code>{'{'}"error", "fields"?, "requestId"{'}'}</code>.
      </p>
      <p>OpenAPI 3 document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a></p>
      <table class="table table-sm" data-testid="api-operations">
        <thead><tr><th>Method</th><th>Path</th><th>Summary</th></tr></thead>
        <tbody>
          {operations.map((op) => (
            <tr><td><code>{op.method}</code></td><td><code>{op.url}</code></td><td>{op.summary}{op.description && <div class="small text-body-secondary">{op.description}</div>}</td></tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
