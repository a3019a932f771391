import fc from 'fast-check';
import { gzipSync } from 'node:zlib';

/** A request body as a hostile or broken client might send it. */
export interface HostileRequest {
  /** How the body was built, to read a counterexample by. */
  kind: 'form' | 'json' | 'json-broken' | 'json-not-object' | 'text' | 'bytes';
  /** Absent: no Content-Type header at all. */
  contentType?: string;
  authorization?: string;
  /** A Content-Encoding header; with `gzipped` the body really is gzip-compressed. */
  contentEncoding?: string;
  gzipped?: boolean;
  /** The body text; sent as UTF-8, or byte for byte when `latin1` (raw bytes, invalid UTF-8). */
  body: string;
  latin1: boolean;
}

export function bodyBytes(request: HostileRequest): Buffer {
  const bytes = Buffer.from(request.body, request.latin1 ? 'latin1' : 'utf8');
  return request.gzipped ? gzipSync(bytes) : bytes;
}

/** The module's body limit (demo.app.ts); values are drawn around and beyond it. */
const BODY_LIMIT = 16 * 1024;

/** Percent sequences no decoder can read: bad hex, cut short, invalid UTF-8, NUL. */
const BROKEN_ESCAPES = ['%', '%G1', '%zz', '%2', '%%', '%E0%A4', '%C3%28', '%FF', '%C0%AF', '%00', '%ED%A0%80'];

const FORM_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=ISO-8859-1',
  'application/x-www-form-urlencoded; charset=bogus',
  'Application/X-WWW-Form-URLEncoded',
];
const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/json;;'];
const OTHER_TYPES = [
  'text/plain',
  'text/plain; charset=utf-8',
  'multipart/form-data',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/octet-stream',
  'application/vnd.api+json',
  'application/x-www-form-urlencoded, application/json',
  '*/*',
  ';',
  '',
];

/** A parameter name: the real ones (`realWeight` in 13), else near misses (case, brackets) and anything at all. */
function paramName(names: readonly string[], realWeight = 8): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: realWeight, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.constantFrom(...names).map((name) => name.toUpperCase()) },
    { weight: 1, arbitrary: fc.constantFrom(...names).map((name) => `${name}[]`) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '') },
    { weight: 2, arbitrary: fc.string({ maxLength: 12, unit: 'grapheme' }) },
  );
}

/** A parameter value: the real ones, near misses, empty, unicode, and huge. */
function paramValue(values: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...values) },
    { weight: 2, arbitrary: fc.constant('') },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...values), fc.string({ maxLength: 4, unit: 'grapheme' })).map(([value, tail]) => value + tail) },
    { weight: 3, arbitrary: fc.string({ maxLength: 40, unit: 'grapheme' }) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: BODY_LIMIT + 2048 }).map((n) => 'x'.repeat(n)) },
    { weight: 1, arbitrary: fc.integer({ min: BODY_LIMIT - 64, max: BODY_LIMIT + 64 }).map((n) => 'é'.repeat(Math.floor(n / 2))) },
  );
}

const percent = (text: string) => encodeURIComponent(text);
/** Each UTF-16 unit's low byte, percent-encoded: what a Latin-1 client sends (invalid UTF-8). */
const latin1Percent = (text: string) => [...Buffer.from(text, 'latin1')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
const FORM_ENCODERS: Record<string, (text: string) => string> = {
  percent,
  plus: (text) => percent(text).replace(/%20/g, '+'),
  raw: (text) => text,
  latin1: latin1Percent,
};

/**
 * Parameters as pairs (a name may come twice): mostly one of the `valid` requests with each
 * parameter kept, dropped, emptied, changed, repeated or misnamed, plus stray ones; sometimes
 * pairs made up from scratch.
 */
function paramPairs<V>(valid: readonly Record<string, string>[], names: readonly string[], value: fc.Arbitrary<V | string>): fc.Arbitrary<[string, V | string][]> {
  const name = paramName(names);
  // Stray parameters are mostly unknown ones (a real name there is a repeat, tried enough above).
  const stray = fc.tuple(paramName(names, 1), value);
  const mutated = fc.constantFrom(...valid).chain((base) =>
    fc
      .tuple(
        fc.tuple(
          ...Object.entries(base).map(([key, real]) =>
            fc.oneof(
              { weight: 16, arbitrary: fc.constant([[key, real]]) },
              { weight: 1, arbitrary: fc.constant([]) },
              { weight: 1, arbitrary: fc.constant([[key, '']]) },
              { weight: 2, arbitrary: value.map((v) => [[key, v]]) },
              { weight: 1, arbitrary: value.map((v) => [[key, real], [key, v]]) },
              { weight: 1, arbitrary: name.map((other) => [[other, real]]) },
            ),
          ),
        ),
        fc.array(stray, { maxLength: 3 }),
      )
      .map(([kept, extra]) => [...(kept as [string, V | string][][]).flat(), ...extra]),
  );
  return fc.oneof({ weight: 4, arbitrary: mutated }, { weight: 1, arbitrary: fc.array(fc.tuple(name, value), { maxLength: 8 }) });
}

function formBody(valid: readonly Record<string, string>[], names: readonly string[], values: readonly string[]): fc.Arbitrary<string> {
  return fc
    .record({
      pairs: paramPairs(valid, names, paramValue(values)),
      encoding: fc.constantFrom(...Object.keys(FORM_ENCODERS)),
      breaks: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...BROKEN_ESCAPES)), { minLength: 1, maxLength: 3 }) }),
    })
    .map(({ pairs, encoding, breaks }) => {
      const encode = FORM_ENCODERS[encoding];
      let text = pairs.map(([name, value]) => `${encode(name)}=${encode(value)}`).join('&');
      for (const [at, escape] of breaks) {
        const i = text.length === 0 ? 0 : at % text.length;
        text = text.slice(0, i) + escape + text.slice(i);
      }
      return text;
    });
}

/** JSON values of every type, the real strings among them. */
function jsonValue(values: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: paramValue(values) },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)) },
    { weight: 1, arbitrary: fc.array(paramValue(values), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
}

/** A JSON object written by hand, so a key may appear twice. */
function jsonObjectText(valid: readonly Record<string, string>[], names: readonly string[], values: readonly string[]): fc.Arbitrary<string> {
  return paramPairs(valid, names, jsonValue(values)).map((pairs) => `{${pairs.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(',')}}`);
}

/** A content type: mostly the one matching the body, sometimes any, sometimes none. */
function contentType(matching: readonly string[]): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...matching) },
    { weight: 1, arbitrary: fc.constantFrom(...FORM_TYPES, ...JSON_TYPES, ...OTHER_TYPES) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/**
 * Requests to an endpoint that reads `names` (`valid`: requests it would accept, which the
 * fuzz bends, so that it gets past the first checks): form bodies (repeats, empty values, unicode, huge
 * values, every kind of percent-encoding), JSON (wrong types, arrays, objects, null, repeated
 * keys, broken text), plain text and raw bytes, under matching and mismatched content types,
 * now and then a Content-Encoding (the body compressed or not), with one of `authorizations`
 * (or none).
 */
export function hostileRequest(
  valid: readonly Record<string, string>[],
  names: readonly string[],
  values: readonly string[],
  authorizations: readonly string[] = [],
): fc.Arbitrary<HostileRequest> {
  const authorization: fc.Arbitrary<string | undefined> =
    authorizations.length === 0
      ? fc.constant(undefined)
      : fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...authorizations) });
  const body = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('form' as const), body: formBody(valid, names, values), contentType: contentType(FORM_TYPES), latin1: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('json' as const), body: jsonObjectText(valid, names, values), contentType: contentType(JSON_TYPES), latin1: fc.constant(false) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('json-broken' as const),
        body: fc.tuple(jsonObjectText(valid, names, values), fc.nat(), fc.string({ maxLength: 3 })).map(([text, cut, tail]) => text.slice(0, cut % (text.length + 1)) + tail),
        contentType: contentType(JSON_TYPES),
        latin1: fc.constant(false),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('json-not-object' as const), body: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), contentType: contentType(JSON_TYPES), latin1: fc.constant(false) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('text' as const), body: fc.string({ maxLength: 200, unit: 'grapheme' }), contentType: contentType(OTHER_TYPES), latin1: fc.constant(false) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('bytes' as const),
        body: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
        contentType: contentType([...FORM_TYPES, ...JSON_TYPES, ...OTHER_TYPES]),
        latin1: fc.constant(true),
      }),
    },
  );
  const encoding = fc.oneof(
    { weight: 8, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: fc.record({ contentEncoding: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus'), gzipped: fc.boolean() }) },
  );
  return fc.tuple(body, authorization, encoding).map(([request, auth, coding]) => ({ ...request, ...(auth === undefined ? {} : { authorization: auth }), ...coding }));
}
