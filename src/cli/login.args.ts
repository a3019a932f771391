import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './cli.errors';

/** Read when --secret is not given, so the secret need not appear in the process list. */
export const SECRET_ENV = 'NEST_DEVICE_LOGIN_SECRET';

export interface LoginOptions {
  /** The authorization server's base URL (its issuer), without a trailing slash. */
  server: string;
  clientId: string;
  scope?: string;
  secret?: string;
  tokenFile: string;
  qr: boolean;
}

export const USAGE = `Usage: nest-device-login --server URL --client ID [options]

Signs this device in with the OAuth 2.0 Device Authorization Grant (RFC 8628): shows a code
to enter in a browser, waits for approval, stores the tokens, and tells who signed in.

Options:
  --server URL       the authorization server's base URL (its issuer), e.g. https://auth.example.com
  --client ID        the client_id of this device's client
  --scope SCOPES     the scopes to ask for, space-separated (default: the client's default)
  --secret SECRET    client secret for a confidential client (sent with HTTP Basic);
                     or set ${SECRET_ENV}, which keeps it out of the process list
  --token-file PATH  where to store the tokens (default: $XDG_CONFIG_HOME or ~/.config,
                     then nest-device-auth/tokens.json); written readable only by you
  --no-qr            do not print the QR code (it is printed only on a terminal)
  -h, --help         show this help

Exit codes: 0 signed in, 1 error, 2 usage error, 3 access denied, 4 code expired, 130 cancelled.
`;

/** Parses argv (without node and the script); `'help'` when --help was asked for. */
export function parseLoginArgs(argv: string[], env: NodeJS.ProcessEnv): LoginOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        client: { type: 'string' },
        scope: { type: 'string' },
        secret: { type: 'string' },
        'token-file': { type: 'string' },
        'no-qr': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    // parseArgs explains the problem ("Unknown option '--x'"); the usage follows it.
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';

  const server = nonEmpty(values.server);
  const clientId = nonEmpty(values.client);
  if (server === undefined) throw new UsageError('--server is required.');
  if (clientId === undefined) throw new UsageError('--client is required.');
  const tokenFile = nonEmpty(values['token-file']);
  return {
    server: serverUrl(server),
    clientId,
    scope: nonEmpty(values.scope),
    // A secret is taken as given (never trimmed); empty counts as absent.
    secret: values.secret || env[SECRET_ENV] || undefined,
    tokenFile: tokenFile === undefined ? defaultTokenFile(env) : resolve(tokenFile),
    qr: !values['no-qr'],
  };
}

/** XDG Base Directory: a relative XDG_CONFIG_HOME is invalid and ignored. */
export function defaultTokenFile(env: NodeJS.ProcessEnv): string {
  const xdg = nonEmpty(env.XDG_CONFIG_HOME);
  const configHome = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.config');
  return join(configHome, 'nest-device-auth', 'tokens.json');
}

function serverUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--server must be a URL such as https://auth.example.com (got "${value}").`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username || url.password) {
    throw new UsageError(`--server must be an http(s) base URL without query, fragment or credentials (got "${value}").`);
  }
  return url.href.replace(/\/+$/, '');
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
