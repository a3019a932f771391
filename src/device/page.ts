import { SafeHtml } from './html';

/** What a verification-page handler answers: an HTML page with a status, or a redirect. */
export type PageResult = { status: number; body: SafeHtml; headers?: Record<string, string> } | { redirect: string };

/**
 * Headers on every page: no framing (the approve button cannot be clickjacked), no inline
 * script or style, forms post only to us, nothing cached, no referrer leaking the user code.
 */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
};

/** A page-level failure: the handler stops and the filter renders this message with the status. */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(title);
    this.name = 'PageError';
  }
}
