import type { Logger } from '@sandbox-relay/service-kit';
import type { RequestHandler, Response } from 'express';
import type { AuthSettings } from './auth-env';
import { ForbiddenError, UnauthorizedError } from './errors';
import { KeyRing } from './key-ring';
import { ANONYMOUS, authorize, type Action, type Principal } from './permissions';
import { TokenIssuer, TokenVerifier } from './tokens';

// The scheme name is case-insensitive (RFC 7235 §2.1); the token itself is not.
const BEARER = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i;
/**
 * Basic credentials whose password is a relay token: what an HTTP client sends for a URL with
 * userinfo (`https://sandbox:<token>@relay/…`). The original system's worker sends no credentials
 * and builds every URL from its `CALLBACK_URL`, so a callback URL carrying its sandbox token in the
 * userinfo is how an unchanged worker authenticates (README § Replacing OmoiOS's sandbox system).
 */
const BASIC = /^Basic ([A-Za-z0-9+/]+={0,2})$/i;

/**
 * Verified tokens kept so a worker's every POST does not pay a signature check (about 0.2 ms each on
 * this machine, HS256 or EdDSA: more than a whole event append at thousands of requests per second).
 * An entry lives at most `VERIFIED_TTL_MS` and never past the token's own expiry; only successes are kept.
 */
const VERIFIED_MAX = 5_000;
const VERIFIED_TTL_MS = 60_000;
const CHALLENGE = 'Bearer realm="sandbox-relay"';

export interface RequireOptions {
  /** The route parameter naming the sandbox the request acts on; omit for routes about no one sandbox. */
  sandboxParam?: string;
}

/**
 * An edge service's authentication: verifies relay tokens and guards routes. Built once per process
 * from its env (`EdgeAuth.fromSettings`); `EdgeAuth.off()` lets everyone through as anonymous, which
 * only a loopback playground (or a test that is not about auth) may use.
 */
export class EdgeAuth {
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  private constructor(
    readonly enabled: boolean,
    private readonly verifier: TokenVerifier | undefined,
    /** Present when the key ring holds a signing key (services that issue tokens, tests, the CLI). */
    readonly issuer: TokenIssuer | undefined,
  ) {}

  static off(): EdgeAuth {
    return new EdgeAuth(false, undefined, undefined);
  }

  static async fromSettings(settings: AuthSettings, logger?: Logger): Promise<EdgeAuth> {
    if (settings.mode === 'off') {
      logger?.warn(
        '!!! AUTHENTICATION IS OFF: anyone who can reach this port may write, read and steer every sandbox. ' +
          'Allowed only on a loopback address (local playground); set AUTH_MODE=on with AUTH_KEYS to turn it on. !!!',
      );
      return EdgeAuth.off();
    }
    if (!settings.keys?.length) throw new Error('auth is on but AUTH_KEYS is empty');
    const ring = await KeyRing.load(settings.keys, settings.signingKid);
    logger?.info({ kids: ring.kids, signingKid: ring.signingKid ?? null }, 'authentication on');
    return new EdgeAuth(
      true,
      new TokenVerifier(ring, { maxTokenAgeS: settings.maxTokenAgeS }),
      ring.signingKid ? new TokenIssuer(ring) : undefined,
    );
  }

  /** Verifies a bare token (the WebSocket auth frame). Throws UnauthorizedError; anonymous when off. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!this.verifier) return ANONYMOUS;
    if (!token) throw new UnauthorizedError('missing bearer token');
    return this.verifyCached(token);
  }

  private async verifyCached(token: string): Promise<Principal> {
    const now = Date.now();
    const hit = this.verified.get(token);
    if (hit && hit.until > now) return hit.principal;
    if (hit) this.verified.delete(token);
    const principal = await this.verifier!.verify(token);
    const until = Math.min(now + VERIFIED_TTL_MS, principal.expiresAt?.getTime() ?? now);
    // Map keeps insertion order: past the bound, the oldest entry goes.
    if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { principal, until });
    return principal;
  }

  /**
   * The principal of an `Authorization` header: `Bearer <token>`, or `Basic` credentials whose password
   * is the token (any user name). Tokens are never read from a request's path or query.
   */
  async authenticateHeader(header: string | undefined): Promise<Principal> {
    if (!this.verifier) return ANONYMOUS;
    if (!header) throw new UnauthorizedError('missing bearer token (Authorization: Bearer <token>)');
    const token = BEARER.exec(header)?.[1] ?? basicPassword(header);
    if (!token)
      throw new UnauthorizedError(
        'malformed Authorization header; expected "Bearer <token>" (or Basic credentials whose password is the token)',
      );
    return this.verifyCached(token);
  }

  /**
   * Guards a route: 401 without a valid token, 403 when the token may not do `action` (on the
   * sandbox named by `sandboxParam`). Put it before body parsing so refused requests cost nothing.
   * The principal is left in `res.locals.principal`.
   */
  require(action: Action, { sandboxParam }: RequireOptions = {}): RequestHandler {
    return async (req, res, next) => {
      try {
        const principal = await this.authenticateHeader(req.get('authorization'));
        const sandboxId = sandboxParam === undefined ? undefined : req.params[sandboxParam];
        // A guard that names a path parameter its route lacks must refuse, not check without a sandbox.
        if (sandboxParam !== undefined && typeof sandboxId !== 'string')
          throw new ForbiddenError(`this route names no sandbox (:${sandboxParam})`);
        const decision = authorize(principal, action, typeof sandboxId === 'string' ? sandboxId : undefined);
        if (!decision.allowed) throw new ForbiddenError(decision.reason);
        res.locals.principal = principal;
        next();
      } catch (error) {
        if (error instanceof UnauthorizedError) res.setHeader('www-authenticate', CHALLENGE);
        next(error);
      }
    };
  }
}

/** The password of `Basic` credentials (`user:password`, base64), or undefined when the header is not such. */
function basicPassword(header: string): string | undefined {
  const encoded = BASIC.exec(header)?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  return password.length > 0 ? password : undefined;
}

/**
 * The URL a worker of the original system (which sends no credentials of its own) is given as
 * `CALLBACK_URL`: the relay's URL with the sandbox's token as the userinfo's password. HTTP clients
 * (httpx, requests, fetch) send it as `Authorization: Basic`, which the edge reads like a bearer
 * token; the request line and the access logs never carry it. Treat the URL as the secret it holds.
 */
export function sandboxCallbackUrl(relayUrl: string, token: string): string {
  const url = new URL(relayUrl);
  url.username = 'sandbox';
  url.password = token;
  return url.toString().replace(/\/$/, '');
}

/**
 * Guards a whole path prefix by method: reads (GET, HEAD) need `read`, everything else `write`.
 * Mount it before a router whose every route should be covered, e.g.
 * `app.use('/api/v1/tasks', requireByMethod(auth, { read: ACTIONS.TASKS_READ, write: ACTIONS.TASKS_MANAGE }))`.
 */
export function requireByMethod(auth: EdgeAuth, { read, write }: { read: Action; write: Action }): RequestHandler {
  const reads = auth.require(read);
  const writes = auth.require(write);
  return (req, res, next) => (req.method === 'GET' || req.method === 'HEAD' ? reads : writes)(req, res, next);
}

/** The principal `EdgeAuth.require` admitted; a route that was never guarded is a programming error. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf: the route has no EdgeAuth.require guard');
  return principal;
}
