import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitShellWords } from './shell-words.js';

test('words split on whitespace and quotes group words like a shell, without expansion', () => {
  assert.deepEqual(splitShellWords(`  a  b\t'c d' "e \\"f\\" $HOME" g\\ h ''`), { ok: true, words: ['a', 'b', 'c d', 'e "f" $HOME', 'g h', ''] });
  assert.deepEqual(splitShellWords(`x'y'"z"`), { ok: true, words: ['xyz'] });
  assert.deepEqual(splitShellWords(''), { ok: true, words: [] });
});

test('an unterminated quote or trailing backslash is an error, not a guess', () => {
  assert.equal(splitShellWords(`a 'b`).ok, false);
  assert.equal(splitShellWords(`a "b`).ok, false);
  assert.equal(splitShellWords('a \\').ok, false);
});
