import { parseScope, resolveScopes } from '../../src/clients/scopes';
import { DeviceClient } from '../../src/clients/client.interface';
import { InvalidScopeError, OAuthError } from '../../src/oauth/oauth.errors';

const client: DeviceClient = {
  clientId: 'cli',
  name: 'CLI',
  scopes: ['read', 'write', 'admin:org', 'https://api.example.com/x'],
  defaultScopes: ['read'],
  refreshTokens: false,
};

function scopeError(requested: string): InvalidScopeError {
  try {
    resolveScopes(client, requested);
  } catch (error) {
    return error as InvalidScopeError;
  }
  throw new Error(`resolveScopes accepted ${JSON.stringify(requested)}`);
}

describe('resolveScopes', () => {
  it('gives the default scopes when none are requested', () => {
    expect(resolveScopes(client, undefined)).toBe('read');
    expect(resolveScopes({ ...client, defaultScopes: ['read', 'write'] }, undefined)).toBe('read write');
    expect(resolveScopes({ ...client, defaultScopes: [] }, undefined)).toBe('');
  });

  it('gives the defaults for an empty or all-space scope', () => {
    expect(resolveScopes(client, '')).toBe('read');
    expect(resolveScopes(client, '   ')).toBe('read');
  });

  it('grants exactly what was asked for', () => {
    expect(resolveScopes(client, 'read')).toBe('read');
    expect(resolveScopes(client, 'write')).toBe('write');
    expect(resolveScopes(client, 'write read')).toBe('write read');
    expect(resolveScopes(client, 'admin:org https://api.example.com/x')).toBe('admin:org https://api.example.com/x');
  });

  it('removes duplicates, keeping request order', () => {
    expect(resolveScopes(client, 'read read write')).toBe('read write');
    expect(resolveScopes(client, 'write read write read')).toBe('write read');
  });

  it('ignores extra spaces', () => {
    expect(resolveScopes(client, '  read   write  ')).toBe('read write');
  });

  it('refuses a scope the client is not allowed, naming it', () => {
    const error = scopeError('read delete');
    expect(error).toBeInstanceOf(InvalidScopeError);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.error).toBe('invalid_scope');
    expect(error.status).toBe(400);
    expect(error.description).toBe("The scope 'delete' is not allowed for this client.");
  });

  it('is case-sensitive', () => {
    expect(scopeError('READ').description).toBe("The scope 'READ' is not allowed for this client.");
  });

  it.each(['"read"', 'read\\', 'read "x"', 'rea\td', 'read\nwrite', 'lé', 'read\u0000'])(
    'refuses characters a scope cannot contain: %j',
    (requested) => {
      const error = scopeError(requested);
      expect(error).toBeInstanceOf(InvalidScopeError);
      expect(error.error).toBe('invalid_scope');
      expect(error.description).toBe('The scope parameter has characters a scope cannot contain.');
    },
  );
});

describe('parseScope', () => {
  it('splits on spaces, drops empties and duplicates', () => {
    expect(parseScope(' read  write read ')).toEqual(['read', 'write']);
    expect(parseScope('')).toEqual([]);
  });
});
