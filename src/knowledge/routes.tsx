// Knowledge base: everyone signed in reads and searches; admins write articles (Markdown) and categories.
import { recordAudit } from '../audit/audit.server.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireAdmin, requireUser } from '../auth/guards.server.ts';
import { NotFound, ValidationFailed } from '../platform/errors.ts';
import { parseForm, typedValues } from '../platform/validation.ts';
import { emptyForm, type FormState } from '../views/forms.tsx';
import * as knowledge from './knowledge.server.ts';
import { renderMarkdown, type SafeHtml } from './markdown.ts';
import { articleSchema, categorySchema, searchSchema } from './schemas.ts';
import { ArticleFormPage, ArticlePage, CategoriesPage, KnowledgeIndexPage } from './views.tsx';

type IdParams = { Params: { id: string } };

function idParam(value: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) throw new NotFound();
  return id;
}

export async function knowledgeRoutes(app: FastifyInstance): Promise<void> {
  const renderForm = async (request: FastifyRequest, reply: FastifyReply, mode: 'new' | 'edit', form: FormState, opts: { status?: number; id?: number; preview?: SafeHtml | null } = {}) => {
    const categories = await knowledge.listCategories(request.db);
    return reply.view((ctx) => <ArticleFormPage ctx={ctx} form={form} mode={mode} articleId={opts.id} categories={categories} preview={opts.preview ?? null} />, opts.status);
  };

  app.get('/knowledge', async (request, reply) => {
    requireUser(request);
    const search = searchSchema.parse(request.query ?? {});
    const [categories, articles] = await Promise.all([knowledge.listCategories(request.db), knowledge.listArticles(request.db, search)]);
    return reply.view((ctx) => <KnowledgeIndexPage ctx={ctx} categories={categories} articles={articles} search={search} />);
  });

  app.get('/knowledge/new', async (request, reply) => {
    requireAdmin(request);
    const category = (request.query as { category?: string } | undefined)?.category;
    return renderForm(request, reply, 'new', emptyForm(category ? { category_id: category } : {}));
  });

  /** Save or preview: a preview re-shows the form with the rendered article and writes nothing. */
  async function save(request: FastifyRequest, reply: FastifyReply, mode: 'new' | 'edit', id?: number) {
    const admin = requireAdmin(request);
    if (id) await knowledge.findArticle(request.db, id);
    const body = (request.body ?? {}) as Record<string, unknown>;
    const values = typedValues(body, ['_action']);
    const parsed = parseForm(articleSchema, body);
    if (body._action === 'preview') {
      const preview = typeof body.body === 'string' ? renderMarkdown(body.body.slice(0, 60_000)) : null;
      return renderForm(request, reply, mode, { values, errors: {} }, { id, preview });
    }
    if (!parsed.ok) return renderForm(request, reply, mode, { values, errors: parsed.fields }, { status: 400, id });
    try {
      const article = mode === 'new' ? await knowledge.createArticle(request.db, admin, parsed.data) : await knowledge.updateArticle(request.db, admin, id!, parsed.data);
      request.log.info({ event: mode === 'new' ? 'article_created' : 'article_updated', articleId: article.id }, 'knowledge article saved');
      await recordAudit(request.db, request, { action: mode === 'new' ? 'article.create' : 'article.update', entityType: 'article', entityId: article.id, after: { title: parsed.data.title, category_id: parsed.data.category_id } });
      return reply.flash('success', mode === 'new' ? 'knowledge.created' : 'knowledge.saved').redirect(`/knowledge/${article.id}`, 303);
    } catch (err) {
      if (err instanceof ValidationFailed) return renderForm(request, reply, mode, { values, errors: err.fields }, { status: 400, id });
      throw err;
    }
  }

  app.post('/knowledge', async (request, reply) => save(request, reply, 'new'));

  app.get('/knowledge/categories', async (request, reply) => {
    requireAdmin(request);
    const categories = await knowledge.listCategories(request.db);
    return reply.view((ctx) => <CategoriesPage ctx={ctx} categories={categories} form={emptyForm()} />);
  });

  const categoryForm = async (request: FastifyRequest, reply: FastifyReply, write: (name: string) => Promise<unknown>) => {
    const values = typedValues(request.body);
    const parsed = parseForm(categorySchema, request.body);
    let errors = parsed.ok ? null : parsed.fields;
    if (parsed.ok) {
      try {
        await write(parsed.data.name);
      } catch (err) {
        if (!(err instanceof ValidationFailed)) throw err;
        errors = err.fields;
      }
    }
    if (errors) {
      const categories = await knowledge.listCategories(request.db);
      return reply.view((ctx) => <CategoriesPage ctx={ctx} categories={categories} form={{ values, errors }} />, 400);
    }
    return reply.flash('success', 'knowledge.categorySaved').redirect('/knowledge/categories', 303);
  };

  app.post('/knowledge/categories', async (request, reply) => {
    requireAdmin(request);
    return categoryForm(request, reply, (name) => knowledge.createCategory(request.db, name));
  });

  app.post<IdParams>('/knowledge/categories/:id', async (request, reply) => {
    requireAdmin(request);
    const id = idParam(request.params.id);
    return categoryForm(request, reply, (name) => knowledge.renameCategory(request.db, id, name));
  });

  app.post<IdParams>('/knowledge/categories/:id/delete', async (request, reply) => {
    requireAdmin(request);
    try {
      const categoryId = idParam(request.params.id);
      await knowledge.deleteCategory(request.db, categoryId);
      await recordAudit(request.db, request, { action: 'article_category.delete', entityType: 'article_category', entityId: categoryId });
    } catch (err) {
      if (!(err instanceof ValidationFailed)) throw err;
      return reply.flash('danger', 'knowledge.categoryNotEmpty').redirect('/knowledge/categories', 303);
    }
    return reply.flash('success', 'knowledge.categoryDeleted').redirect('/knowledge/categories', 303);
  });

  app.get<IdParams>('/knowledge/:id', async (request, reply) => {
    requireUser(request);
    const article = await knowledge.findArticle(request.db, idParam(request.params.id));
    const html = renderMarkdown(article.body);
    return reply.view((ctx) => <ArticlePage ctx={ctx} article={article} html={html} />);
  });

  app.get<IdParams>('/knowledge/:id/edit', async (request, reply) => {
    requireAdmin(request);
    const article = await knowledge.findArticle(request.db, idParam(request.params.id));
    return renderForm(request, reply, 'edit', emptyForm({ title: article.title, category_id: String(article.category_id), body: article.body }), { id: article.id });
  });

  app.post<IdParams>('/knowledge/:id', async (request, reply) => {
    requireAdmin(request);
    return save(request, reply, 'edit', idParam(request.params.id));
  });

  app.post<IdParams>('/knowledge/:id/delete', async (request, reply) => {
    requireAdmin(request);
    const articleId = idParam(request.params.id);
    await knowledge.deleteArticle(request.db, articleId);
    await recordAudit(request.db, request, { action: 'article.delete', entityType: 'article', entityId: articleId });
    return reply.flash('success', 'knowledge.deleted').redirect('/knowledge', 303);
  });
}
