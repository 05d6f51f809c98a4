import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CsvDelimiter, type CsvEncoding, CsvFileError, detectDelimiter, detectEncoding, IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, readCsv,
} from './csv.ts';

// Test data only: Windows-1251 bytes for a string, built by inverting Node's own decoder.
const cp1251Table = new Map<string, number>();
const cp1251Decoder = new TextDecoder('windows-1251');
for (let b = 0; b < 256; b++) cp1251Table.set(cp1251Decoder.decode(new Uint8Array([b])), b);
function cp1251(text: string): Uint8Array {
  return Uint8Array.from([...text], (ch) => {
    const b = cp1251Table.get(ch);
    if (b === undefined) throw new Error(`not in Windows-1251: ${ch}`);
    return b;
  });
}
const utf8 = (text: string) => new TextEncoder().encode(text);
const BOM = [0xef, 0xbb, 0xbf];
const withBom = (text: string) => Uint8Array.from([...BOM, ...utf8(text)]);

/** The error key and params readCsv throws, or 'ok'. */
function failure(bytes: Uint8Array, opts?: { encoding?: CsvEncoding; delimiter?: CsvDelimiter }): string {
  try {
    readCsv(bytes, opts);
    return 'ok';
  } catch (err) {
    if (!(err instanceof CsvFileError)) throw err;
    return Object.keys(err.params).length ? `${err.key} ${JSON.stringify(err.params)}` : err.key;
  }
}

test('Ukrainian Excel: Windows-1251, ";", commas inside cells, CRLF', () => {
  const bytes = cp1251("Ім'я;Телефон;Адреса\r\nОлена Їжакевич;+380 67 123 45 67;Київ, вул. Січових Стрільців, 1\r\nҐанна Є.;0501234567;Львів, пл. Ринок\r\n");
  const csv = readCsv(bytes);
  assert.equal(csv.encoding, 'windows-1251');
  assert.equal(csv.delimiter, ';');
  assert.deepEqual(csv.headers, ["Ім'я", 'Телефон', 'Адреса']);
  assert.deepEqual(csv.rows, [
    ['Олена Їжакевич', '+380 67 123 45 67', 'Київ, вул. Січових Стрільців, 1'],
    ['Ґанна Є.', '0501234567', 'Львів, пл. Ринок'],
  ]);
  assert.deepEqual(csv.lines, [2, 3]);
});

test('Google Sheets: UTF-8 with ",", quoted cells with commas; Excel "CSV UTF-8": the BOM is dropped', () => {
  const text = 'Імʼя,Телефон,Нотатка\nОлена,+380671234567,"Хоче 2-кімн., Київ"\n';
  for (const bytes of [utf8(text), withBom(text)]) {
    const csv = readCsv(bytes);
    assert.equal(csv.encoding, 'utf-8');
    assert.equal(csv.delimiter, ',');
    assert.deepEqual(csv.headers, ['Імʼя', 'Телефон', 'Нотатка']);
    assert.deepEqual(csv.rows, [['Олена', '+380671234567', 'Хоче 2-кімн., Київ']]);
  }
  // A BOM left in the text would make the quoted first header an unquoted cell `\uFEFF"Імʼя"`.
  const quoted = readCsv(withBom('"Імʼя","Телефон"\r\n"Олена","+380671234567"\r\n'));
  assert.deepEqual(quoted.headers, ['Імʼя', 'Телефон']);
});

test('detectEncoding: valid UTF-8 (with or without BOM) is UTF-8, anything else Windows-1251', () => {
  const cases: [string, Uint8Array, CsvEncoding][] = [
    ['ascii', utf8('name,phone\n'), 'utf-8'],
    ['utf-8 cyrillic', utf8('Ім’я;Телефон'), 'utf-8'],
    ['utf-8 with BOM', withBom('Ім’я;Телефон'), 'utf-8'],
    ['cp1251 cyrillic', cp1251('Ім\'я;Телефон;Область'), 'windows-1251'],
    ['cp1251 single letter', cp1251('Ї'), 'windows-1251'],
    ['empty', new Uint8Array(0), 'utf-8'],
  ];
  for (const [name, bytes, expected] of cases) assert.equal(detectEncoding(bytes), expected, name);
});

test('a forced encoding is used: UTF-8 on Windows-1251 bytes is refused, Windows-1251 is decoded as asked', () => {
  const bytes = cp1251('Ім\'я;Телефон\nОлена;0671234567\n');
  assert.equal(failure(bytes, { encoding: 'utf-8' }), 'import.error.encoding');
  assert.equal(readCsv(bytes, { encoding: 'windows-1251' }).rows[0]?.[0], 'Олена');
  // The user's choice wins even over valid UTF-8: the page shows the preview and lets them switch back.
  const forced = readCsv(utf8('Ім\'я;Телефон\nОлена;0671234567\n'), { encoding: 'windows-1251' });
  assert.equal(forced.encoding, 'windows-1251');
  assert.equal(forced.rows[0]?.[0], 'РћР»РµРЅР°');
});

test('detectDelimiter: the most frequent of ";", tab, "," outside quotes on the first non-blank line', () => {
  const cases: [string, string, CsvDelimiter][] = [
    ['semicolons', 'a;b;c\n1,5;2;3', ';'],
    ['commas', 'a,b,c\n1;2;3', ','],
    ['tabs', 'a\tb\tc\n', '\t'],
    ['quoted semicolons do not count', '"a;b;c",d,e\n', ','],
    ['quoted commas do not count', '"Ім\'я, прізвище";"Телефон, основний";Email\n', ';'],
    ['a tie prefers ";" (Excel) over ","', 'Ім\'я, прізвище;Телефон\n', ';'],
    ['a blank first line and an empty Excel row are skipped', '\n;;;\nname,phone,email\n', ','],
    ['one column', 'phone\n0671234567\n', ','],
    ['only empty Excel rows', '\r\n;;;\r\n;;;\r\n', ';'],
  ];
  for (const [name, text, expected] of cases) assert.equal(detectDelimiter(text), expected, name);
});

test('a forced delimiter is used even when the header suggests another', () => {
  const csv = readCsv(utf8('a,b;c\n1,2;3\n'), { delimiter: ';' });
  assert.equal(csv.delimiter, ';');
  assert.deepEqual(csv.headers, ['a,b', 'c']);
  assert.deepEqual(csv.rows, [['1,2', '3']]);
});

test('RFC 4180: quoted delimiters, doubled quotes, newlines inside quotes, CRLF / LF / CR line ends', () => {
  const cases: [string, string, string[][], number[]][] = [
    ['LF', 'a,b\n1,2\n3,4\n', [['1', '2'], ['3', '4']], [2, 3]],
    ['CRLF', 'a,b\r\n1,2\r\n3,4\r\n', [['1', '2'], ['3', '4']], [2, 3]],
    ['CR (old Mac Excel)', 'a,b\r1,2\r3,4', [['1', '2'], ['3', '4']], [2, 3]],
    ['no final line break, empty last cell', 'a,b\n1,', [['1', '']], [2]],
    ['quoted delimiter', 'a,b\n"1,5",2\n', [['1,5', '2']], [2]],
    ['doubled quotes', 'a,b\n"ЖК ""Сонячний""",""""""\n', [['ЖК "Сонячний"', '""']], [2]],
    ['empty quoted cell', 'a,b\n"",x\n', [['', 'x']], [2]],
    ['newline in quotes moves the line numbers', 'a,b\n"рядок 1\nрядок 2\r\nрядок 3",x\ny,z\n', [['рядок 1\nрядок 2\r\nрядок 3', 'x'], ['y', 'z']], [2, 5]],
    ['quotes inside an unquoted cell are text', 'a;b\nТелевізор 55";x\n', [['Телевізор 55"', 'x']], [2]],
  ];
  for (const [name, text, rows, lines] of cases) {
    const csv = readCsv(utf8(text));
    assert.deepEqual(csv.rows, rows, name);
    assert.deepEqual(csv.lines, lines, name);
  }
});

test('broken quotes are refused with the line, never swallowing the rest of the file into one cell', () => {
  const cases: [string, string, number][] = [
    ['unterminated on the last line', 'a,b\n1,2\n"3,4\n', 3],
    ['unterminated in the middle', 'a;b\n1;2\n3;"Київ, вул. Хрещатик\n5;6\n7;8\n9;10\n', 3],
    ['text after a closing quote', 'a,b\n1,2\n"ab"c,d\n', 3],
    ['text after a closing quote on a later line of a multi-line cell', 'a,b\n"x\ny"z,1\n', 3],
    ['a quote alone', '"\n', 1],
    ['unterminated in the header', '"a,b\n1,2\n', 1],
  ];
  for (const [name, text, line] of cases) assert.equal(failure(utf8(text)), `import.error.quotes {"line":${line}}`, name);
});

test('an empty file, blank lines only, or a header without rows is "empty"', () => {
  const cases: [string, Uint8Array][] = [
    ['no bytes', new Uint8Array(0)],
    ['a BOM only', Uint8Array.from(BOM)],
    ['blank lines', utf8('\n\r\n  \n')],
    ['Excel empty rows', utf8(';;;\r\n;;;\r\n')],
    ['a header only', utf8('name;phone\r\n')],
    ['a header and blank lines', utf8('name;phone\r\n\r\n;\r\n')],
  ];
  for (const [name, bytes] of cases) assert.equal(failure(bytes), 'import.error.empty', name);
});

test('over 10 MB is refused by its length before a single byte is read', () => {
  assert.equal(failure(new Uint8Array(50 * 1024 * 1024)), 'import.error.tooLarge {"max":"10 MB"}');
  // A 50 MB "file" whose contents throw when touched: only its length may be looked at.
  const untouchable = new Proxy(new Uint8Array(0), {
    get(_target, prop) {
      if (prop === 'byteLength' || prop === 'length') return 50 * 1024 * 1024;
      throw new Error(`read ${String(prop)} before checking the size`);
    },
  });
  assert.equal(failure(untouchable), 'import.error.tooLarge {"max":"10 MB"}');

  const file = (size: number) => {
    const bytes = new Uint8Array(size).fill(0x78); // one 'x…' cell under a header
    bytes.set(utf8('note\n'), 0);
    return bytes;
  };
  assert.equal(failure(file(IMPORT_MAX_BYTES)), 'ok');
  assert.equal(failure(file(IMPORT_MAX_BYTES + 1)), 'import.error.tooLarge {"max":"10 MB"}');
});

test('binary files (XLSX/ZIP, XLS, PDF, PNG, JPEG, NUL bytes) are "not a CSV"', () => {
  const cases: [string, Uint8Array][] = [
    ['xlsx', Uint8Array.from([0x50, 0x4b, 0x03, 0x04, ...utf8('a,b\n1,2\n')])],
    ['xls', Uint8Array.from([0xd0, 0xcf, 0x11, 0xe0, ...utf8('a,b\n1,2\n')])],
    ['pdf', utf8('%PDF-1.7\na,b\n1,2\n')],
    ['png', Uint8Array.from([0x89, ...utf8('PNG\r\na,b\n1,2\n')])],
    ['jpeg', Uint8Array.from([0xff, 0xd8, 0xff, ...utf8('a,b\n1,2\n')])],
    ['UTF-16 text', Uint8Array.from([...utf8('a,b\n1,2\n')].flatMap((b) => [b, 0]))],
    ['a NUL late in the first 8 KB', Uint8Array.from([...utf8(`a,b\n${'1,2\n'.repeat(2000)}`), 0])],
  ];
  for (const [name, bytes] of cases) assert.equal(failure(bytes), 'import.error.notCsv', name);
});

test('a row with more cells than the header is refused; fewer cells are padded with ""', () => {
  assert.equal(failure(utf8('a;b;c\n1;2;3\n1;2;3;4\n')), 'import.error.columns {"line":3,"expected":3,"found":4}');
  // The usual cause: an unquoted comma shifting every later column.
  assert.equal(failure(utf8('name,address,phone\nОлена,Київ, вул. 1,\n')), 'import.error.columns {"line":2,"expected":3,"found":4}');
  const csv = readCsv(utf8('a;b;c\n1\n1;2\n'));
  assert.deepEqual(csv.rows, [['1', '', ''], ['1', '2', '']]);
});

test('10 000 data rows are read; the 10 001st is refused as soon as it is reached', () => {
  const rows = (n: number) => 'name;phone\n' + 'Олена;0671234567\n'.repeat(n);
  assert.equal(readCsv(utf8(rows(IMPORT_MAX_ROWS))).rows.length, IMPORT_MAX_ROWS);
  assert.equal(failure(utf8(rows(IMPORT_MAX_ROWS + 1))), 'import.error.tooManyRows {"max":10000}');
  // Parsing stops at the limit: the broken quote further down is never reached.
  assert.equal(failure(utf8(rows(IMPORT_MAX_ROWS + 1) + '"broken\n')), 'import.error.tooManyRows {"max":10000}');
  // Blank lines are not rows.
  assert.equal(readCsv(utf8(rows(IMPORT_MAX_ROWS) + '\n;\n\n')).rows.length, IMPORT_MAX_ROWS);
});

test('formulas come back as the literal text written, never interpreted', () => {
  const formulas = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", '@SUM(1)', '-2+3', '=1+1', "'=escaped"];
  // ';' file: the formulas written bare, as Ukrainian Excel does.
  const semi = readCsv(cp1251(`name;note\n${formulas.map((f) => `Олена;${f}`).join('\r\n')}\r\n`));
  assert.deepEqual(semi.rows.map((r) => r[1]), formulas);
  // ',' file: quoted, with doubled quotes.
  const comma = readCsv(utf8(`name,note\n${formulas.map((f) => `Олена,"${f.replaceAll('"', '""')}"`).join('\n')}\n`));
  assert.deepEqual(comma.rows.map((r) => r[1]), formulas);
});

test('headers are trimmed (blank ones become ""); cells are kept as written', () => {
  const csv = readCsv(utf8('  name ;; phone\t\n  Олена ; x ;  067 \n'));
  assert.deepEqual(csv.headers, ['name', '', 'phone']);
  assert.deepEqual(csv.rows, [['  Олена ', ' x ', '  067 ']]);
});

test('blank lines before the header and between rows are skipped; line numbers stay true to the file', () => {
  const csv = readCsv(utf8('\n\nname;phone\n\nОлена;1\n;\n  \nІван;2\n'));
  assert.deepEqual(csv.headers, ['name', 'phone']);
  assert.deepEqual(csv.rows, [['Олена', '1'], ['Іван', '2']]);
  assert.deepEqual(csv.lines, [5, 8]);
});

test('10 000 rows × 15 columns (~2 MB) parse well under a second; a huge quoted cell is not quadratic', () => {
  const header = Array.from({ length: 15 }, (_, i) => `Колонка ${i + 1}`).join(';');
  const row = Array.from({ length: 15 }, (_, i) => (i % 3 === 0 ? `"Київ; вул. ""Нова"", ${i}"` : `значення ${i}`)).join(';');
  const bytes = cp1251(`${header}\r\n${`${row}\r\n`.repeat(IMPORT_MAX_ROWS)}`);
  assert.ok(bytes.byteLength > 1.5 * 1024 * 1024);
  let started = performance.now();
  const csv = readCsv(bytes);
  assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
  assert.equal(csv.rows.length, IMPORT_MAX_ROWS);
  assert.equal(csv.rows[9999]?.[0], 'Київ; вул. "Нова", 0');

  const big = utf8(`note\n"${'a""'.repeat(1_000_000)}"\n`);
  started = performance.now();
  assert.equal(readCsv(big).rows[0]?.[0]?.length, 2_000_000);
  assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
});

test('CsvFileError carries the message key and its params', () => {
  const err = new CsvFileError('import.error.quotes', { line: 7 });
  assert.ok(err instanceof Error);
  assert.equal(err.message, 'import.error.quotes');
  assert.equal(err.key, 'import.error.quotes');
  assert.deepEqual(err.params, { line: 7 });
  assert.deepEqual(new CsvFileError('import.error.empty').params, {});
});
