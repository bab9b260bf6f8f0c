import { parseArgs } from 'node:util';
import { TokenKind, type TokenClaims } from '@sandbox-relay/contracts';
import { parseEnv } from '@sandbox-relay/service-kit';
import { AuthEnv } from './auth-env';
import { generateRelayKey, publicOnly } from './keygen';
import { KeyRing } from './key-ring';
import { TokenIssuer } from './tokens';

export const TOKEN_CLI_USAGE = `usage:
  npm run token -- operator [--sub NAME] [--sandboxes a,b | '*'] [--ttl 8h]
  npm run token -- viewer   [--sub NAME] [--sandboxes a,b | '*'] [--ttl 8h]
  npm run token -- sandbox SANDBOX_ID [--ttl 24h]
  npm run token -- keygen [hs256|eddsa] [--kid ID]
Tokens are signed with AUTH_KEYS / AUTH_SIGNING_KID from the environment (the relay's own).`;

/** `90`, `90s`, `30m`, `8h`, `7d` → seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) throw new Error(`--ttl: expected a number of seconds or e.g. 30m, 8h, 7d; got ${text}`);
  const seconds = Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  if (seconds <= 0) throw new Error('--ttl: must be positive');
  return seconds;
}

/**
 * The operator's token tool: mints a relay token (or a new key for AUTH_KEYS) and answers what to
 * print on stdout. Throws with a readable message on bad arguments or configuration.
 */
export async function tokenCommand(argv: string[], env: Record<string, string | undefined>): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      sub: { type: 'string' },
      sandboxes: { type: 'string' },
      ttl: { type: 'string' },
      kid: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const [command, argument] = positionals;
  if (values.help || !command) return TOKEN_CLI_USAGE;
  if (command === 'keygen') {
    const kind = argument ?? 'hs256';
    if (kind !== 'hs256' && kind !== 'eddsa') throw new Error(`keygen: expected hs256 or eddsa, got ${kind}`);
    const key = await generateRelayKey(kind, values.kid);
    const lines = [`# add to AUTH_KEYS (a JSON array) where tokens are issued:`, JSON.stringify(key)];
    if (kind === 'eddsa')
      lines.push(`# and where tokens are only verified (without the private part d):`, JSON.stringify(publicOnly(key)));
    return lines.join('\n');
  }
  const kind = TokenKind.safeParse(command);
  if (!kind.success) throw new Error(`unknown command ${command}\n${TOKEN_CLI_USAGE}`);
  const auth = parseEnv(AuthEnv, env);
  if (!auth.AUTH_KEYS)
    throw new Error(
      "AUTH_KEYS is not set: the token must be signed with the relay's key (npm run token -- keygen makes one)",
    );
  const issuer = new TokenIssuer(await KeyRing.load(auth.AUTH_KEYS, auth.AUTH_SIGNING_KID));
  if (kind.data === 'sandbox') {
    if (!argument) throw new Error('sandbox: name the sandbox id');
    return issuer.issueSandboxToken(argument, parseTtl(values.ttl ?? '24h'));
  }
  const sandboxes =
    values.sandboxes === undefined || values.sandboxes === '*'
      ? '*'
      : values.sandboxes.split(',').map((id) => id.trim());
  const claims = { kind: kind.data, sandboxes } as TokenClaims;
  return issuer.issue(claims, {
    subject: values.sub ?? env.USER ?? kind.data,
    ttlSeconds: parseTtl(values.ttl ?? '8h'),
  });
}
