import { InvalidRequestError } from '../oauth/oauth.errors';

/** Longest value accepted per parameter; anything longer is refused before it is used. */
export type ParamLimits<K extends string> = Readonly<Record<K, number>>;

/**
 * Reads named string parameters from a parsed form or JSON body, by the rules every endpoint
 * keeps: names are case-sensitive, an empty value counts as absent, a repeated parameter (which
 * the body parsers hand over as an array) or a non-string JSON value is `invalid_request`, an
 * oversized value is `invalid_request`, and unknown parameters are ignored.
 */
export function readParams<K extends string>(body: unknown, limits: ParamLimits<K>): Partial<Record<K, string>> {
  if (body === undefined || body === '') return {};
  // `null` is what a JSON body of `null` parses to (no request body is `undefined`): not parameters.
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError('The request body must be form-encoded parameters or a JSON object.');
  }
  const out: Partial<Record<K, string>> = {};
  for (const name of Object.keys(limits) as K[]) {
    if (!Object.hasOwn(body, name)) continue;
    const value: unknown = (body as Record<string, unknown>)[name];
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) throw new InvalidRequestError(`The '${name}' parameter is repeated.`);
    if (typeof value !== 'string') throw new InvalidRequestError(`The '${name}' parameter must be a string.`);
    if (value.length > limits[name]) {
      throw new InvalidRequestError(`The '${name}' parameter is longer than ${limits[name]} characters.`);
    }
    out[name] = value;
  }
  return out;
}

/** A header's single value; a header sent twice is ambiguous and refused. */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  if (Array.isArray(value)) throw new InvalidRequestError(`The ${name} header is repeated.`);
  return value === '' ? undefined : value;
}

/** The only media types the JSON endpoints read parameters from. */
const PARAM_MEDIA_TYPES: ReadonlySet<string> = new Set(['application/x-www-form-urlencoded', 'application/json']);

/**
 * Refuses a body declared as anything but form-encoded or JSON, or compressed (415). Without this, the
 * adapters disagree: Fastify parses `text/plain` into a string while Express drops the body
 * unread, so the same request got a different, misleading error on each.
 */
export function assertParamsMediaType(headers: Record<string, string | string[] | undefined>): void {
  // The same holds for compression: Express inflates gzip, Fastify would read the bytes as a form.
  const encoding = headerValue(headers, 'content-encoding')?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== 'identity') {
    throw new InvalidRequestError('Send the body uncompressed (no Content-Encoding).', 415);
  }
  const contentType = headerValue(headers, 'content-type');
  if (contentType === undefined) return;
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  if (!PARAM_MEDIA_TYPES.has(mediaType)) {
    throw new InvalidRequestError('Send the parameters form-encoded (application/x-www-form-urlencoded) or as JSON.', 415);
  }
}
