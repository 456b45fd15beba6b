import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TitanClient } from '../src/sdk/client.js';
import { Cluster, MAIN, TOKEN, codeOf, until } from './harness.js';

const TITAN = `"${process.execPath}" "${MAIN}"`;

function logText(lines: readonly { line: string }[]): string {
  return lines.map((l) => l.line).join('\n');
}

describe("a job's own token (TITAN_TOKEN inside the job)", () => {
  const cluster = new Cluster();
  const tokens: Record<string, string> = {};
  const as = (name: string): Promise<TitanClient> => cluster.clientWith(tokens[name]!);
  const logsOf = async (client: TitanClient, jobId: string): Promise<string> => {
    const lines: { line: string }[] = [];
    await client.logs(jobId, (batch) => lines.push(...batch));
    return logText(lines);
  };

  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('w1');
    for (const [name, role, namespace] of [
      ['team', 'operator', 'team-a'],
      ['boss', 'admin'],
    ] as const)
      tokens[name] = await cluster.apiToken(name, role, namespace);
  });
  after(() => cluster.close());

  test('acts for its submitter inside their namespace, as an operator at most, and is never the cluster token', async () => {
    const team = await as('team');
    const tokenFile = join(cluster.dir, 'team-job-token');
    const script = [
      `[ "$TITAN_TOKEN" = "${TOKEN}" ] && echo "cluster-token-leaked"`,
      `printf %s "$TITAN_TOKEN" > "${tokenFile}"`,
      `${TITAN} whoami --json | tr -d '\\n'; echo`,
      `${TITAN} token create --role viewer --name sneaky >/dev/null 2>&1; echo "token-create-exit=$?"`,
      `${TITAN} kv put team-a.from-job yes >/dev/null; echo "kv-inside-exit=$?"`,
      `${TITAN} kv put elsewhere no >/dev/null 2>&1; echo "kv-outside-exit=$?"`,
      `${TITAN} run --json 'echo child' | tr -d '\\n'; echo`,
    ].join('\n');
    const { jobId } = await team.submit({ command: script });
    assert.match(jobId, /^team-a\./);
    assert.equal((await team.wait(jobId, 60_000)).state, 'succeeded');
    const out = await logsOf(team, jobId);
    assert.doesNotMatch(out, /cluster-token-leaked/);
    const whoami = JSON.parse(out.split('\n').find((l) => l.includes('"permissions"'))!) as {
      kind: string;
      name: string;
      role: string;
      namespace: string | null;
    };
    assert.deepEqual(
      { kind: whoami.kind, name: whoami.name, role: whoami.role, namespace: whoami.namespace },
      { kind: 'job', name: `team/job:${jobId}`, role: 'operator', namespace: 'team-a' },
    );
    assert.match(out, /token-create-exit=5/);
    assert.match(out, /kv-inside-exit=0/);
    assert.match(out, /kv-outside-exit=5/);
    const child = JSON.parse(out.split('\n').find((l) => l.includes('"jobId"'))!) as { jobId: string };
    assert.match(child.jobId, /^team-a\./, 'a job submitted by a namespaced job lands in the namespace');
    const finishedChild = await team.wait(child.jobId, 30_000);
    assert.equal(finishedChild.state, 'succeeded');
    assert.equal(finishedChild.submittedBy, 'team', "the child acts for the job's submitter, not for the job");
    assert.equal((await team.status(jobId)).submittedBy, 'team');
    assert.equal(await team.kv.get('team-a.from-job'), 'yes');

    // The attempt is over, so its token no longer opens a connection.
    const spent = readFileSync(tokenFile, 'utf8');
    assert.match(spent, /^titanjob_1_/);
    assert.equal(await codeOf(TitanClient.connect({ host: '127.0.0.1', port: cluster.port, token: spent })), 'E_UNAUTHENTICATED');
    const http = await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/whoami`, { headers: { authorization: `Bearer ${spent}` } });
    assert.equal(http.status, 401);
  });

  test("an admin's job is an operator: it submits but mints no tokens and reads no audit", async () => {
    const boss = await as('boss');
    const { jobId } = await boss.submit({
      command: [
        `${TITAN} whoami --json`,
        `${TITAN} audit >/dev/null 2>&1; echo "audit-exit=$?"`,
        `${TITAN} token create --role admin --name escalated >/dev/null 2>&1; echo "token-create-exit=$?"`,
      ].join('\n'),
    });
    assert.equal((await boss.wait(jobId, 60_000)).state, 'succeeded');
    const out = await logsOf(boss, jobId);
    assert.match(out, /"kind": "job",\s+"name": "boss\/job:[^"]+",\s+"role": "operator"/);
    assert.match(out, /audit-exit=5/);
    assert.match(out, /token-create-exit=5/);
    assert.equal(
      (await boss.security.listTokens()).some((t) => t.name === 'escalated'),
      false,
    );
  });

  test("while it runs, the token works over TCP and HTTP; revoking the submitter's token cuts it off at once", async () => {
    const out = await cluster.cli(['token', 'create', '--role', 'operator', '--name', 'short-lived', '--json']);
    tokens['short-lived'] = (JSON.parse(out.stdout) as { token: string }).token;
    const shortLived = await as('short-lived');
    const tokenFile = join(cluster.dir, 'running-job-token');
    const { jobId } = await shortLived.submit({ command: `printf %s "$TITAN_TOKEN" > "${tokenFile}.tmp" && mv "${tokenFile}.tmp" "${tokenFile}" && sleep 60` });
    const live = await until('the job to write its token', async () => {
      try {
        return readFileSync(tokenFile, 'utf8');
      } catch {
        return undefined;
      }
    });
    const asJob = await cluster.clientWith(live);
    assert.equal((await asJob.security.whoami()).name, `short-lived/job:${jobId}`);
    const http = await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${live}` } });
    assert.equal(http.status, 200);

    const revoked = await cluster.cli(['token', 'revoke', 'short-lived']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(await codeOf(asJob.stats()), 'E_UNAUTHENTICATED');
    assert.equal(await codeOf(TitanClient.connect({ host: '127.0.0.1', port: cluster.port, token: live })), 'E_UNAUTHENTICATED');
    const admin = await cluster.client();
    assert.equal((await admin.cancel(jobId)).state, 'cancelled');
  });

  test('a forged or altered job token is refused', async () => {
    const admin = await cluster.client();
    const { jobId } = await admin.submit({ command: 'sleep 30' });
    await until('the job to run', async () => (await admin.status(jobId)).state === 'running');
    const forged = `titanjob_1_${'A'.repeat(43)}_${jobId}`;
    assert.equal(await codeOf(TitanClient.connect({ host: '127.0.0.1', port: cluster.port, token: forged })), 'E_UNAUTHENTICATED');
    await admin.cancel(jobId);
  });
});
