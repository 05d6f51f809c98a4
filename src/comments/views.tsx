// The comments block of a lead page, and the page that re-shows a comment that could not be saved.
// Plain HTML forms (no inline script, strict CSP): edit and reply open in <details>, delete asks via data-confirm.
import type { FieldErrors } from '../platform/errors.ts';
import { formatDateTime } from '../platform/i18n.ts';
import type { ViewContext } from '../views/context.ts';
import { AppPage, CsrfField } from '../views/layout.tsx';
import type { CommentEntry, CommentThread } from './comments.server.ts';
import { COMMENT_MAX_LENGTH } from './schemas.ts';
import { CommentText } from './text.tsx';

export type { CommentEntry, CommentThread } from './comments.server.ts';

export interface CommentsSectionProps {
  ctx: ViewContext;
  leadId: number;
  /** From listComments(db, leadId). */
  comments: CommentThread[];
  /** May edit and delete everyone's comments (admins). Authors can always change their own. */
  canModerate?: boolean;
}

const iso = (d: Date | string) => new Date(d).toISOString();

interface BodyFieldProps {
  ctx: ViewContext;
  id: string;
  value?: string;
  error?: FieldErrors[string];
  rows?: number;
  help?: boolean;
}

function BodyField({ ctx, id, value = '', error, rows = 3, help }: BodyFieldProps) {
  const describedBy = [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <>
      <label for={id} class="visually-hidden">{ctx.t('comment.placeholder')}</label>
      <textarea
        id={id} name="body" class={`form-control${error ? ' is-invalid' : ''}`} rows={rows} cols={80}
        maxLength={COMMENT_MAX_LENGTH} required placeholder={ctx.t('comment.placeholder')}
        aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy} value={value}
      />
      {error && <div id={`${id}-error`} class="invalid-feedback" data-field-error="body">{ctx.t(error)}</div>}
      {help && <div id={`${id}-help`} class="form-text">{ctx.t('comment.formatHelp')}</div>}
    </>
  );
}

function ReplyForm({ ctx, leadId, parentId }: { ctx: ViewContext; leadId: number; parentId: number }) {
  return (
    <details class="comment-reply">
      <summary class="btn btn-link btn-sm p-0">{ctx.t('comment.reply')}</summary>
      <form method="post" action={`/leads/${leadId}/comments`} class="mt-2" data-testid="comment-reply-form">
        <CsrfField ctx={ctx} />
        <input type="hidden" name="parent_id" value={String(parentId)} />
        <BodyField ctx={ctx} id={`comment-reply-${parentId}`} rows={2} />
        <button type="submit" class="btn btn-primary btn-sm mt-2">{ctx.t('comment.reply')}</button>
      </form>
    </details>
  );
}

function EditForm({ ctx, comment }: { ctx: ViewContext; comment: CommentEntry }) {
  return (
    <details class="comment-edit">
      <summary class="btn btn-link btn-sm p-0">{ctx.t('comment.edit')}</summary>
      <form method="post" action={`/comments/${comment.id}/edit`} class="mt-2" data-testid="comment-edit-form">
        <CsrfField ctx={ctx} />
        <BodyField ctx={ctx} id={`comment-edit-${comment.id}`} value={comment.body} />
        <button type="submit" class="btn btn-primary btn-sm mt-2">{ctx.t('comment.save')}</button>
      </form>
    </details>
  );
}

function DeleteForm({ ctx, comment }: { ctx: ViewContext; comment: CommentEntry }) {
  return (
    <form method="post" action={`/comments/${comment.id}/delete`} data-confirm={ctx.t('comment.deleteConfirm')} data-testid="comment-delete-form">
      <CsrfField ctx={ctx} />
      <button type="submit" class="btn btn-link btn-sm p-0 text-danger">{ctx.t('comment.delete')}</button>
    </form>
  );
}

interface ItemProps {
  ctx: ViewContext;
  leadId: number;
  comment: CommentEntry;
  replies?: CommentEntry[];
  canModerate: boolean;
}

function CommentItem({ ctx, leadId, comment, replies, canModerate }: ItemProps) {
  const canChange = canModerate || (comment.author_id !== null && comment.author_id === ctx.user?.id);
  const isTopLevel = replies !== undefined;
  return (
    <li id={`comment-${comment.id}`} class="comment mb-3" data-comment-id={String(comment.id)}>
      <div class="d-flex flex-wrap align-items-baseline gap-2 small">
        <strong class="comment-author">{comment.author_name ?? ctx.t('comment.unknownAuthor')}</strong>
        <time class="text-body-secondary" dateTime={iso(comment.created_at)}>{formatDateTime(ctx.locale, comment.created_at)}</time>
        {comment.edited && (
          <span class="text-body-secondary fst-italic" title={formatDateTime(ctx.locale, comment.updated_at)} data-testid="comment-edited">
            {ctx.t('comment.edited')}
          </span>
        )}
      </div>
      <CommentText text={comment.body} />
      {(isTopLevel || canChange) && (
        <div class="comment-actions d-flex flex-wrap align-items-start gap-3 mt-1">
          {isTopLevel && <ReplyForm ctx={ctx} leadId={leadId} parentId={comment.id} />}
          {canChange && <EditForm ctx={ctx} comment={comment} />}
          {canChange && <DeleteForm ctx={ctx} comment={comment} />}
        </div>
      )}
      {replies && replies.length > 0 && (
        <ol class="comment-replies list-unstyled ms-3 ms-md-4 ps-3 border-start mt-2">
          {replies.map((r) => <CommentItem ctx={ctx} leadId={leadId} comment={r} canModerate={canModerate} />)}
        </ol>
      )}
    </li>
  );
}

function AddForm({ ctx, leadId }: { ctx: ViewContext; leadId: number }) {
  return (
    <form method="post" action={`/leads/${leadId}/comments`} class="comment-form mt-3" data-testid="comment-add-form">
      <CsrfField ctx={ctx} />
      <BodyField ctx={ctx} id="comment-new" help />
      <button type="submit" class="btn btn-primary btn-sm mt-2">{ctx.t('comment.add')}</button>
    </form>
  );
}

/** The comment list and forms, for the lead page's "Коментарі" section (which supplies the heading and #comments). */
export function CommentsSection({ ctx, leadId, comments, canModerate = ctx.user?.role === 'admin' }: CommentsSectionProps) {
  return (
    <div class="comments" data-testid="comments">
      {comments.length === 0
        ? <p class="text-body-secondary" data-testid="comments-empty">{ctx.t('comment.empty')}</p>
        : (
          <ol class="comment-list list-unstyled mb-0">
            {comments.map((c) => <CommentItem ctx={ctx} leadId={leadId} comment={c} replies={c.replies} canModerate={canModerate} />)}
          </ol>
        )}
      <AddForm ctx={ctx} leadId={leadId} />
    </div>
  );
}

export interface CommentFormPageProps {
  ctx: ViewContext;
  /** Where the form posts: the add route or the edit route. */
  action: string;
  leadId: number;
  body: string;
  errors: FieldErrors;
  mode: 'add' | 'edit';
  /** The comment a reply answers; dropped when it is the problem (gone meanwhile), so the text can go in as a comment. */
  parentId?: number | null;
}

/** A comment that could not be saved, shown again with its text and the reason, ready to fix and resend. */
export function CommentFormPage({ ctx, action, leadId, body, errors, mode, parentId = null }: CommentFormPageProps) {
  const back = `/leads/${leadId}#comments`;
  return (
    <AppPage ctx={ctx} title={ctx.t('lead.section.comments')}>
      <form method="post" action={action} class="comment-form" data-testid="comment-retry-form">
        <CsrfField ctx={ctx} />
        {parentId !== null && parentId > 0 && !errors.parent_id && <input type="hidden" name="parent_id" value={String(parentId)} />}
        <div class="alert alert-danger" role="alert" data-testid="form-errors">{ctx.t(errors.body ?? errors.parent_id ?? 'validation.formErrors')}</div>
        <BodyField ctx={ctx} id="comment-retry" value={body} error={errors.body} rows={5} help />
        <div class="d-flex gap-2 mt-2">
          <button type="submit" class="btn btn-primary">{ctx.t(mode === 'add' ? 'comment.add' : 'comment.save')}</button>
          <a href={back} class="btn btn-outline-secondary">{ctx.t('common.cancel')}</a>
        </div>
      </form>
    </AppPage>
  );
}
