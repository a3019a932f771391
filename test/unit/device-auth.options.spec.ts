import { generateKeyPairSync } from 'node:crypto';
import { USER_CODE_PRESETS } from '../../src/codes/user-code';
import { DeviceAuthModuleOptions, DeviceAuthOptionsError, resolveConfig } from '../../src/device-auth.options';
import { TokenIssuer } from '../../src/token/token-issuer.interface';

const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const CSRF = 'c'.repeat(32);

function options(overrides: Partial<DeviceAuthModuleOptions> = {}): DeviceAuthModuleOptions {
  return {
    issuer: 'https://auth.example.com',
    clients: [{ clientId: 'cli', name: 'CLI', scopes: ['read', 'write'] }],
    resolveUser: () => null,
    signInUrl: (returnTo) => `/login?next=${encodeURIComponent(returnTo)}`,
    csrfSecret: CSRF,
    signingKeys: [{ privateKey: PEM }],
    ...overrides,
  };
}

function optionsError(overrides: Partial<DeviceAuthModuleOptions> | Record<string, unknown>): DeviceAuthOptionsError {
  try {
    resolveConfig(options(overrides as Partial<DeviceAuthModuleOptions>));
  } catch (error) {
    expect(error).toBeInstanceOf(DeviceAuthOptionsError);
    const e = error as DeviceAuthOptionsError;
    expect(e.name).toBe('DeviceAuthOptionsError');
    expect(e.message.startsWith('DeviceAuthModule options: ')).toBe(true);
    return e;
  }
  throw new Error(`resolveConfig accepted ${JSON.stringify(overrides)}`);
}

describe('resolveConfig defaults', () => {
  it('fills in every default', () => {
    const before = Date.now();
    const config = resolveConfig(options());
    const { clock, validateUser, ...rest } = config;
    expect(rest).toEqual({
      issuer: 'https://auth.example.com',
      verificationUri: 'https://auth.example.com/device',
      clients: [{ clientId: 'cli', name: 'CLI', scopes: ['read', 'write'] }],
      userCodeFormat: USER_CODE_PRESETS.base20,
      deviceCodeTtlSeconds: 900,
      pollIntervalSeconds: 5,
      slowDownIncrementSeconds: 5,
      maxPollIntervalSeconds: 60,
      deviceAuthorizationRateLimit: 30,
      verificationFailureLimit: 5,
      verificationFailureWindowSeconds: 900,
      scopeDescriptions: {},
      purgeIntervalSeconds: 300,
      purgeBatchSize: 1000,
      purgeRetentionSeconds: 600,
      healthPath: '/health',
      accessTokenTtlSeconds: 3600,
      refreshTokenTtlSeconds: 30 * 24 * 3600,
      audience: 'https://auth.example.com',
      csrfSecret: CSRF,
    });
    // Without a hook every user stays valid.
    expect(validateUser('anyone')).toBe(true);
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    expect(clock.now()).toBeLessThanOrEqual(Date.now());
  });

  it('strips trailing slashes from the issuer and keeps a path', () => {
    expect(resolveConfig(options({ issuer: 'https://auth.example.com/' })).issuer).toBe('https://auth.example.com');
    const config = resolveConfig(options({ issuer: 'http://localhost:3000/auth//' }));
    expect(config.issuer).toBe('http://localhost:3000/auth');
    expect(config.verificationUri).toBe('http://localhost:3000/auth/device');
    expect(config.audience).toBe('http://localhost:3000/auth');
  });

  it('keeps given values', () => {
    const clock = { now: () => 1234 };
    const config = resolveConfig(
      options({
        audience: 'https://api.example.com',
        userCode: 'digits',
        deviceCodeTtlSeconds: 600,
        pollIntervalSeconds: 2,
        slowDownIncrementSeconds: 3,
        maxPollIntervalSeconds: 30,
        deviceAuthorizationRateLimit: 0,
        verificationFailureLimit: 1,
        scopeDescriptions: { read: 'Read' },
        purgeIntervalSeconds: 0,
        purgeBatchSize: 50,
        purgeRetentionSeconds: 0,
        accessTokenTtlSeconds: 60,
        clock,
      }),
    );
    expect(config).toMatchObject({
      audience: 'https://api.example.com',
      userCodeFormat: USER_CODE_PRESETS.digits,
      deviceCodeTtlSeconds: 600,
      pollIntervalSeconds: 2,
      slowDownIncrementSeconds: 3,
      maxPollIntervalSeconds: 30,
      deviceAuthorizationRateLimit: 0,
      verificationFailureLimit: 1,
      scopeDescriptions: { read: 'Read' },
      purgeIntervalSeconds: 0,
      purgeBatchSize: 50,
      purgeRetentionSeconds: 0,
      accessTokenTtlSeconds: 60,
    });
    expect(config.clock).toBe(clock);
  });

  it('accepts every preset and a custom user-code format', () => {
    expect(resolveConfig(options({ userCode: 'alphanumeric' })).userCodeFormat).toEqual(USER_CODE_PRESETS.alphanumeric);
    expect(resolveConfig(options({ userCode: 'base20' })).userCodeFormat).toEqual(USER_CODE_PRESETS.base20);
    const custom = { charset: 'ABCDEFGHJK', length: 6 };
    expect(resolveConfig(options({ userCode: custom })).userCodeFormat).toEqual(custom);
  });

  it('accepts a tokenIssuer instead of signingKeys', () => {
    const tokenIssuer: TokenIssuer = { issue: jest.fn(), verify: jest.fn() };
    expect(() => resolveConfig(options({ signingKeys: undefined, tokenIssuer }))).not.toThrow();
  });

  it('accepts a confidential client with a 16-character secret, default scopes within scopes, or a secretSha256', () => {
    expect(() =>
      resolveConfig(
        options({
          clients: [
            { clientId: 'a', name: 'A', scopes: ['read', 'write'], defaultScopes: ['read'], secret: 's'.repeat(16) },
            { clientId: 'b', name: 'B', scopes: ['read'], secretSha256: 'f'.repeat(64) },
            { clientId: 'c'.repeat(128), name: 'C', scopes: [] },
          ],
        }),
      ),
    ).not.toThrow();
  });
});

describe('resolveConfig validation', () => {
  it.each([
    ['not a string', 42],
    ['missing', undefined],
    ['not a URL', 'auth.example.com'],
    ['not http(s)', 'ftp://auth.example.com'],
    ['javascript:', 'javascript:alert(1)'],
    ['with a query', 'https://auth.example.com/?a=1'],
    ['with a fragment', 'https://auth.example.com/#x'],
  ])('a bad issuer (%s) is refused, naming issuer', (_case, issuer) => {
    expect(optionsError({ issuer }).message).toMatch(/\bissuer\b/);
  });

  it('a bad issuer message says what to give', () => {
    expect(optionsError({ issuer: 'auth.example.com' }).message).toBe(
      'DeviceAuthModule options: issuer "auth.example.com" is not a URL; give the public base URL, e.g. "https://auth.example.com".',
    );
    expect(optionsError({ issuer: 'ftp://x' }).message).toBe('DeviceAuthModule options: issuer must be an http(s) URL.');
    expect(optionsError({ issuer: 'https://x/?a' }).message).toBe('DeviceAuthModule options: issuer must not have a query or fragment.');
  });

  it('an unknown userCode preset is refused, listing the presets', () => {
    expect(optionsError({ userCode: 'base32' as never }).message).toBe(
      'DeviceAuthModule options: userCode must be one of base20, digits, alphanumeric, or { charset, length }.',
    );
  });

  // USER_CODE_PRESETS[name] also finds Object.prototype members, so these pass as "presets"
  // without a charset: generateUserCode then returns '' ('toString', '__proto__') or throws a
  // TypeError ('constructor', 'hasOwnProperty') at the first device authorization.
  it('a userCode naming an Object.prototype member (toString, constructor, __proto__, hasOwnProperty) is refused as unknown', () => {
    for (const preset of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(optionsError({ userCode: preset as never }).message).toBe(
        'DeviceAuthModule options: userCode must be one of base20, digits, alphanumeric, or { charset, length }.',
      );
    }
  });

  it('resolveUser and signInUrl must be functions', () => {
    expect(optionsError({ resolveUser: undefined as never }).message).toBe(
      'DeviceAuthModule options: resolveUser and signInUrl must be functions (or give a userResolver).',
    );
    expect(optionsError({ signInUrl: '/login' as never }).message).toMatch(/signInUrl/);
  });

  it.each([
    ['31 characters', 'c'.repeat(31)],
    ['empty', ''],
    ['missing', undefined],
    ['not a string', 12345678901234567890123456789012345],
  ])('a csrfSecret that is %s is refused, naming csrfSecret', (_case, csrfSecret) => {
    expect(optionsError({ csrfSecret }).message).toBe('DeviceAuthModule options: csrfSecret must be a string of at least 32 characters.');
  });

  it.each([
    ['absent', undefined],
    ['empty', []],
  ])('signingKeys %s and no tokenIssuer is refused, naming both', (_case, signingKeys) => {
    const message = optionsError({ signingKeys, tokenIssuer: undefined }).message;
    expect(message).toContain('signingKeys');
    expect(message).toContain('tokenIssuer');
  });

  it('no clients is refused', () => {
    expect(optionsError({ clients: [] }).message).toBe('DeviceAuthModule options: clients must list at least one client.');
    expect(optionsError({ clients: undefined }).message).toMatch(/clients/);
  });

  it('a client listed twice is refused, naming it', () => {
    const clients = [
      { clientId: 'cli', name: 'CLI', scopes: ['read'] },
      { clientId: 'cli', name: 'CLI 2', scopes: ['write'] },
    ];
    expect(optionsError({ clients }).message).toBe('DeviceAuthModule options: client "cli" is listed twice.');
  });

  it.each([
    ['empty', ''],
    ['too long', 'c'.repeat(129)],
    ['not a string', 7],
    ['missing', undefined],
  ])('a clientId that is %s is refused, naming clientId', (_case, clientId) => {
    expect(optionsError({ clients: [{ clientId, name: 'X', scopes: ['read'] }] }).message).toBe(
      'DeviceAuthModule options: each client needs a clientId of 1 to 128 characters.',
    );
  });

  it('a client without a name is refused', () => {
    expect(optionsError({ clients: [{ clientId: 'cli', name: '', scopes: ['read'] }] }).message).toBe(
      'DeviceAuthModule options: client "cli" needs a name of 1 to 191 characters.',
    );
  });

  it.each([
    ['not an array', 'read write'],
    ['a non-string', [1]],
    ['a space', ['read write']],
    ['a quote', ['re"ad']],
    ['a backslash', ['re\\ad']],
    ['an empty token', ['']],
  ])('scopes that hold %s are refused, naming the client', (_case, scopes) => {
    expect(optionsError({ clients: [{ clientId: 'cli', name: 'CLI', scopes }] }).message).toBe(
      'DeviceAuthModule options: client "cli" needs scopes: an array of scope tokens.',
    );
  });

  it('a default scope the client is not allowed is refused, naming it', () => {
    const clients = [{ clientId: 'cli', name: 'CLI', scopes: ['read'], defaultScopes: ['read', 'admin', 'write'] }];
    expect(optionsError({ clients }).message).toBe('DeviceAuthModule options: client "cli" has default scopes it is not allowed: admin, write.');
  });

  it.each([
    ['15 characters', 's'.repeat(15)],
    ['empty', ''],
    ['not a string', 1234567890123456789],
  ])('a secret that is %s is refused, naming the client', (_case, secret) => {
    expect(optionsError({ clients: [{ clientId: 'tv', name: 'TV', scopes: ['read'], secret }] }).message).toBe(
      'DeviceAuthModule options: client "tv" has a secret shorter than 16 characters.',
    );
  });

  const positive = [
    'deviceCodeTtlSeconds',
    'pollIntervalSeconds',
    'slowDownIncrementSeconds',
    'maxPollIntervalSeconds',
    'verificationFailureLimit',
    'accessTokenTtlSeconds',
    'purgeBatchSize',
  ];
  const nonNegative = ['deviceAuthorizationRateLimit', 'purgeIntervalSeconds', 'purgeRetentionSeconds'];

  describe.each(positive)('%s', (name) => {
    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %p, naming the option', (value) => {
      expect(optionsError({ [name]: value }).message).toBe(
        `DeviceAuthModule options: ${name} must be a positive whole number (got ${String(value)}).`,
      );
    });

    it('refuses a numeric string', () => {
      expect(optionsError({ [name]: '10' }).message).toContain(name);
    });

    it('accepts 1', () => {
      // The cap may not be below the interval, so both go down to 1 together.
      expect(resolveConfig(options({ pollIntervalSeconds: 1, [name]: 1 }))[name as keyof ReturnType<typeof resolveConfig>]).toBe(1);
    });
  });

  describe.each(nonNegative)('%s', (name) => {
    it.each([-1, 0.5, Number.NaN])('refuses %p, naming the option', (value) => {
      expect(optionsError({ [name]: value }).message).toBe(
        `DeviceAuthModule options: ${name} must be a whole number, 0 or more (got ${String(value)}).`,
      );
    });

    it('accepts 0 (off)', () => {
      expect(resolveConfig(options({ [name]: 0 }))[name as keyof ReturnType<typeof resolveConfig>]).toBe(0);
    });
  });
});

describe('resolveConfig cross-checks', () => {
  it.each([
    [{ charset: 'ABC', length: 6 }, 'userCode.charset must be at least 10 distinct characters from A-Z and 0-9.'],
    [{ charset: 'AABCDEFGHJK', length: 6 }, 'userCode.charset must be at least 10 distinct characters from A-Z and 0-9.'],
    [{ charset: 'abcdefghjk', length: 6 }, 'userCode.charset must be at least 10 distinct characters from A-Z and 0-9.'],
    [{ charset: 'ABCDEFGHJK', length: 5 }, 'userCode.length must be a whole number from 6 to 16.'],
    [{ charset: 'ABCDEFGHJK', length: 17 }, 'userCode.length must be a whole number from 6 to 16.'],
  ])('refuses the custom user-code format %p', (userCode, message) => {
    expect(optionsError({ userCode }).message).toBe(`DeviceAuthModule options: ${message}`);
  });

  it('refuses a poll interval cap below the interval', () => {
    expect(optionsError({ pollIntervalSeconds: 10, maxPollIntervalSeconds: 5 }).message).toBe(
      'DeviceAuthModule options: maxPollIntervalSeconds (5) must be at least pollIntervalSeconds (10).',
    );
  });

  it('refuses a secretSha256 that is not 64 hex characters', () => {
    expect(optionsError({ clients: [{ clientId: 'c', name: 'C', scopes: [], secretSha256: 'abc' }] }).message).toBe(
      'DeviceAuthModule options: client "c" has a secretSha256 that is not 64 hex characters.',
    );
  });
});

describe('resolveConfig pluggable parts', () => {
  const registry = { findClient: async () => null };

  it('takes a client registry instead of clients, but not both', () => {
    expect(resolveConfig(options({ clients: undefined, clientRegistry: registry })).clients).toEqual([]);
    expect(resolveConfig(options({ clients: undefined, clientRegistry: 'database' })).clients).toEqual([]);
    expect(optionsError({ clientRegistry: registry }).message).toBe('DeviceAuthModule options: give clients or clientRegistry, not both.');
    expect(optionsError({ clients: undefined, clientRegistry: 'ldap' as never }).message).toBe(
      'DeviceAuthModule options: clientRegistry must be "database" or an object with findClient(clientId).',
    );
  });

  it('takes a userResolver instead of the two functions, but not both', () => {
    const userResolver = { resolveUser: () => null, signInUrl: (to: string) => `/in?next=${to}` };
    expect(() => resolveConfig(options({ resolveUser: undefined, signInUrl: undefined, userResolver }))).not.toThrow();
    expect(optionsError({ userResolver }).message).toBe('DeviceAuthModule options: give userResolver or resolveUser and signInUrl, not both.');
    expect(optionsError({ resolveUser: undefined, signInUrl: undefined, userResolver: { resolveUser: () => null } as never }).message).toBe(
      'DeviceAuthModule options: userResolver must have resolveUser(request) and signInUrl(returnTo).',
    );
  });
});
