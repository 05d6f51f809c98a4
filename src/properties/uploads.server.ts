// Project photos and documents on the way in: read the multipart form, decide from the bytes what each
// file is, turn photos into two re-encoded WebP images (a 400 px thumbnail and a ≤1600 px picture, with
// the camera's metadata such as GPS dropped), and clean up storage objects no row points at any more.
import type { FastifyReply, FastifyRequest } from 'fastify';
import sharp from 'sharp';
import type { MessageKey } from '../platform/i18n.ts';
import { acceptFile, safeFilename, type SniffedType } from '../storage/sniff.ts';
import { DOCUMENT_TYPES, FULL_WIDTH, PHOTO_TYPES, THUMB_WIDTH } from './domain.ts';

export interface UploadedFile {
  filename: string;
  data: Buffer;
  /** The part went past the size limit: the parser stopped reading it (route config throwFileSizeLimit: false). */
  truncated: boolean;
}

export interface ReadForm {
  fields: Record<string, string>;
  files: Record<string, UploadedFile[]>;
}

type Part = { type?: unknown; value?: unknown; filename?: unknown; _buf?: unknown; file?: { truncated?: unknown } };

/** The fields and files of a multipart body (or the fields of an urlencoded one). Empty file inputs are left out. */
export function readForm(body: unknown): ReadForm {
  const out: ReadForm = { fields: {}, files: {} };
  if (!body || typeof body !== 'object') return out;
  for (const [name, raw] of Object.entries(body as Record<string, unknown>)) {
    for (const part of (Array.isArray(raw) ? raw : [raw]) as (Part | string)[]) {
      if (typeof part === 'string') {
        out.fields[name] ??= part;
      } else if (part?.type === 'field' && typeof part.value === 'string') {
        out.fields[name] ??= part.value;
      } else if (part?.type === 'file' && Buffer.isBuffer(part._buf)) {
        const filename = typeof part.filename === 'string' ? part.filename : '';
        // A file input left empty still sends a part: no name and no bytes.
        if (filename === '' && part._buf.length === 0) continue;
        (out.files[name] ??= []).push({ filename: safeFilename(filename), data: part._buf, truncated: part.file?.truncated === true });
      }
    }
  }
  return out;
}

/** A problem with one file, shown next to its input with the file's name. */
export interface FileProblem { filename: string; key: MessageKey; params?: Record<string, string | number> }

export interface ProcessedPhoto {
  originalName: string;
  full: Buffer;
  thumb: Buffer;
  width: number;
  height: number;
}

// A decompression bomb (a tiny file that decodes to gigapixels) is refused before it is decoded.
const MAX_INPUT_PIXELS = 50_000_000;

export async function processPhoto(file: UploadedFile, maxBytes: number): Promise<ProcessedPhoto | FileProblem> {
  const problem = (key: MessageKey): FileProblem => ({ filename: file.filename, key });
  if (file.truncated) return tooLarge(file, maxBytes);
  if (file.data.length === 0) return problem('property.upload.empty');
  if (!acceptFile(file.data, PHOTO_TYPES)) return problem('property.upload.notPhoto');
  try {
    // rotate() applies the EXIF orientation before the metadata is dropped.
    const image = sharp(file.data, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' }).rotate();
    const full = await image.clone().resize({ width: FULL_WIDTH, height: FULL_WIDTH, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 82 }).toBuffer({ resolveWithObject: true });
    const thumb = await image.clone().resize({ width: THUMB_WIDTH, height: THUMB_WIDTH, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 }).toBuffer();
    return { originalName: file.filename, full: full.data, thumb, width: full.info.width, height: full.info.height };
  } catch {
    return problem('property.upload.unreadablePhoto');
  }
}

export function isProblem(v: unknown): v is FileProblem {
  return !!v && typeof v === 'object' && 'key' in v && 'filename' in v;
}

export const megabytes = (bytes: number) => Math.round((bytes / (1024 * 1024)) * 10) / 10;
const tooLarge = (file: UploadedFile, maxBytes: number): FileProblem => ({ filename: file.filename, key: 'property.upload.tooLarge', params: { max: megabytes(maxBytes) } });

export function checkDocument(file: UploadedFile, maxBytes: number): { type: SniffedType } | FileProblem {
  if (file.truncated) return tooLarge(file, maxBytes);
  if (file.data.length === 0) return { filename: file.filename, key: 'property.upload.empty' };
  const type = acceptFile(file.data, DOCUMENT_TYPES);
  return type ? { type } : { filename: file.filename, key: 'property.upload.notDocument' };
}

/**
 * Once the response is out (the request's transaction committed or rolled back), deletes the given storage
 * objects that no photo or document row points at: files of deleted rows, and files written for rows that
 * a rollback undid. Stored first and cleaned after, a failure never leaves a row without its file.
 */
export function cleanUpAfterResponse(request: FastifyRequest, reply: FastifyReply, keys: string[]): void {
  const app = request.server;
  // `keys` is read when the response is out: callers may keep adding to it while they work.
  const run = async () => {
    if (keys.length === 0) return;
    try {
      const [photos, docs] = await Promise.all([
        app.db.selectFrom('property_photos').select(['storage_key', 'thumb_key'])
          .where((eb) => eb.or([eb('storage_key', 'in', keys), eb('thumb_key', 'in', keys)])).execute(),
        app.db.selectFrom('property_documents').select('storage_key').where('storage_key', 'in', keys).execute(),
      ]);
      const used = new Set([...photos.flatMap((p) => [p.storage_key, p.thumb_key]), ...docs.map((d) => d.storage_key)]);
      for (const key of keys.filter((k) => !used.has(k))) await app.storage.delete(key);
    } catch (err) {
      request.log.warn({ err }, 'could not remove unused property files from storage');
    }
  };
  // Not on 'close': a client gone mid-request must not race a commit still on its way (orphans are harmless).
  reply.raw.once('finish', () => void run());
}
