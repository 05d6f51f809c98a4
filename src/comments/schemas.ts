// Comment input rules: the text is normalised (line endings, control characters, outer blanks), then 1–3000 chars.
import { z } from 'zod';

export const COMMENT_MAX_LENGTH = 3000;
/** PostgreSQL `integer`: a bigger id would be a database error, not "not found". */
export const MAX_ID = 2_147_483_647;

// Browsers send textarea line breaks as CRLF and count them as one character; NUL cannot be stored in text.
const CONTROL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

export function normaliseCommentText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(CONTROL_CHARS, '').trim();
}

export const commentBody = z.string('validation.commentLength')
  .transform(normaliseCommentText)
  .pipe(z.string().min(1, 'validation.commentLength').max(COMMENT_MAX_LENGTH, 'validation.commentLength'));

export const commentBodySchema = z.object({ body: commentBody });

/** A positive database id from a URL or form field, or null when it is anything else. */
export function toId(value: unknown): number | null {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,9}$/.test(text)) return null;
  const id = Number(text);
  return id <= MAX_ID ? id : null;
}
