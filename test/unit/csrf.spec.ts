import { csrfTokenFor, isValidCsrfToken } from '../../src/device/csrf';

const SECRET = 'csrf-secret-0123456789-0123456789-abc';
const OTHER_SECRET = 'another-secret-0123456789-0123456789';
const alice = { id: 'alice', sessionId: 'session-1' };

describe('csrfTokenFor', () => {
  it('is stable for the same session', () => {
    expect(csrfTokenFor(SECRET, alice)).toBe(csrfTokenFor(SECRET, { ...alice }));
    expect(csrfTokenFor(SECRET, alice)).toBe(csrfTokenFor(SECRET, { id: 'alice', sessionId: 'session-1', displayName: 'Alice' }));
  });

  it('is a 256-bit base64url value, safe in a form field', () => {
    expect(csrfTokenFor(SECRET, alice)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('differs per session of the same user', () => {
    expect(csrfTokenFor(SECRET, alice)).not.toBe(csrfTokenFor(SECRET, { id: 'alice', sessionId: 'session-2' }));
  });

  it('is bound to the session, not the user id', () => {
    expect(csrfTokenFor(SECRET, alice)).toBe(csrfTokenFor(SECRET, { id: 'bob', sessionId: 'session-1' }));
  });

  it('falls back to the user id when there is no session id', () => {
    expect(csrfTokenFor(SECRET, { id: 'alice' })).toBe(csrfTokenFor(SECRET, { id: 'x', sessionId: 'alice' }));
    expect(csrfTokenFor(SECRET, { id: 'alice' })).not.toBe(csrfTokenFor(SECRET, { id: 'bob' }));
  });

  it('differs per secret', () => {
    expect(csrfTokenFor(SECRET, alice)).not.toBe(csrfTokenFor(OTHER_SECRET, alice));
  });
});

describe('isValidCsrfToken', () => {
  const token = csrfTokenFor(SECRET, alice);

  it('accepts the token of the session', () => {
    expect(isValidCsrfToken(SECRET, alice, token)).toBe(true);
  });

  it('rejects a missing token', () => {
    expect(isValidCsrfToken(SECRET, alice, undefined)).toBe(false);
  });

  it('rejects an empty or wrong token', () => {
    expect(isValidCsrfToken(SECRET, alice, '')).toBe(false);
    expect(isValidCsrfToken(SECRET, alice, 'x'.repeat(43))).toBe(false);
    expect(isValidCsrfToken(SECRET, alice, token.slice(0, -1))).toBe(false);
    expect(isValidCsrfToken(SECRET, alice, `${token}x`)).toBe(false);
    expect(isValidCsrfToken(SECRET, alice, token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase())).toBe(false);
  });

  it("rejects another session's token", () => {
    expect(isValidCsrfToken(SECRET, alice, csrfTokenFor(SECRET, { id: 'alice', sessionId: 'session-2' }))).toBe(false);
    expect(isValidCsrfToken(SECRET, { id: 'alice', sessionId: 'session-2' }, token)).toBe(false);
  });

  it('rejects a token made with another secret', () => {
    expect(isValidCsrfToken(SECRET, alice, csrfTokenFor(OTHER_SECRET, alice))).toBe(false);
  });
});
