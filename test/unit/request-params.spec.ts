import { assertParamsMediaType, headerValue, readParams } from '../../src/http/request-params';
import { InvalidRequestError } from '../../src/oauth/oauth.errors';

const LIMITS = { client_id: 10, scope: 20 } as const;

function invalidRequest(run: () => unknown): InvalidRequestError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return error as InvalidRequestError;
  }
  throw new Error('did not throw');
}

describe('readParams', () => {
  it('reads the named string parameters', () => {
    expect(readParams({ client_id: 'cli', scope: 'read write' }, LIMITS)).toEqual({ client_id: 'cli', scope: 'read write' });
  });

  it.each([undefined, ''])('an absent body (%p) gives no parameters', (body) => {
    expect(readParams(body, LIMITS)).toEqual({});
  });

  it('a JSON body of null is not parameters: invalid_request', () => {
    expect(invalidRequest(() => readParams(null, LIMITS)).description).toBe(
      'The request body must be form-encoded parameters or a JSON object.',
    );
  });

  it('an absent parameter is left out', () => {
    const params = readParams({ client_id: 'cli' }, LIMITS);
    expect(params).toEqual({ client_id: 'cli' });
    expect('scope' in params).toBe(false);
  });

  it.each([[''], [null], [undefined]])('an empty value (%p) counts as absent', (value) => {
    expect(readParams({ client_id: 'cli', scope: value }, LIMITS)).toEqual({ client_id: 'cli' });
  });

  it('keeps whitespace-only and other values as sent', () => {
    expect(readParams({ client_id: ' ', scope: ' read ' }, LIMITS)).toEqual({ client_id: ' ', scope: ' read ' });
  });

  it('a repeated parameter (an array) is invalid_request', () => {
    const error = invalidRequest(() => readParams({ client_id: ['a', 'b'] }, LIMITS));
    expect(error.error).toBe('invalid_request');
    expect(error.status).toBe(400);
    expect(error.description).toBe("The 'client_id' parameter is repeated.");
    expect(invalidRequest(() => readParams({ scope: [] }, LIMITS)).description).toBe("The 'scope' parameter is repeated.");
  });

  it.each([[42], [true], [{ a: 1 }], [0], [false]])('a non-string value (%p) is invalid_request', (value) => {
    expect(invalidRequest(() => readParams({ client_id: value }, LIMITS)).description).toBe("The 'client_id' parameter must be a string.");
  });

  it('a value at the limit is accepted; one character more is invalid_request', () => {
    expect(readParams({ client_id: 'x'.repeat(10) }, LIMITS)).toEqual({ client_id: 'x'.repeat(10) });
    expect(invalidRequest(() => readParams({ client_id: 'x'.repeat(11) }, LIMITS)).description).toBe(
      "The 'client_id' parameter is longer than 10 characters.",
    );
    expect(invalidRequest(() => readParams({ scope: 's'.repeat(1_000_000) }, LIMITS)).description).toBe(
      "The 'scope' parameter is longer than 20 characters.",
    );
  });

  it.each([['a string', 'client_id=cli'], ['a number', 42], ['an array', [{ client_id: 'cli' }]], ['a boolean', true]])(
    'a body that is %s is invalid_request',
    (_kind, body) => {
      expect(invalidRequest(() => readParams(body, LIMITS)).description).toBe(
        'The request body must be form-encoded parameters or a JSON object.',
      );
    },
  );

  it('ignores unknown parameters, even malformed ones', () => {
    expect(readParams({ client_id: 'cli', extra: ['a', 'b'], other: { deep: 1 }, long: 'x'.repeat(5000) }, LIMITS)).toEqual({
      client_id: 'cli',
    });
  });

  it('names are case-sensitive', () => {
    expect(readParams({ Client_Id: 'cli', SCOPE: 'read' }, LIMITS)).toEqual({});
  });

  it('reads own properties only, never inherited ones', () => {
    const body = Object.create({ client_id: 'inherited', scope: 'admin' }) as Record<string, unknown>;
    expect(readParams(body, LIMITS)).toEqual({});
    body.scope = 'read';
    expect(readParams(body, LIMITS)).toEqual({ scope: 'read' });
  });

  it('reads a null-prototype body (what querystring parsers produce)', () => {
    const body = Object.assign(Object.create(null) as Record<string, unknown>, { client_id: 'cli' });
    expect(readParams(body, LIMITS)).toEqual({ client_id: 'cli' });
  });

  it('is not fooled by a __proto__ or constructor parameter', () => {
    const body = JSON.parse('{"__proto__": {"client_id": "x"}, "constructor": "y"}') as unknown;
    expect(readParams(body, LIMITS)).toEqual({});
    expect(readParams(body, { constructor: 5 } as never)).toEqual({ constructor: 'y' });
  });
});

describe('headerValue', () => {
  it('returns a single header value', () => {
    expect(headerValue({ authorization: 'Basic abc' }, 'authorization')).toBe('Basic abc');
  });

  it('is undefined when absent or empty', () => {
    expect(headerValue({}, 'authorization')).toBeUndefined();
    expect(headerValue({ authorization: undefined }, 'authorization')).toBeUndefined();
    expect(headerValue({ authorization: '' }, 'authorization')).toBeUndefined();
  });

  it('a repeated header is invalid_request', () => {
    const error = invalidRequest(() => headerValue({ authorization: ['Basic a', 'Basic b'] }, 'authorization'));
    expect(error.error).toBe('invalid_request');
    expect(error.status).toBe(400);
    expect(error.description).toBe('The authorization header is repeated.');
  });
});

describe('assertParamsMediaType', () => {
  it.each([
    ['no content type', {}],
    ['an empty content type', { 'content-type': '' }],
    ['form-encoded', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['form-encoded with a charset', { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }],
    ['JSON', { 'content-type': 'application/json' }],
    ['JSON in another case, with spaces', { 'content-type': ' Application/JSON ;charset=utf-8' }],
  ])('accepts %s', (_case, headers) => {
    expect(() => assertParamsMediaType(headers)).not.toThrow();
  });

  it.each(['text/plain', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', 'application/json-patch+json'])(
    'refuses %j with 415 invalid_request',
    (contentType) => {
      const error = invalidRequest(() => assertParamsMediaType({ 'content-type': contentType }));
      expect(error.error).toBe('invalid_request');
      expect(error.status).toBe(415);
      expect(error.description).toBe('Send the parameters form-encoded (application/x-www-form-urlencoded) or as JSON.');
    },
  );

  it('a repeated content-type is a 400 invalid_request', () => {
    const error = invalidRequest(() => assertParamsMediaType({ 'content-type': ['application/json', 'text/plain'] }));
    expect(error.status).toBe(400);
    expect(error.description).toBe('The content-type header is repeated.');
  });
});
