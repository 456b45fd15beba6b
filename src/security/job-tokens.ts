import { createHmac, timingSafeEqual } from 'node:crypto';

/** Which attempt of which job a workload token was minted for. */
export interface JobTokenClaim {
  readonly jobId: string;
  readonly attempt: number;
}

const PREFIX = 'titanjob_';
/**
 * `titanjob_<attempt>_<43 base64url chars of HMAC-SHA256>_<job id>`. The MAC has a fixed length,
 * so the job id (which may itself hold `_`) is whatever follows it.
 */
const TOKEN_PATTERN = /^titanjob_([1-9][0-9]{0,8})_([A-Za-z0-9_-]{43})_([A-Za-z0-9._-]{1,128})$/;

export function looksLikeJobToken(secret: string): boolean {
  return secret.startsWith(PREFIX);
}

/**
 * Workload tokens: each dispatched attempt gets a token of its own, an HMAC of (job id, attempt)
 * under a key the master keeps in its data dir. Nothing is stored per token: the master proves a
 * token by recomputing its MAC, and whether it still counts by looking at the job (it must be
 * running that attempt), so a token dies with its attempt, and survives a master restart with it.
 */
export class JobTokens {
  constructor(private readonly key: Buffer) {}

  mint(jobId: string, attempt: number): string {
    return `${PREFIX}${attempt}_${this.mac(jobId, attempt).toString('base64url')}_${jobId}`;
  }

  /** The claim a well-formed token with a valid MAC makes, or undefined. Constant time in the MAC. */
  verify(secret: string): JobTokenClaim | undefined {
    const match = TOKEN_PATTERN.exec(secret);
    if (match === null) return undefined;
    const attempt = Number(match[1]);
    const jobId = match[3]!;
    // Compared as the canonical text, not as decoded bytes: the last of 43 base64url characters
    // carries 2 unused bits, so 4 spellings decode to the same MAC and only one was minted.
    const given = Buffer.from(match[2]!, 'latin1');
    const expected = Buffer.from(this.mac(jobId, attempt).toString('base64url'), 'latin1');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return { jobId, attempt };
  }

  private mac(jobId: string, attempt: number): Buffer {
    return createHmac('sha256', this.key).update(`titan-job-token\n${jobId}\n${attempt}`).digest();
  }
}
