import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { checkMsgpackShape, DEFAULT_BODY_LIMITS, formatPath } from './body-limits.js';
import { parseJsonBody } from './json-body.js';

const RAISE = { depth: '--max-body-depth', entries: '--max-body-entries' };
const LIMITS = { maxDepth: 4, maxEntries: 10 };
const check = (value: unknown, limits = LIMITS): void => checkMsgpackShape(encode(value), limits, 'body', RAISE);
const checkBytes = (bytes: Uint8Array, limits = LIMITS): void => checkMsgpackShape(bytes, limits, 'body', RAISE);
const json = (text: string | Buffer, limits = LIMITS): unknown => parseJsonBody(Buffer.from(text), limits, { what: 'body', raise: RAISE });

test('a body within the limits passes, scalars, bytes and empty containers included', () => {
  for (const value of [null, 1, -1, 2 ** 40, 1.5, 'é', new Uint8Array(300), [], {}, { a: [1, { b: 'x' }] }]) check(value);
  assert.deepEqual(json('{"a":[1,{"b":"x"}],"s":"[[[[[[,,,,,,,,,,,"}'), { a: [1, { b: 'x' }], s: '[[[[[[,,,,,,,,,,,' });
});

test('nesting past maxDepth is refused naming where, before anything is built', () => {
  assert.throws(() => check({ a: [[[[1]]]] }), /nests arrays\/maps deeper than 4 levels \(at a\[0\]\[0\]\[0\]\); flatten the data or raise --max-body-depth/);
  assert.throws(() => checkBytes(Buffer.alloc(16 * 1024 * 1024, 0x91), DEFAULT_BODY_LIMITS), /deeper than 64 levels/);
  assert.throws(() => json('{"a":[[[[1]]]]}'), /deeper than 4 levels/);
});

test('more entries than maxEntries are refused from the declared lengths', () => {
  assert.throws(
    () => check({ a: Array.from({ length: 11 }, () => 0) }),
    /more than 10 array items and map entries; split it into smaller requests or raise --max-body-entries/,
  );
  const huge = Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]); // array32 declaring 4 billion items, no items
  assert.throws(() => checkBytes(huge), /more than 10 array items/);
  assert.throws(() => json(`[${'0,'.repeat(11)}0]`), /more than 10/);
});

test('invalid UTF-8 in a string is refused naming the field, in MessagePack and JSON', () => {
  // {"env": {"A": <"\xff" as a str>}}
  const bad = Buffer.from([0x81, 0xa3, 0x65, 0x6e, 0x76, 0x81, 0xa1, 0x41, 0xa1, 0xff]);
  assert.throws(() => checkBytes(bad), /body: env\.A is not valid UTF-8; send text as UTF-8/);
  const args = Buffer.from([0x81, 0xa4, 0x61, 0x72, 0x67, 0x73, 0x92, 0xa1, 0x61, 0xa2, 0xc3, 0x28]);
  assert.throws(() => checkBytes(args), /args\[1\] is not valid UTF-8/);
  assert.throws(() => json(Buffer.concat([Buffer.from('{"env":{"A":"'), Buffer.from([0xff]), Buffer.from('"}}')])), /body: env\.A is not valid UTF-8/);
});

test('a __proto__ key is refused with a true message; constructor and prototype are plain keys', () => {
  const proto = Buffer.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x01]);
  assert.throws(() => checkBytes(proto), /the key "__proto__" \(in the body\) is not accepted, it names the prototype/);
  assert.throws(() => json('{"env":{"__proto__":"x"}}'), /the key "__proto__" \(in env\) is not accepted/);
  assert.throws(() => json('{"env":{"\\u005f_proto__":"x"}}'), /"__proto__"/);
  check({ constructor: 'a', prototype: 'b' });
  const parsed = json('{"constructor":"a","prototype":"b"}') as Record<string, unknown>;
  assert.equal(Object.getOwnPropertyDescriptor(parsed, 'constructor')?.value, 'a');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('paths read the way a reader finds the field', () => {
  assert.equal(formatPath([]), 'the body');
  assert.equal(formatPath(['jobs', 3, 'args', 0]), 'jobs[3].args[0]');
});
