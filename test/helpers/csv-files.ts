// CSV files for the import tests: Windows-1251 bytes as Excel saves them, and files of n valid leads.

/** Windows-1251 bytes of a text (Cyrillic, Latin and ASCII punctuation only). */
export function cp1251(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c >= 0x410 && c <= 0x44f) out.push(c - 0x410 + 0xc0);
    else {
      const extra: Record<string, number> = { 'Ё': 0xa8, 'ё': 0xb8, 'Є': 0xaa, 'є': 0xba, 'І': 0xb2, 'і': 0xb3, 'Ї': 0xaf, 'ї': 0xbf, 'Ґ': 0xa5, 'ґ': 0xb4, '’': 0x92, '–': 0x96, '—': 0x97, '«': 0xab, '»': 0xbb };
      const b = extra[ch];
      if (b === undefined) throw new Error(`no Windows-1251 byte for ${ch}`);
      out.push(b);
    }
  }
  return Buffer.from(out);
}

/** A file of n valid leads, phones +38050<7 digits from `start`>. */
export function leadsCsv(n: number, opts: { start?: number; name?: (i: number) => string; delimiter?: string } = {}): string {
  const d = opts.delimiter ?? ',';
  const lines = [['Клієнт', 'Телефон', 'Email', 'Бюджет', 'Країна'].join(d)];
  for (let i = 0; i < n; i++) {
    const k = (opts.start ?? 1_000_000) + i;
    lines.push([opts.name?.(i) ?? `Клієнт ${k}`, `+38050${k}`, `client${k}@example.com`, '200к–500к', 'Дубай'].join(d));
  }
  return `${lines.join('\r\n')}\r\n`;
}
