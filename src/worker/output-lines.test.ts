import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineBatcher, LineQuota, LineSplitter, TRUNCATED_MARK, type OutputLine } from './output-lines.js';

function split(chunks: Buffer[], maxChars = 10): string[] {
  const out: string[] = [];
  const splitter = new LineSplitter('stdout', maxChars, (l) => out.push(l.line));
  chunks.forEach((c, i) => splitter.push(c, i));
  splitter.end(chunks.length);
  return out;
}

test('a line cut across chunks, even inside a multi-byte character, comes out whole', () => {
  const bytes = Buffer.from('héllo\nwörld\n');
  assert.deepEqual(split([bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)]), ['héllo', 'wörld']);
});

test('CRLF endings lose their CR, empty lines are kept, and a last line without newline is delivered', () => {
  assert.deepEqual(split([Buffer.from('a\r\n\r\nb\nc')]), ['a', '', 'b', 'c']);
  assert.deepEqual(split([Buffer.from('a\r'), Buffer.from('\nb')]), ['a', 'b']);
});

test('a line longer than the cap is cut once and the rest of it dropped', () => {
  assert.deepEqual(split([Buffer.from('0123456789abc'), Buffer.from('def\nok\n')]), ['0123456789' + TRUNCATED_MARK, 'ok']);
  assert.deepEqual(split([Buffer.from('0123456789\r\n')]), ['0123456789']);
  assert.deepEqual(split([Buffer.from('0123456789x')]), ['0123456789' + TRUNCATED_MARK]);
});

test('a batch is delivered when full, and a partial batch after the delay', { timeout: 5_000 }, async () => {
  const batches: OutputLine[][] = [];
  let delivered: () => void = () => undefined;
  const late = new Promise<void>((resolve) => (delivered = resolve));
  const batcher = new LineBatcher(2, 10, (lines) => {
    batches.push(lines);
    if (batches.length === 2) delivered();
  });
  for (const line of ['a', 'b', 'c']) batcher.add({ stream: 'stdout', at: 0, line });
  assert.deepEqual(
    batches.map((b) => b.map((l) => l.line)),
    [['a', 'b']],
  );
  await late;
  assert.deepEqual(
    batches.map((b) => b.map((l) => l.line)),
    [['a', 'b'], ['c']],
  );
});

test('a line quota passes lines up to its byte cap, then a marker on stderr, then nothing', () => {
  const at = 1;
  {
    const quota = new LineQuota(10, 'CUT');
    assert.deepEqual(quota.admit([{ stream: 'stdout', at, line: 'abcd' }]), [{ stream: 'stdout', at, line: 'abcd' }]);
    // 'é' is two bytes: 5 + 3 + 1 = 9 fits, the next line does not.
    assert.deepEqual(
      quota.admit([
        { stream: 'stdout', at, line: 'é' },
        { stream: 'stdout', at, line: 'xy' },
      ]),
      [
        { stream: 'stdout', at, line: 'é' },
        { stream: 'stderr', at, line: 'CUT' },
      ],
    );
    assert.deepEqual(quota.admit([{ stream: 'stdout', at, line: '' }]), []);
  }
});
