// Private file storage: a folder outside any static root by default, any S3-compatible bucket when
// S3_BUCKET is set. Objects are stored under random keys; nothing here is ever publicly readable —
// files leave only through authorised routes that stream them.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config.ts';

export interface FileStorage {
  readonly kind: 'local' | 's3';
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /** A stream of the object's bytes; throws NotFoundInStorage when it is gone. */
  get(key: string): Promise<Readable>;
  delete(key: string): Promise<void>;
}

export class NotFoundInStorage extends Error {}

const KEY_RE = /^[a-z0-9][a-z0-9/_-]*\.[a-z0-9]{2,5}$/;

/** A fresh unguessable key such as `documents/12/3f9c…e1.pdf`. */
export function newKey(prefix: string, ext: string): string {
  return `${prefix}/${randomBytes(16).toString('hex')}.${ext}`;
}

function assertKey(key: string): void {
  if (!KEY_RE.test(key) || key.includes('..')) throw new Error('invalid storage key');
}

export class LocalStorage implements FileStorage {
  readonly kind = 'local' as const;
  private readonly root: string;
  constructor(root: string) {
    this.root = path.resolve(root);
  }
  private file(key: string): string {
    assertKey(key);
    return path.join(this.root, key);
  }
  async put(key: string, data: Buffer, _contentType?: string): Promise<void> {
    const f = this.file(key);
    await mkdir(path.dirname(f), { recursive: true, mode: 0o700 });
    await writeFile(f, data, { mode: 0o600 });
  }
  async get(key: string): Promise<Readable> {
    const f = this.file(key);
    try {
      await stat(f);
    } catch {
      throw new NotFoundInStorage(key);
    }
    return createReadStream(f);
  }
  async delete(key: string): Promise<void> {
    await rm(this.file(key), { force: true });
  }
}

export class S3Storage implements FileStorage {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;
  constructor(cfg: NonNullable<Config['storage']['s3']>) {
    this.bucket = cfg.bucket;
    this.client = new S3Client({
      region: cfg.region,
      ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
      forcePathStyle: cfg.forcePathStyle,
      // Plain signed bodies: many S3-compatible services do not accept the SDK's default checksum trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(cfg.accessKeyId && cfg.secretAccessKey ? { credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } } : {}),
    });
  }
  async put(key: string, data: Buffer, contentType: string): Promise<void> {
    assertKey(key);
    // No ACL: objects stay private (bucket default); the app streams them to authorised users only.
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentType: contentType }));
  }
  async get(key: string): Promise<Readable> {
    assertKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return res.Body as Readable;
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') throw new NotFoundInStorage(key);
      throw err;
    }
  }
  async delete(key: string): Promise<void> {
    assertKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}

export function createStorage(cfg: Config['storage']): FileStorage {
  return cfg.s3 ? new S3Storage(cfg.s3) : new LocalStorage(cfg.dir);
}

export { Readable };
