import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkUpload, formFields, formFile, sizeParts } from './upload.ts';

const pdf = Buffer.from('%PDF-1.4\n% a small file\n', 'latin1');
const file = (filename: string, data: Buffer, truncated = false) => ({ filename, data, truncated });

test('an upload is kept or refused by its bytes, size and presence', () => {
  const cases: [ReturnType<typeof file> | undefined, boolean, string | null][] = [
    [undefined, true, 'documents.fileRequired'],
    [undefined, false, null],
    [file('', Buffer.alloc(0)), true, 'documents.fileRequired'],
    [file('', Buffer.alloc(0)), false, null],
    [file('empty.pdf', Buffer.alloc(0)), false, 'documents.empty'],
    [file('big.pdf', pdf, true), true, 'documents.tooLarge'],
    [file('page.pdf', Buffer.from('<html><script>alert(1)</script></html>')), true, 'documents.badType'],
    [file('photo.webp', Buffer.from('RIFF\0\0\0\0WEBPVP8 ')), true, 'documents.badType'],
    [file('scan.png', pdf), true, 'ok:application/pdf'],
  ];
  for (const [f, required, expected] of cases) {
    const v = checkUpload(f, { required });
    const got = v === null ? null : v.ok ? `ok:${v.type.mime}` : v.error;
    assert.equal(got, expected, `${f?.filename ?? 'none'} required=${required}`);
  }
});

test('multipart bodies: fields as strings, the first file part of a field', () => {
  const body = {
    _csrf: { type: 'field', value: 'tok' },
    description: { type: 'field', value: 'Паспорт' },
    plain: 'text',
    file: [{ type: 'file', filename: 'a.pdf', _buf: pdf, file: { truncated: true } }, { type: 'file', filename: 'b.pdf', _buf: pdf, file: {} }],
    fake: { type: 'field', value: 'not a file' },
  };
  assert.deepEqual(formFields(body), { _csrf: 'tok', description: 'Паспорт', plain: 'text', fake: 'not a file' }, 'file parts are left out');
  assert.deepEqual(formFile(body, 'file'), { filename: 'a.pdf', data: pdf, truncated: true });
  assert.equal(formFile(body, 'fake'), undefined, 'a text field is not a file');
  assert.equal(formFile(body, 'missing'), undefined);
  assert.equal(formFile({ file: { type: 'file', filename: 'x', _buf: 'nope' } }, 'file'), undefined);
  assert.equal(formFile(null, 'file'), undefined);
});

test('sizes', () => {
  assert.deepEqual(sizeParts(12), { key: 'documents.sizeB', n: '12' });
  assert.deepEqual(sizeParts(830 * 1024), { key: 'documents.sizeKb', n: '830' });
  assert.deepEqual(sizeParts(2.44 * 1024 * 1024), { key: 'documents.sizeMb', n: '2.4' });
});
