import { applyDecorators, Type } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { OAuthErrorBody } from './openapi.models';

/** An error status: its description, and the body shapes when more than the plain OAuth error. */
export type ErrorDoc = string | { description: string; bodies: Type[] };

const UNAVAILABLE = 'the database is unavailable; try again after Retry-After seconds';

/** Every JSON endpoint's error answer, common to all of them. */
const COMMON_ERRORS: Record<number, string> = {
  400: 'invalid_request (missing, repeated, empty, oversized or mistyped parameter; unreadable body)',
  413: 'invalid_request: the body is over 16 KiB',
  415: 'invalid_request: the body is neither form-encoded nor JSON',
  503: `temporarily_unavailable: ${UNAVAILABLE}`,
};

/** Every page's answer when it cannot be served. */
const COMMON_PAGE_RESPONSES: Record<number, string> = { 503: UNAVAILABLE };

/** An endpoint's own description of a common status comes first, then the common one. */
function withCommon<T extends ErrorDoc>(common: Record<number, string>, own: Record<number, T>): Record<number, T | string> {
  const merged: Record<number, T | string> = { ...common, ...own };
  for (const [status, doc] of Object.entries(own)) {
    const shared = common[Number(status)];
    if (shared !== undefined && typeof doc === 'string') merged[Number(status)] = `${doc}; or ${shared}`;
  }
  return merged;
}

/** Documents a JSON endpoint: its summary, parameters, success body and OAuth-shaped errors. */
export function ApiJsonEndpoint(summary: string, params: Type | undefined, ok: Type, errors: Record<number, ErrorDoc> = {}) {
  const extraModels = Object.values(errors).flatMap((doc) => (typeof doc === 'string' ? [] : doc.bodies));
  return applyDecorators(
    ApiOperation({ summary }),
    ApiExtraModels(OAuthErrorBody, ...extraModels),
    ...(params ? [ApiConsumes('application/x-www-form-urlencoded', 'application/json'), ApiBody({ type: params })] : []),
    ApiOkResponse({ type: ok }),
    ...Object.entries(withCommon(COMMON_ERRORS, errors)).map(([status, doc]) =>
      typeof doc === 'string'
        ? ApiResponse({ status: Number(status), description: doc, type: OAuthErrorBody })
        : ApiResponse({ status: Number(status), description: doc.description, schema: { oneOf: doc.bodies.map((body) => ({ $ref: getSchemaPath(body) })) } }),
    ),
  );
}

/** Documents an HTML page of the verification flow. */
export function ApiPage(summary: string, responses: Record<number, string>, params?: Type) {
  return applyDecorators(
    ApiOperation({ summary }),
    ApiProduces('text/html'),
    ...(params ? [ApiConsumes('application/x-www-form-urlencoded'), ApiBody({ type: params })] : []),
    ...Object.entries(withCommon(COMMON_PAGE_RESPONSES, responses)).map(([status, description]) => ApiResponse({ status: Number(status), description })),
  );
}
