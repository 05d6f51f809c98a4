// Knowledge-base pages: the index (categories, search), an article, the admin's editor and categories.
import { formatDateTime } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { Field, FormErrorSummary, type FormState, SelectField } from '../views/forms.tsx';
import { AppPage, CsrfField } from '../views/layout.tsx';
import { TrustedBlock } from '../views/render.ts';
import type { ArticleDetail, ArticleListRow, CategoryRow } from './knowledge.server.ts';
import { plainExcerpt, type SafeHtml } from './markdown.ts';
import { ARTICLE_MAX, type KnowledgeSearch } from './schemas.ts';

/** The article's HTML, made safe by renderMarkdown() (markdown.ts): raw HTML escaped, unsafe links dropped. */
function ArticleBody({ html }: { html: SafeHtml }) {
  return <TrustedBlock class="article-body" data-testid="article-body" html={html} />;
}

export function KnowledgeIndexPage({ ctx, categories, articles, search }: { ctx: ViewContext; categories: CategoryRow[]; articles: ArticleListRow[]; search: KnowledgeSearch }) {
  const isAdmin = ctx.user?.role === 'admin';
  const actions = isAdmin ? (
    <div class="d-flex gap-2">
      <a href="/knowledge/categories" class="btn btn-sm btn-outline-secondary"><i class="bi bi-folder" aria-hidden="true"></i> <span class="btn-label">{ctx.t('knowledge.categories')}</span></a>
      <a href="/knowledge/new" class="btn btn-sm btn-primary" data-testid="new-article"><i class="bi bi-plus-lg" aria-hidden="true"></i> <span class="btn-label">{ctx.t('knowledge.new.title')}</span></a>
    </div>
  ) : undefined;
  const searching = !!search.q || !!search.category;
  const groups = categories.map((c) => ({ c, items: articles.filter((a) => a.category_id === c.id) })).filter((g) => g.items.length > 0);
  return (
    <AppPage ctx={ctx} title={ctx.t('knowledge.title')} actions={actions}>
      <form method="get" action="/knowledge" class="row g-2 mb-3" role="search" data-testid="knowledge-search">
        <div class="col-12 col-md">
          <label class="visually-hidden" for="knowledge-q">{ctx.t('knowledge.search')}</label>
          <input id="knowledge-q" name="q" type="search" class="form-control" maxLength={100} value={search.q ?? ''} placeholder={ctx.t('knowledge.searchPlaceholder')} />
        </div>
        <div class="col-8 col-md-3">
          <label class="visually-hidden" for="knowledge-category">{ctx.t('knowledge.field.category')}</label>
          <select id="knowledge-category" name="category" class="form-select">
            <option value="">{ctx.t('knowledge.allCategories')}</option>
            {categories.map((c) => <option value={String(c.id)} selected={search.category === c.id}>{c.name}</option>)}
          </select>
        </div>
        <div class="col-4 col-md-auto"><button type="submit" class="btn btn-primary w-100"><i class="bi bi-search" aria-hidden="true"></i> {ctx.t('knowledge.search')}</button></div>
      </form>
      {articles.length === 0 ? (
        <div class="text-center text-body-secondary py-5" data-testid="knowledge-empty">
          <i class="bi bi-book fs-1 d-block mb-2" aria-hidden="true"></i>
          {ctx.t(searching ? 'knowledge.noMatch' : 'knowledge.empty')}
        </div>
      ) : search.q ? (
        <ul class="list-group" data-testid="knowledge-results">
          {articles.map((a) => (
            <li class="list-group-item">
              <a href={`/knowledge/${a.id}`} class="fw-semibold">{a.title}</a> <span class="badge text-bg-light border fw-normal">{a.category}</span>
              <div class="small text-body-secondary">{plainExcerpt(a.body)}</div>
            </li>
          ))}
        </ul>
      ) : (
        <div class="row row-cols-1 row-cols-md-2 row-cols-xl-3 g-3" data-testid="knowledge-categories">
          {groups.map(({ c, items }) => (
            <section class="col"><div class="card h-100"><div class="card-body">
              <h2 class="h6"><i class="bi bi-folder2-open" aria-hidden="true"></i> {c.name}</h2>
              <ul class="list-unstyled mb-0">{items.map((a) => <li class="mb-1"><a href={`/knowledge/${a.id}`}>{a.title}</a></li>)}</ul>
            </div></div></section>
          ))}
        </div>
      )}
    </AppPage>
  );
}

export function ArticlePage({ ctx, article, html }: { ctx: ViewContext; article: ArticleDetail; html: SafeHtml }) {
  const actions = ctx.user?.role === 'admin' ? (
    <div class="d-flex gap-2">
      <a href={`/knowledge/${article.id}/edit`} class="btn btn-sm btn-outline-primary" data-testid="edit-article"><i class="bi bi-pencil" aria-hidden="true"></i> <span class="btn-label">{ctx.t('knowledge.edit')}</span></a>
      <form method="post" action={`/knowledge/${article.id}/delete`} data-confirm={ctx.t('knowledge.deleteConfirm')}>
        <CsrfField ctx={ctx} />
        <button type="submit" class="btn btn-sm btn-outline-danger" data-testid="delete-article"><i class="bi bi-trash" aria-hidden="true"></i> <span class="btn-label">{ctx.t('knowledge.delete')}</span></button>
      </form>
    </div>
  ) : undefined;
  return (
    <AppPage ctx={ctx} title={article.title} actions={actions}>
      <p class="small text-body-secondary">
        <a href={`/knowledge?category=${article.category_id}`} class="badge text-bg-light border fw-normal text-decoration-none">{article.category}</a>
        {' '}{ctx.t('knowledge.updated', { date: formatDateTime(ctx.locale, article.updated_at), name: article.author ?? '—' })}
      </p>
      <article class="card"><div class="card-body"><ArticleBody html={html} /></div></article>
      <p class="mt-4"><a href="/knowledge">← {ctx.t('knowledge.back')}</a></p>
    </AppPage>
  );
}

export function ArticleFormPage({ ctx, form, mode, articleId, categories, preview }: {
  ctx: ViewContext; form: FormState; mode: 'new' | 'edit'; articleId?: number; categories: CategoryRow[]; preview: SafeHtml | null;
}) {
  const bodyError = form.errors.body;
  return (
    <AppPage ctx={ctx} title={ctx.t(mode === 'new' ? 'knowledge.new.title' : 'knowledge.edit.title')}>
      <FormErrorSummary ctx={ctx} form={form} />
      <form method="post" action={mode === 'new' ? '/knowledge' : `/knowledge/${articleId}`} novalidate data-testid="article-form">
        <CsrfField ctx={ctx} />
        <button type="submit" class="visually-hidden" tabindex={-1} aria-hidden="true"></button>
        <Field ctx={ctx} form={form} name="title" label="knowledge.field.title" required maxLength={200} />
        <div class="row g-2">
          <div class="col-12 col-md-6">
            <SelectField ctx={ctx} form={form} name="category_id" label="knowledge.field.category" options={categories.map((c) => ({ value: String(c.id), label: c.name }))} />
          </div>
          <div class="col-12 col-md-6">
            <Field ctx={ctx} form={form} name="new_category" label="knowledge.field.newCategory" maxLength={100} help="knowledge.field.newCategoryHelp" />
          </div>
        </div>
        <div class="mb-3">
          <label for="f-body" class="form-label">{ctx.t('knowledge.field.body')} *</label>
          <textarea id="f-body" name="body" rows={16} maxLength={ARTICLE_MAX} class={`form-control font-monospace${bodyError ? ' is-invalid' : ''}`}
            aria-describedby={`f-body-help${bodyError ? ' f-body-error' : ''}`} aria-invalid={bodyError ? 'true' : undefined}>{form.values.body ?? ''}</textarea>
          <div id="f-body-help" class="form-text">{ctx.t('knowledge.field.bodyHelp')}</div>
          {bodyError && <div id="f-body-error" class="invalid-feedback" data-field-error="body">{ctx.t(bodyError)}</div>}
        </div>
        <div class="d-flex gap-2">
          <a href={mode === 'new' ? '/knowledge' : `/knowledge/${articleId}`} class="btn btn-outline-secondary">{ctx.t('common.cancel')}</a>
          <button type="submit" name="_action" value="preview" class="btn btn-outline-primary" data-testid="preview-article">{ctx.t('knowledge.preview')}</button>
          <button type="submit" class="btn btn-primary" data-testid="save-article">{ctx.t('knowledge.save')}</button>
        </div>
      </form>
      {preview && (
        <section class="card mt-4 border-info" data-testid="article-preview"><div class="card-body">
          <h2 class="h6 text-body-secondary">{ctx.t('knowledge.preview')}</h2>
          <ArticleBody html={preview} />
        </div></section>
      )}
    </AppPage>
  );
}

export function CategoriesPage({ ctx, categories, form }: { ctx: ViewContext; categories: CategoryRow[]; form: FormState }) {
  return (
    <AppPage ctx={ctx} title={ctx.t('knowledge.categories')}>
      <FormErrorSummary ctx={ctx} form={form} />
      <form method="post" action="/knowledge/categories" class="card card-body mb-3" novalidate data-testid="category-form">
        <CsrfField ctx={ctx} />
        <Field ctx={ctx} form={form} name="name" label="knowledge.field.categoryName" required maxLength={100} />
        <div><button type="submit" class="btn btn-primary">{ctx.t('knowledge.addCategory')}</button></div>
      </form>
      {categories.length === 0 ? <p class="text-body-secondary">{ctx.t('knowledge.noCategories')}</p> : (
        <ul class="list-group">
          {categories.map((c) => (
            <li class="list-group-item d-flex flex-wrap gap-2 align-items-center" data-testid="category-row">
              <form method="post" action={`/knowledge/categories/${c.id}`} class="d-flex gap-2 me-auto flex-grow-1">
                <CsrfField ctx={ctx} />
                <label class="visually-hidden" for={`category-${c.id}`}>{ctx.t('knowledge.field.categoryName')}</label>
                <input id={`category-${c.id}`} name="name" class="form-control form-control-sm" value={c.name} maxLength={100} required />
                <button type="submit" class="btn btn-sm btn-outline-primary text-nowrap">{ctx.t('knowledge.rename')}</button>
              </form>
              <span class="small text-body-secondary">{ctx.t('knowledge.articleCount', { n: c.articles })}</span>
              <form method="post" action={`/knowledge/categories/${c.id}/delete`} data-confirm={ctx.t('knowledge.deleteCategoryConfirm')}>
                <CsrfField ctx={ctx} />
                <button type="submit" class="btn btn-sm btn-outline-danger" disabled={c.articles > 0} title={c.articles > 0 ? ctx.t('knowledge.categoryNotEmpty') : undefined}>
                  <i class="bi bi-trash" aria-hidden="true"></i> {ctx.t('knowledge.delete')}
                </button>
              </form>
            </li>
          ))}
        </ul>
      )}
      <p class="mt-4"><a href="/knowledge">← {ctx.t('knowledge.back')}</a></p>
    </AppPage>
  );
}
