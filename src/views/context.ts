// What every page needs to render: the language, the signed-in user, the CSRF token, flash messages.
import type { Locale, Role } from '../db/schema.ts';
import type { MessageKey, Translate } from '../platform/i18n.ts';

export interface CurrentUser {
  id: number;
  username: string;
  displayName: string;
  email: string;
  role: Role;
  mustChangePassword: boolean;
}

export type FlashType = 'success' | 'info' | 'warning' | 'danger';
export interface Flash {
  type: FlashType;
  key: MessageKey;
  params?: Record<string, string | number>;
}

export interface ViewContext {
  t: Translate;
  locale: Locale;
  user: CurrentUser | null;
  csrfToken: string;
  flashes: Flash[];
  /** The current path, for marking the active navigation item and returning after a language switch. */
  path: string;
  requestId: string;
}

/**
 * What a part of a page rendered ahead and cached may depend on (renderFragment): no CSRF token, flash
 * message or request id, which belong to one request.
 */
export type FragmentContext = Pick<ViewContext, 't' | 'locale' | 'user'>;
