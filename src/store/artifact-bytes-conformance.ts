import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { ErrorCode } from '../common/errors.js';
import type { ArtifactBytes } from './artifact-bytes.js';

/** One implementation under test, empty; `age` makes an artifact look last uploaded at `at`. */
export interface ArtifactBytesFixture {
  readonly bytes: ArtifactBytes;
  age(hash: string, at: Date): Promise<void>;
}

const NOTHING_USES = (): Promise<boolean> => Promise.resolve(false);
const HOUR_AGO = (): Date => new Date(Date.now() - 3_600_000);
const CUTOFF = (): number => Date.now() - 60_000;

/** What every artifact store does (files in the data dir, PostgreSQL's table): storing, reading, and retention's collection. */
export function runArtifactBytesConformance(name: string, make: (t: TestContext) => Promise<ArtifactBytesFixture>): void {
  async function uploadedAnHourAgo(fixture: ArtifactBytesFixture, text: string): Promise<string> {
    const hash = await fixture.bytes.put(Buffer.from(text));
    await fixture.age(hash, HOUR_AGO());
    return hash;
  }

  void describe(`${name} artifact bytes`, () => {
    void test('bytes are stored under their sha256 and read back; the same bytes twice are one artifact', async (t) => {
      const { bytes } = await make(t);
      const hash = await bytes.put(Buffer.from('echo hi\n'));
      assert.equal(hash, createHash('sha256').update('echo hi\n').digest('hex'));
      assert.equal(await bytes.put(Buffer.from('echo hi\n')), hash);
      assert.equal(bytes.has(hash), true);
      assert.equal(bytes.get(hash).toString(), 'echo hi\n');
    });

    void test('an unknown hash is not held and cannot be read; an address that is no sha256 is refused as such', async (t) => {
      const { bytes } = await make(t);
      assert.equal(bytes.has('e'.repeat(64)), false);
      assert.throws(() => bytes.get('e'.repeat(64)), { code: ErrorCode.UNKNOWN_ARTIFACT });
      assert.equal(bytes.has('../titan.db'), false);
      assert.throws(() => bytes.get('../titan.db'), { code: ErrorCode.INVALID_REQUEST });
    });

    void test('an old artifact nothing names is deleted, with its size; one something names stays', async (t) => {
      const fixture = await make(t);
      const { bytes } = fixture;
      const unnamed = await uploadedAnHourAgo(fixture, 'nobody uses me');
      const named = await uploadedAnHourAgo(fixture, 'a job runs me');
      const inUse = (hash: string): Promise<boolean> => Promise.resolve(hash === named);
      assert.deepEqual((await bytes.entries()).sort(), [unnamed, named].sort());
      assert.equal(await bytes.collect(unnamed, CUTOFF(), inUse), 'nobody uses me'.length);
      assert.equal(bytes.has(unnamed), false);
      assert.equal(await bytes.collect(named, CUTOFF(), inUse), null);
      assert.equal(bytes.get(named).toString(), 'a job runs me');
    });

    void test('an artifact uploaded after the cutoff stays, named or not: its submit may still be coming', async (t) => {
      const { bytes } = await make(t);
      const fresh = await bytes.put(Buffer.from('just uploaded'));
      assert.equal(await bytes.collect(fresh, CUTOFF(), NOTHING_USES), null);
      assert.equal(bytes.has(fresh), true);
    });

    void test('uploading the same bytes again restarts their grace', async (t) => {
      const fixture = await make(t);
      const hash = await uploadedAnHourAgo(fixture, 'uploaded twice');
      assert.equal(await fixture.bytes.put(Buffer.from('uploaded twice')), hash);
      assert.equal(await fixture.bytes.collect(hash, CUTOFF(), NOTHING_USES), null);
      assert.equal(fixture.bytes.has(hash), true);
    });

    void test('an artifact a request checks for or uploads while its in-use check is awaited stays: the request may be about to name it', async (t) => {
      const fixture = await make(t);
      const { bytes } = fixture;
      const checked = await uploadedAnHourAgo(fixture, 'checked by a submit');
      const uploaded = await uploadedAnHourAgo(fixture, 'uploaded again');
      const askedMeanwhile = (ask: () => unknown) => async (): Promise<boolean> => {
        await ask();
        return false;
      };
      assert.equal(
        await bytes.collect(
          checked,
          CUTOFF(),
          askedMeanwhile(() => bytes.has(checked)),
        ),
        null,
      );
      assert.equal(
        await bytes.collect(
          uploaded,
          CUTOFF(),
          askedMeanwhile(() => bytes.put(Buffer.from('uploaded again'))),
        ),
        null,
      );
      assert.equal(bytes.get(checked).toString(), 'checked by a submit');
      assert.equal(bytes.get(uploaded).toString(), 'uploaded again');
      // Asked for before the check, not during it: nothing keeps it.
      assert.equal(await bytes.collect(checked, CUTOFF(), NOTHING_USES), 'checked by a submit'.length);
    });
  });
}
