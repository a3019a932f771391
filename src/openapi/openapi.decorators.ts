import { applyDecorators, Type } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiProduces, ApiResponse } from '@nestjs/swagger';
import { OAuthErrorBody } from './openapi.models';

/** Every JSON endpoint's error answer, common to all of them. */
const COMMON_ERRORS: Record<number, string> = {
  400: 'invalid_request (missing, repeated, empty, oversized or mistyped parameter; unreadable body)',
  413: 'invalid_request: the body is over 16 KiB',
  415: 'invalid_request: the body is neither form-encoded nor JSON',
};

/** Documents a JSON endpoint: its summary, parameters, success body and OAuth-shaped errors. */
export function ApiJsonEndpoint(summary: string, params: Type | undefined, ok: Type, errors: Record<number, string> = {}) {
  return applyDecorators(
    ApiOperation({ summary }),
    ...(params ? [ApiConsumes('application/x-www-form-urlencoded', 'application/json'), ApiBody({ type: params })] : []),
    ApiOkResponse({ type: ok }),
    ...Object.entries({ ...COMMON_ERRORS, ...errors }).map(([status, description]) =>
      ApiResponse({ status: Number(status), description, type: OAuthErrorBody }),
    ),
  );
}

/** Documents an HTML page of the verification flow. */
export function ApiPage(summary: string, responses: Record<number, string>, params?: Type) {
  return applyDecorators(
    ApiOperation({ summary }),
    ApiProduces('text/html'),
    ...(params ? [ApiConsumes('application/x-www-form-urlencoded'), ApiBody({ type: params })] : []),
    ...Object.entries(responses).map(([status, description]) => ApiResponse({ status: Number(status), description })),
  );
}
