// A page rendered ahead (PageTemplate) sent gzipped without compressing anything per request (decision 031).
//
// Each fixed part of the page is deflated once, on its own, and ends on a byte boundary; each place of the
// CSRF token is a stored (uncompressed) deflate block between them. One deflate stream may hold any
// sequence of blocks, so the parts and the token blocks joined are one valid stream, and a request only
// writes its token's bytes in and the gzip trailer's CRC-32 — combined from the parts' CRCs kept here and
// the token's, as zlib's crc32_combine does, instead of reading the whole page again. The token itself is
// never compressed: nothing in the response's size depends on it (BREACH).
import { constants, crc32, deflateRawSync } from 'node:zlib';

// RFC 1952: magic, deflate, no flags, no time, no extra flags, unknown operating system.
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
const LEVEL = 6;
const NOTHING = Buffer.alloc(0);

/** A gzip member of the fixed parts joined by a token of one length, and how to seal it for a token. */
export interface GzipLayout {
  /** The fixed bytes around each place of the token, in order: header, deflated parts, trailer. */
  readonly pieces: readonly Buffer[];
  /** Writes the gzip trailer's CRC-32 for this token (already written into its places). */
  seal(body: Buffer, token: string): void;
}

export function gzipLayout(parts: readonly Buffer[], tokenBytes: number): GzipLayout {
  if (tokenBytes > 0xffff) throw new Error('a token fits in one stored block');
  // A stored block that is not the last: 3 header bits (then padding to the byte), LEN and its complement.
  const stored = Buffer.from([0, tokenBytes & 0xff, tokenBytes >> 8, ~tokenBytes & 0xff, (~tokenBytes >> 8) & 0xff]);
  const last = parts.length - 1;
  const trailer = Buffer.alloc(8); // the CRC-32 is written per request; then the size, modulo 2^32
  trailer.writeUInt32LE((parts.reduce((sum, p) => sum + p.length, 0) + last * tokenBytes) % 2 ** 32, 4);
  const pieces = parts.map((part, i) => {
    // A sync flush ends the part's blocks on a byte boundary without ending the stream; the last part ends it.
    const deflated = deflateRawSync(part, { level: LEVEL, finishFlush: i < last ? constants.Z_SYNC_FLUSH : constants.Z_FINISH });
    return Buffer.concat([i === 0 ? HEADER : NOTHING, deflated, i < last ? stored : trailer]);
  });
  const partCrcs = parts.map((p) => crc32(p));
  const partShifts = parts.map((p) => crcShift(p.length));
  const tokenShift = crcShift(tokenBytes);
  return {
    pieces,
    seal(body: Buffer, token: string): void {
      const tokenCrc = crc32(token); // ASCII: its UTF-8 bytes are its characters
      let crc = partCrcs[0]!;
      for (let i = 1; i <= last; i++) {
        crc = crcCombine(crc, tokenCrc, tokenShift);
        crc = crcCombine(crc, partCrcs[i]!, partShifts[i]!);
      }
      body.writeUInt32LE(crc, body.length - 8);
    },
  };
}

// ---- CRC-32 of two joined byte strings from their CRCs (zlib's crc32_combine, in JavaScript) ----

const POLY = 0xedb88320; // CRC-32 as gzip uses it, bit-reversed

/** a × b modulo the CRC polynomial, both bit-reversed; a is never 0 here (a power of x). */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

// X2N[k] = x^(2^k) modulo the polynomial.
const X2N: number[] = [];
for (let k = 0, p = 1 << 30; k < 32; k++, p = multModP(p, p)) X2N.push(p);

/** x^(8 × bytes) modulo the polynomial: what moving a CRC past that many bytes multiplies it by. */
export function crcShift(bytes: number): number {
  let p = 0x80000000; // x^0
  for (let n = bytes, k = 3; n > 0; n = Math.floor(n / 2), k++) if (n % 2) p = multModP(X2N[k & 31]!, p);
  return p;
}

/** The CRC-32 of A followed by B, from A's, B's and crcShift(B's length). */
export function crcCombine(crcA: number, crcB: number, shiftB: number): number {
  return (multModP(shiftB, crcA) ^ crcB) >>> 0;
}

// ---- what the client takes ----

let lastHeader: string | undefined;
let lastAnswer = false;

/**
 * Whether an Accept-Encoding header takes gzip (RFC 9110 §12.5.3): "gzip" or "x-gzip" with a q above 0,
 * or else "*" with a q above 0. Browsers send the same header on every request: the last answer is kept.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  if (header === lastHeader) return lastAnswer;
  let named: boolean | undefined;
  let any = false;
  for (const item of header.split(',')) {
    const [coding = '', ...params] = item.split(';');
    const name = coding.trim().toLowerCase();
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const takes = q === undefined || Number(q.slice(2)) > 0;
    if (name === 'gzip' || name === 'x-gzip') named = (named ?? false) || takes;
    else if (name === '*') any = takes;
  }
  lastHeader = header;
  lastAnswer = named ?? any;
  return lastAnswer;
}
