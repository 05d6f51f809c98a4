// The lead import's CSV reader: bytes in, header + rows out, or a CsvFileError the upload page can show.
// Pure (no I/O). Ukrainian Excel saves Windows-1251 with ';', Google Sheets UTF-8 with ',', Excel "CSV UTF-8" adds a BOM.
import { isUtf8 } from 'node:buffer';
import type { MessageKey } from '../platform/i18n.ts';

export type CsvEncoding = 'utf-8' | 'windows-1251';
export type CsvDelimiter = ',' | ';' | '\t';

export const IMPORT_MAX_BYTES = 10 * 1024 * 1024; // 10 MB
export const IMPORT_MAX_ROWS = 10_000; // data rows, header excluded
/** How many bytes at the start of a file are searched for NUL bytes (a text CSV has none). */
export const BINARY_SNIFF_BYTES = 8 * 1024;

export interface CsvFile {
  encoding: CsvEncoding;
  delimiter: CsvDelimiter;
  /** Trimmed; a blank header is '' (the mapping step shows "Column N"). */
  headers: string[];
  /** Data rows, each exactly headers.length cells (short rows padded with ''); fully blank lines skipped. */
  rows: string[][];
  /** lines[i] is the 1-based line of the file where rows[i] starts (quoted newlines make it differ from i + 2). */
  lines: number[];
}

export class CsvFileError extends Error {
  readonly key: MessageKey;
  readonly params: Record<string, string | number>;
  constructor(key: MessageKey, params: Record<string, string | number> = {}) {
    super(key);
    this.key = key;
    this.params = params;
  }
}

// Files people upload instead of a CSV; the XLSX (a ZIP) is by far the most common.
const BINARY_SIGNATURES: readonly (readonly number[])[] = [
  [0x50, 0x4b, 0x03, 0x04], // ZIP: .xlsx, .ods, .docx
  [0xd0, 0xcf, 0x11, 0xe0], // OLE: old .xls
  [0x25, 0x50, 0x44, 0x46], // %PDF
  [0x89, 0x50, 0x4e, 0x47], // PNG
  [0xff, 0xd8, 0xff], // JPEG
];

const utf8 = new TextDecoder('utf-8'); // drops a leading BOM
const cp1251 = new TextDecoder('windows-1251');

/** Decodes and parses; throws CsvFileError with a message key the page shows next to the file field. */
export function readCsv(bytes: Uint8Array, opts: { encoding?: CsvEncoding; delimiter?: CsvDelimiter } = {}): CsvFile {
  // The size comes first: an oversized upload is refused without reading a single byte of it.
  if (bytes.byteLength > IMPORT_MAX_BYTES) throw new CsvFileError('import.error.tooLarge', { max: '10 MB' });
  if (looksBinary(bytes)) throw new CsvFileError('import.error.notCsv');

  const encoding = opts.encoding ?? detectEncoding(bytes);
  if (encoding === 'utf-8' && !isUtf8(bytes)) throw new CsvFileError('import.error.encoding');
  const text = (encoding === 'utf-8' ? utf8 : cp1251).decode(bytes);
  const delimiter = opts.delimiter ?? detectDelimiter(text);

  let headers: string[] | null = null;
  const rows: string[][] = [];
  const lines: number[] = [];
  parseRecords(text, delimiter, (cells, line) => {
    if (cells.every((c) => c.trim() === '')) return; // blank lines, and Excel's ';;;;' rows
    if (!headers) {
      headers = cells.map((c) => c.trim());
      return;
    }
    if (rows.length === IMPORT_MAX_ROWS) throw new CsvFileError('import.error.tooManyRows', { max: IMPORT_MAX_ROWS });
    if (cells.length > headers.length) {
      throw new CsvFileError('import.error.columns', { line, expected: headers.length, found: cells.length });
    }
    while (cells.length < headers.length) cells.push('');
    rows.push(cells);
    lines.push(line);
  });
  if (!headers || rows.length === 0) throw new CsvFileError('import.error.empty');
  return { encoding, delimiter, headers, rows, lines };
}

/** 'utf-8' when the bytes are valid UTF-8 (with or without BOM), else 'windows-1251'. */
export function detectEncoding(bytes: Uint8Array): CsvEncoding {
  return isUtf8(bytes) ? 'utf-8' : 'windows-1251';
}

/** The most frequent of ';', tab and ',' outside quotes on the first non-blank line; ties go in that order. */
export function detectDelimiter(text: string): CsvDelimiter {
  const candidates: CsvDelimiter[] = [';', '\t', ','];
  let counts = [0, 0, 0];
  let blankLineCounts: number[] | null = null; // a file of ';;;' lines only still has a delimiter
  let inQuotes = false;
  let content = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      inQuotes = !inQuotes; // a doubled quote toggles twice
      content = true;
    } else if (inQuotes) {
      continue;
    } else if (ch === '\n' || ch === '\r') {
      if (content) break;
      if (!blankLineCounts && counts.some((c) => c > 0)) blankLineCounts = counts;
      counts = [0, 0, 0];
    } else {
      const k = candidates.indexOf(ch as CsvDelimiter);
      if (k >= 0) counts[k]!++;
      else if (ch.trim() !== '') content = true;
    }
  }
  if (!content && blankLineCounts) counts = blankLineCounts;
  const best = Math.max(...counts);
  return best === 0 ? ',' : candidates[counts.indexOf(best)]!;
}

function looksBinary(bytes: Uint8Array): boolean {
  if (BINARY_SIGNATURES.some((sig) => sig.every((b, i) => bytes[i] === b))) return true;
  return bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

const QUOTE = 34;
const CR = 13;
const LF = 10;

/**
 * RFC 4180: cells split by the delimiter, records by CRLF, LF or CR; a quoted cell may hold delimiters,
 * line breaks and doubled quotes. Calls visit(cells, line) per record, line being where the record starts.
 * A quote that never closes, or text right after a closing quote, is an error rather than a guess.
 */
function parseRecords(text: string, delimiter: CsvDelimiter, visit: (cells: string[], line: number) => void): void {
  const d = delimiter.charCodeAt(0);
  const n = text.length;
  let i = 0;
  let line = 1;
  let recordLine = 1;
  let cells: string[] = [];
  for (;;) {
    if (text.charCodeAt(i) === QUOTE) {
      const openLine = line;
      let from = i + 1;
      let doubled = false;
      let close: number;
      for (;;) {
        close = text.indexOf('"', from);
        if (close === -1) throw new CsvFileError('import.error.quotes', { line: openLine });
        line += lineBreaks(text, from, close);
        if (text.charCodeAt(close + 1) !== QUOTE) break;
        doubled = true;
        from = close + 2;
      }
      const cell = text.slice(i + 1, close);
      cells.push(doubled ? cell.split('""').join('"') : cell); // split/join: several times faster than replaceAll here
      i = close + 1;
      const next = text.charCodeAt(i);
      if (i < n && next !== d && next !== CR && next !== LF) throw new CsvFileError('import.error.quotes', { line });
    } else {
      let j = i;
      for (; j < n; j++) {
        const c = text.charCodeAt(j);
        if (c === d || c === CR || c === LF) break;
      }
      cells.push(text.slice(i, j));
      i = j;
    }

    if (i >= n) break;
    const c = text.charCodeAt(i);
    if (c === d) {
      i++;
      continue;
    }
    i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
    line++;
    visit(cells, recordLine);
    cells = [];
    recordLine = line;
    if (i >= n) return; // a final line break ends the last record; it does not start an empty one
  }
  visit(cells, recordLine);
}

function lineBreaks(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === LF) count++;
    else if (c === CR) {
      count++;
      if (text.charCodeAt(i + 1) === LF) i++;
    }
  }
  return count;
}
