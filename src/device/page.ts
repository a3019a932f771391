/** What a verification-page handler answers: an HTML page with a status, or a redirect. */
export type PageResult = { status: number; body: string; headers?: Record<string, string> } | { redirect: string };

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
