// Reading a multipart form (fields and files attached to the body by @fastify/multipart) and deciding
// whether an uploaded file may be kept: the verdict comes from its bytes, never its name or the browser.
import type { MessageKey } from '../platform/i18n.ts';
import { acceptFile, type SniffedType } from '../storage/sniff.ts';

/** What a person may upload as a document: PDF, JPEG, PNG, HEIC and DOCX, recognised from the bytes. */
export const DOCUMENT_TYPES = [
  'application/pdf', 'image/jpeg', 'image/png', 'image/heic',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
] as const;

/** For the file input's `accept` (a hint to the browser; the server decides from the bytes). */
export const DOCUMENT_ACCEPT = `.pdf,.jpg,.jpeg,.png,.heic,.docx,${DOCUMENT_TYPES.join(',')}`;

export interface UploadedFile {
  filename: string;
  data: Buffer;
  /** True when the part went past the size limit (the multipart parser stops reading and marks it). */
  truncated: boolean;
}

type Part = { type?: unknown; value?: unknown; filename?: unknown; _buf?: unknown; file?: { truncated?: unknown } };
const firstPart = (v: unknown): Part | undefined => (Array.isArray(v) ? v[0] : v) as Part | undefined;

/** The text fields of a multipart (or urlencoded) body as strings, for parsing and re-showing the form. */
export function formFields(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!body || typeof body !== 'object') return out;
  for (const [name, raw] of Object.entries(body)) {
    const part = firstPart(raw);
    if (typeof part === 'string') out[name] = part;
    else if (part && part.type === 'field' && typeof part.value === 'string') out[name] = part.value;
  }
  return out;
}

/** The file sent in the named field, if the body is multipart and the field is a file part. */
export function formFile(body: unknown, name: string): UploadedFile | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const part = firstPart((body as Record<string, unknown>)[name]);
  if (!part || part.type !== 'file' || !Buffer.isBuffer(part._buf)) return undefined;
  return { filename: typeof part.filename === 'string' ? part.filename : '', data: part._buf, truncated: part.file?.truncated === true };
}

export type UploadVerdict = { ok: true; type: SniffedType } | { ok: false; error: MessageKey };

/** Keep or refuse an uploaded file; `required` says whether no file at all is a mistake. */
export function checkUpload(file: UploadedFile | undefined, opts: { required: boolean }): UploadVerdict | null {
  // A file input left empty still sends a part: no name and no bytes.
  if (!file || (file.filename === '' && file.data.length === 0)) return opts.required ? { ok: false, error: 'documents.fileRequired' } : null;
  if (file.truncated) return { ok: false, error: 'documents.tooLarge' };
  if (file.data.length === 0) return { ok: false, error: 'documents.empty' };
  const type = acceptFile(file.data, DOCUMENT_TYPES);
  return type ? { ok: true, type } : { ok: false, error: 'documents.badType' };
}

/** "2.4 MB", "830 KB", "12 B" — the unit words come from the catalog. */
export function sizeParts(bytes: number): { key: 'documents.sizeB' | 'documents.sizeKb' | 'documents.sizeMb'; n: string } {
  if (bytes < 1024) return { key: 'documents.sizeB', n: String(bytes) };
  if (bytes < 1024 * 1024) return { key: 'documents.sizeKb', n: String(Math.round(bytes / 1024)) };
  return { key: 'documents.sizeMb', n: (bytes / (1024 * 1024)).toFixed(1) };
}

/**
 * Route config for a route taking files: an oversized file is cut at the limit and marked `truncated`
 * instead of failing the whole request, so the form can come back with its fields and a message.
 */
export const UPLOAD_ROUTE_CONFIG = { multipartOptions: { throwFileSizeLimit: false } as Record<string, unknown> };
