// Knowledge base data access. Everyone signed in reads; only admins write (routes check first).
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, KnowledgeArticle, KnowledgeCategory } from '../db/schema.ts';
import { NotFound, ValidationFailed } from '../platform/errors.ts';
import type { CurrentUser } from '../views/context.ts';
import type { ArticleInput, KnowledgeSearch } from './schemas.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export interface CategoryRow extends KnowledgeCategory { articles: number }

export async function listCategories(db: DbLike): Promise<CategoryRow[]> {
  const rows = await db.selectFrom('knowledge_categories as c')
    .select(['c.id', 'c.name', 'c.created_at', (eb) => eb.selectFrom('knowledge_articles as a').select((e) => e.fn.countAll<number>().as('n')).whereRef('a.category_id', '=', 'c.id').as('articles')])
    .orderBy(sql`lower(c.name)`).execute();
  return rows.map((r) => ({ ...r, articles: Number(r.articles ?? 0) }));
}

export interface ArticleListRow { id: number; title: string; category_id: number; category: string; body: string; updated_at: Date }

/** Articles by category and title; with a query, those whose title or text contains it, title matches first. */
export async function listArticles(db: DbLike, s: KnowledgeSearch): Promise<ArticleListRow[]> {
  let q = db.selectFrom('knowledge_articles as a').innerJoin('knowledge_categories as c', 'c.id', 'a.category_id')
    .select(['a.id', 'a.title', 'a.category_id', 'c.name as category', 'a.body', 'a.updated_at']);
  if (s.category) q = q.where('a.category_id', '=', s.category);
  if (s.q) {
    const pattern = `%${escapeLike(s.q.toLowerCase())}%`;
    q = q.where((eb) => eb.or([eb(sql`lower(a.title)`, 'like', pattern), eb(sql`lower(a.body)`, 'like', pattern)]))
      .orderBy(sql`case when lower(a.title) like ${pattern} then 0 else 1 end`).orderBy('a.updated_at', 'desc');
  } else {
    q = q.orderBy(sql`lower(c.name)`).orderBy(sql`lower(a.title)`);
  }
  return q.limit(300).execute();
}

export interface ArticleDetail extends KnowledgeArticle { category: string; author: string | null }

export async function findArticle(db: DbLike, id: number): Promise<ArticleDetail> {
  const row = await db.selectFrom('knowledge_articles as a').innerJoin('knowledge_categories as c', 'c.id', 'a.category_id')
    .leftJoin('users as u', 'u.id', 'a.updated_by')
    .selectAll('a').select(['c.name as category', 'u.display_name as author']).where('a.id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound();
  return row;
}

async function categoryByName(db: DbLike, name: string): Promise<KnowledgeCategory | undefined> {
  return db.selectFrom('knowledge_categories').selectAll().where(sql`lower(name)`, '=', name.toLowerCase()).executeTakeFirst();
}

export async function createCategory(db: DbLike, name: string): Promise<KnowledgeCategory> {
  if (await categoryByName(db, name)) throw new ValidationFailed({ name: 'knowledge.validation.categoryExists' });
  return db.insertInto('knowledge_categories').values({ name }).returningAll().executeTakeFirstOrThrow();
}

export async function renameCategory(db: DbLike, id: number, name: string): Promise<void> {
  const same = await categoryByName(db, name);
  if (same && same.id !== id) throw new ValidationFailed({ name: 'knowledge.validation.categoryExists' });
  const res = await db.updateTable('knowledge_categories').set({ name }).where('id', '=', id).executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) throw new NotFound();
}

/** Only an empty category can go: its articles are moved or deleted first. */
export async function deleteCategory(db: DbLike, id: number): Promise<void> {
  const cat = await db.selectFrom('knowledge_categories').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
  if (!cat) throw new NotFound();
  const used = await db.selectFrom('knowledge_articles').select('id').where('category_id', '=', id).limit(1).executeTakeFirst();
  if (used) throw new ValidationFailed({ _: 'knowledge.categoryNotEmpty' });
  await db.deleteFrom('knowledge_categories').where('id', '=', id).execute();
}

/** The article's category: a chosen one, or a new name (an existing category with that name is reused). */
async function resolveCategory(db: DbLike, input: ArticleInput): Promise<number> {
  if (input.new_category) {
    const existing = await categoryByName(db, input.new_category);
    return existing ? existing.id : (await db.insertInto('knowledge_categories').values({ name: input.new_category }).returning('id').executeTakeFirstOrThrow()).id;
  }
  const cat = await db.selectFrom('knowledge_categories').select('id').where('id', '=', input.category_id!).executeTakeFirst();
  if (!cat) throw new ValidationFailed({ category_id: 'knowledge.validation.chooseCategory' });
  return cat.id;
}

export async function createArticle(db: DbLike, user: CurrentUser, input: ArticleInput): Promise<KnowledgeArticle> {
  const category_id = await resolveCategory(db, input);
  return db.insertInto('knowledge_articles').values({ title: input.title, body: input.body, category_id, created_by: user.id, updated_by: user.id })
    .returningAll().executeTakeFirstOrThrow();
}

export async function updateArticle(db: DbLike, user: CurrentUser, id: number, input: ArticleInput): Promise<KnowledgeArticle> {
  await findArticle(db, id);
  const category_id = await resolveCategory(db, input);
  return db.updateTable('knowledge_articles').set({ title: input.title, body: input.body, category_id, updated_by: user.id, updated_at: sql`now()` })
    .where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteArticle(db: DbLike, id: number): Promise<void> {
  const res = await db.deleteFrom('knowledge_articles').where('id', '=', id).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw new NotFound();
}
