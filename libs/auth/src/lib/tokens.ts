/// <reference path="./jose.d.ts" />
import { randomUUID } from 'node:crypto';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, TokenClaims } from '@sandbox-relay/contracts';
import { SignJWT, errors, jwtVerify } from 'jose';
import { RELAY_ALGORITHMS, type KeyRing } from './key-ring';
import { UnauthorizedError } from './errors';
import type { Principal } from './permissions';

export interface IssueOptions {
  /** Who the token is for: a person or service name; for a sandbox token, the sandbox id by default. */
  subject?: string;
  /** Lifetime in seconds; every token expires. */
  ttlSeconds: number;
}

/** Signs relay tokens with the ring's current signing key (its `kid` goes into the header). */
export class TokenIssuer {
  constructor(private readonly ring: KeyRing) {}

  async issue(claims: TokenClaims, { subject, ttlSeconds }: IssueOptions): Promise<string> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error('ttlSeconds must be a positive integer');
    const checked = TokenClaims.parse(claims);
    const { kid, alg, key } = this.ring.signingKey();
    const sub = subject ?? (checked.kind === 'sandbox' ? checked.sandbox_id : undefined);
    if (!sub) throw new Error('a viewer or operator token needs a subject (who it is for)');
    return new SignJWT({ ...checked })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(sub)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(key);
  }

  /** The token a worker carries as RELAY_TOKEN: this one sandbox, nothing else. */
  issueSandboxToken(sandboxId: string, ttlSeconds: number): Promise<string> {
    return this.issue({ kind: 'sandbox', sandbox_id: sandboxId }, { ttlSeconds });
  }
}

export interface VerifierOptions {
  /** Oldest `iat` accepted, whatever `exp` says. */
  maxTokenAgeS: number;
  /** Leeway for clocks of issuer and verifier that disagree slightly. */
  clockToleranceS?: number;
}

/** Checks a token's signature (by `kid`), issuer, audience, `exp`/`iat` and claims; answers a Principal or a 401. */
export class TokenVerifier {
  constructor(
    private readonly ring: KeyRing,
    private readonly options: VerifierOptions,
  ) {}

  async verify(token: string): Promise<Principal> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = this.ring.verificationKey(header);
          if (!key)
            throw new UnauthorizedError(`token signed with an unknown key or algorithm (kid ${String(header.kid)})`);
          return key;
        },
        {
          algorithms: [...RELAY_ALGORITHMS],
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          requiredClaims: ['exp', 'iat', 'sub'],
          maxTokenAge: this.options.maxTokenAgeS,
          clockTolerance: this.options.clockToleranceS ?? 5,
        },
      ));
    } catch (error) {
      throw toUnauthorized(error);
    }
    const claims = TokenClaims.safeParse(payload);
    if (!claims.success) throw new UnauthorizedError("token claims are not a relay token's");
    const c = claims.data;
    return {
      kind: c.kind,
      subject: String(payload.sub),
      sandboxes: c.kind === 'sandbox' ? new Set([c.sandbox_id]) : c.sandboxes === '*' ? '*' : new Set(c.sandboxes),
      expiresAt: new Date(Number(payload.exp) * 1000),
      tokenId: typeof payload.jti === 'string' ? payload.jti : null,
    };
  }
}

/** jose's errors in words a caller can act on; the token itself is never echoed. */
function toUnauthorized(error: unknown): UnauthorizedError {
  if (error instanceof UnauthorizedError) return error;
  if (error instanceof errors.JWTExpired) return new UnauthorizedError('token expired');
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new UnauthorizedError('token signature is invalid');
  if (error instanceof errors.JWTClaimValidationFailed)
    return new UnauthorizedError(`token claim ${error.claim} is invalid: ${error.reason}`);
  if (error instanceof errors.JOSEAlgNotAllowed) return new UnauthorizedError('token algorithm is not allowed');
  return new UnauthorizedError('token is malformed');
}
