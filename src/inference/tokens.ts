import { SignJWT, errors, importSPKI, jwtVerify, type CryptoKey } from 'jose';

export const TOKEN_ISSUER = 'titan-master';

export interface TokenGrant {
  /** The client the token is for (subject). */
  readonly clientId: string;
  /** The agent that may accept it (audience). */
  readonly agentId: string;
  readonly model: string;
  readonly jti: string;
  readonly ttlSeconds: number;
}

/** Signs the short-lived token a client presents to the chosen agent's gateway. */
export function signInferenceToken(privateKey: CryptoKey, kid: string, grant: TokenGrant, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ model: grant.model })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
    .setIssuer(TOKEN_ISSUER)
    .setSubject(grant.clientId)
    .setAudience(grant.agentId)
    .setJti(grant.jti)
    .setIssuedAt(iat)
    .setExpirationTime(iat + grant.ttlSeconds)
    .sign(privateKey);
}

export interface VerifiedToken {
  readonly clientId: string;
  readonly model: string;
  readonly jti: string | undefined;
  readonly expiresAt: number;
}

export type TokenRefusal = 'missing' | 'expired' | 'forged' | 'wrong_audience' | 'malformed';

export class TokenRefused extends Error {
  constructor(
    readonly refusal: TokenRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRefused';
  }
}

export function importPublicKey(pem: string): Promise<CryptoKey> {
  return importSPKI(pem, 'RS256');
}

/** Verifies signature, issuer, audience and expiry; throws TokenRefused naming which check failed. */
export async function verifyInferenceToken(token: string, publicKey: CryptoKey, agentId: string, nowMs?: number): Promise<VerifiedToken> {
  try {
    const { payload } = await jwtVerify(token, publicKey, {
      algorithms: ['RS256'],
      issuer: TOKEN_ISSUER,
      audience: agentId,
      requiredClaims: ['exp', 'sub', 'model'],
      ...(nowMs !== undefined ? { currentDate: new Date(nowMs) } : {}),
    });
    if (typeof payload.model !== 'string' || typeof payload.sub !== 'string' || typeof payload.exp !== 'number') {
      throw new TokenRefused('malformed', 'the token lacks its model, subject or expiry claim');
    }
    return { clientId: payload.sub, model: payload.model, jti: payload.jti, expiresAt: payload.exp * 1000 };
  } catch (err) {
    if (err instanceof TokenRefused) throw err;
    if (err instanceof errors.JWTExpired)
      throw new TokenRefused('expired', 'the token has expired: ask the master for a new one (POST /api/v1/inference/request)');
    if (err instanceof errors.JWSSignatureVerificationFailed)
      throw new TokenRefused('forged', "the token signature does not verify with the master's public key");
    if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'aud')
      throw new TokenRefused('wrong_audience', `the token was issued for another agent, not ${agentId}: route the request again`);
    throw new TokenRefused('malformed', `the token is not valid: ${(err as Error).message}`);
  }
}
