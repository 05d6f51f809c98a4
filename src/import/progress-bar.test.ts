import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTerminalProgress, renderProgressBar } from './progress-bar.ts';

test('renderProgressBar: bar, percent and counts', () => {
  const cases: [number, number, number | undefined, string][] = [
    [3300, 10000, undefined, '[##########--------------------]  33% 3300/10000'],
    [0, 10000, undefined, '[------------------------------]   0% 0/10000'],
    [10000, 10000, undefined, '[##############################] 100% 10000/10000'],
    [9999, 10000, undefined, '[#############################-]  99% 9999/10000'], // full only when done
    [1, 2, 10, '[#####-----]  50% 1/2'],
    [0, 0, 10, '[##########] 100% 0/0'], // nothing to do is done
    [12, 10, 10, '[##########] 100% 12/10'],
  ];
  for (const [done, total, width, expected] of cases) assert.equal(renderProgressBar(done, total, width), expected, `${done}/${total}`);
});

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = { isTTY, write: (chunk: string) => (writes.push(chunk), true) } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

test('on a terminal every update redraws the same line with \\r; finish ends the line', () => {
  const { stream, writes } = fakeStream(true);
  const progress = createTerminalProgress(stream);
  progress.update(1, 4);
  progress.update(2, 4);
  progress.update(4, 4);
  progress.finish();
  assert.deepEqual(writes, [
    `\r${renderProgressBar(1, 4)}`,
    `\r${renderProgressBar(2, 4)}`,
    `\r${renderProgressBar(4, 4)}`,
    '\n',
  ]);
});

test('in a log (not a TTY) a line is printed at most every 10 %, and the final state once', () => {
  const { stream, writes } = fakeStream(false);
  const progress = createTerminalProgress(stream);
  for (let done = 0; done <= 9995; done += 5) progress.update(done, 10000);
  progress.finish();
  assert.equal(writes.length, 11, writes.join(''));
  assert.ok(writes.every((w) => w.endsWith('\n') && !w.includes('\r')));
  assert.equal(writes[0], `${renderProgressBar(0, 10000)}\n`);
  assert.equal(writes[9], `${renderProgressBar(9000, 10000)}\n`);
  assert.equal(writes[10], `${renderProgressBar(9995, 10000)}\n`); // finish shows where it stopped

  const done = fakeStream(false);
  const complete = createTerminalProgress(done.stream);
  for (let n = 1; n <= 100; n++) complete.update(n, 100);
  complete.finish();
  assert.equal(done.writes.length, 11); // the first update, then 10 %, 20 %, … 100 %; finish adds nothing new
  assert.equal(done.writes[0], `${renderProgressBar(1, 100)}\n`);
  assert.equal(done.writes.at(-1), `${renderProgressBar(100, 100)}\n`);
});
