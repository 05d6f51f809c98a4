import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { acceptFile, attachmentHeader, safeFilename, sniff } from './sniff.ts';
import { LocalStorage, newKey, NotFoundInStorage } from './storage.server.ts';

const pad = (head: number[] | string) => Buffer.concat([typeof head === 'string' ? Buffer.from(head, 'latin1') : Buffer.from(head), Buffer.alloc(64)]);

test('types are recognised from their bytes, not their names', () => {
  assert.equal(sniff(pad('%PDF-1.7'))?.mime, 'application/pdf');
  assert.equal(sniff(pad([0xff, 0xd8, 0xff, 0xe0]))?.mime, 'image/jpeg');
  assert.equal(sniff(pad([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))?.mime, 'image/png');
  assert.equal(sniff(pad('\0\0\0\x18ftypheic'))?.mime, 'image/heic');
  assert.equal(sniff(pad('PK\x03\x04....[Content_Types].xml....word/document.xml'))?.ext, 'docx');
  assert.equal(sniff(pad('PK\x03\x04....[Content_Types].xml....xl/workbook.xml')), null, 'a spreadsheet is not a DOCX');
  assert.equal(sniff(pad('<html><script>alert(1)</script>')), null);
  assert.equal(sniff(pad('MZ\x90\x00')), null, 'an executable renamed to .pdf is refused');
  assert.equal(acceptFile(pad('%PDF-1.4'), ['image/png']), null);
});

test('file names are made safe for headers and display', () => {
  assert.equal(safeFilename('../../etc/passwd'), 'passwd');
  assert.equal(safeFilename('C:\\x\\Паспорт "скан".pdf'), 'Паспорт скан.pdf');
  const h = attachmentHeader('Договір №1.pdf');
  assert.match(h, /^attachment; filename="Dogovir|^attachment; filename="_+/);
  assert.match(h, /filename\*=UTF-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D1%96%D1%80/);
});

test('local storage keeps files under random keys and refuses path tricks', async () => {
  const s = new LocalStorage(mkdtempSync(path.join(tmpdir(), 'propart-store-')));
  const key = newKey('documents/7', 'pdf');
  assert.match(key, /^documents\/7\/[0-9a-f]{32}\.pdf$/);
  await s.put(key, Buffer.from('%PDF-1.4 hello'), 'application/pdf');
  const chunks: Buffer[] = [];
  for await (const c of await s.get(key)) chunks.push(c as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), '%PDF-1.4 hello');
  await s.delete(key);
  await assert.rejects(s.get(key), NotFoundInStorage);
  await assert.rejects(s.put('../escape.pdf', Buffer.from('x'), 'application/pdf'), /invalid storage key/);
});
