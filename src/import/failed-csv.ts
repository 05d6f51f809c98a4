// "Download failed rows": the original cells of every row that was not imported, plus the line in the
// file and the reason — through csvCell, so a cell like =HYPERLINK(…) opens as text, never as a formula.
import { csvLine } from '../dashboard/csv.ts';
import type { ImportFailure } from '../db/schema.ts';
import { isMessageKey, type Translate } from '../platform/i18n.ts';
import { type ImportTarget, targetLabel } from './fields.ts';

export function reasonText(t: Translate, reasons: ImportFailure['reasons']): string {
  return reasons.map((r) => {
    const message = isMessageKey(r.key) ? t(r.key) : r.key;
    return r.field === '_' ? message : `${t(targetLabel(r.field as ImportTarget))}: ${message}`;
  }).join('; ');
}

/** The whole file as text, with a BOM so Excel reads it as UTF-8. */
export function failedRowsCsv(t: Translate, headers: string[], failures: ImportFailure[]): string {
  let out = `\uFEFF${csvLine([...headers, t('import.failedCsv.line'), t('import.failedCsv.reason')])}`;
  for (const f of failures) out += csvLine([...headers.map((_, i) => f.cells[i] ?? ''), f.line, reasonText(t, f.reasons)]);
  return out;
}

/** "leads.csv" → "leads_failed.csv". */
export function failedFilename(filename: string): string {
  const base = filename.replace(/\.(csv|txt)$/i, '') || 'import';
  return `${base}_failed.csv`;
}
