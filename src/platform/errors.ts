// One error hierarchy. Handlers throw these; the error handler (error-handler.ts) renders them.
import type { MessageKey } from './i18n.ts';

export type FieldErrors = Record<string, MessageKey>;

export class HttpError extends Error {
  readonly statusCode: number;
  readonly messageKey: MessageKey;
  constructor(statusCode: number, messageKey: MessageKey, message?: string) {
    super(message ?? messageKey);
    this.statusCode = statusCode;
    this.messageKey = messageKey;
  }
}

export class BadRequest extends HttpError {
  constructor(messageKey: MessageKey = 'error.badRequest') { super(400, messageKey); }
}
/** Not logged in: pages redirect to the login form, JSON answers 401. */
export class Unauthorized extends HttpError {
  constructor() { super(401, 'login.required'); }
}
export class Forbidden extends HttpError {
  constructor(messageKey: MessageKey = 'error.forbidden') { super(403, messageKey); }
}
export class NotFound extends HttpError {
  constructor() { super(404, 'error.notFound'); }
}
export class Conflict extends HttpError {
  constructor(messageKey: MessageKey) { super(409, messageKey); }
}
export class ValidationFailed extends HttpError {
  readonly fields: FieldErrors;
  constructor(fields: FieldErrors, messageKey: MessageKey = 'validation.formErrors') {
    super(400, messageKey);
    this.fields = fields;
  }
}
export class RateLimited extends HttpError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(429, 'error.rateLimited');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
export class Unavailable extends HttpError {
  constructor(messageKey: MessageKey = 'error.unavailable') { super(503, messageKey); }
}
