// Knowledge-base input rules: articles, categories, the search box.
import { z } from 'zod';

const blankToNull = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? null : typeof v === 'string' ? v.trim() : v);

export const ARTICLE_MAX = 50_000;

export const articleSchema = z.object({
  title: z.string('validation.required').trim().min(3, 'knowledge.validation.title').max(200, 'knowledge.validation.title'),
  category_id: z.preprocess(blankToNull, z.coerce.number('validation.choose').int('validation.choose').positive('validation.choose').max(2_147_483_647, 'validation.choose').nullable().default(null)),
  new_category: z.preprocess(blankToNull, z.string().min(2, 'knowledge.validation.categoryName').max(100, 'knowledge.validation.categoryName').nullable().default(null)),
  body: z.string('validation.required').refine((v) => v.trim().length > 0, 'validation.required').refine((v) => v.length <= ARTICLE_MAX, 'knowledge.validation.body'),
}).superRefine((a, ctx) => {
  if (a.category_id === null && a.new_category === null) ctx.addIssue({ code: 'custom', path: ['category_id'], message: 'knowledge.validation.chooseCategory' });
});
export type ArticleInput = z.output<typeof articleSchema>;

export const categorySchema = z.object({
  name: z.string('validation.required').trim().min(2, 'knowledge.validation.categoryName').max(100, 'knowledge.validation.categoryName'),
});

export const searchSchema = z.object({
  q: z.preprocess(blankToNull, z.string().max(100).nullable().default(null)).catch(null),
  category: z.preprocess(blankToNull, z.coerce.number().int().positive().max(2_147_483_647).nullable().default(null)).catch(null),
});
export type KnowledgeSearch = z.output<typeof searchSchema>;
