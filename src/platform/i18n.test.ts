import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDateTime } from './i18n.ts';

test('dates are shown in Kyiv time, per language, with or without the time, the same on every call', () => {
  const winter = new Date('2026-01-15T22:30:00Z'); // 00:30 on the 16th in Kyiv (UTC+2)
  const summer = new Date('2026-07-15T21:30:00Z'); // 00:30 on the 16th in Kyiv (UTC+3)
  for (let round = 0; round < 2; round++) {
    assert.match(formatDateTime('uk', winter), /^16 січня 2026.* 00:30$/);
    assert.match(formatDateTime('uk', summer), /^16 липня 2026.* 00:30$/);
    assert.match(formatDateTime('en', winter), /^16 January 2026.* 00:30$/);
    assert.equal(formatDateTime('uk', winter, false), '16 січня 2026 р.');
    assert.equal(formatDateTime('en', summer, false), '16 July 2026');
    assert.equal(formatDateTime('uk', winter.toISOString()), formatDateTime('uk', winter));
  }
  // A minute later is another text (the kept texts are per instant).
  assert.match(formatDateTime('uk', new Date(winter.getTime() + 60_000)), / 00:31$/);
  assert.equal(formatDateTime('uk', null), '');
  assert.equal(formatDateTime('uk', ''), '');
});
