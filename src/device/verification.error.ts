/**
 * Why a verification step refused: an HTTP status, a machine-readable `error` code (for the JSON
 * API), and a title and detail written for the person (for the HTML pages).
 */
export class VerificationError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly title: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(title);
    this.name = 'VerificationError';
  }
}
