import { constantTimeEqual, generateDeviceCode, sha256Hex } from '../../src/codes/device-code';

describe('generateDeviceCode', () => {
  it('is 43 base64url characters carrying 256 bits', () => {
    for (let i = 0; i < 500; i++) {
      const code = generateDeviceCode();
      expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(code, 'base64url')).toHaveLength(32);
    }
  });

  it('is URL- and form-safe as it is', () => {
    const code = generateDeviceCode();
    expect(encodeURIComponent(code)).toBe(code);
    expect(new URLSearchParams({ device_code: code }).toString()).toBe(`device_code=${code}`);
  });

  it('never repeats across many draws', () => {
    const codes = new Set<string>();
    for (let i = 0; i < 10000; i++) codes.add(generateDeviceCode());
    expect(codes.size).toBe(10000);
  });
});

describe('sha256Hex', () => {
  it('matches the known vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes the UTF-8 bytes of the string', () => {
    expect(sha256Hex('The quick brown fox jumps over the lazy dog')).toBe(
      'd7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592',
    );
    // bytes c3 a9
    expect(sha256Hex('é')).toBe('4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c');
  });

  it('is 64 lower-case hex characters', () => {
    expect(sha256Hex(generateDeviceCode())).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('constantTimeEqual', () => {
  it('is true for equal strings', () => {
    expect(constantTimeEqual('secret', 'secret')).toBe(true);
    expect(constantTimeEqual('', '')).toBe(true);
    const code = generateDeviceCode();
    expect(constantTimeEqual(code, `${code}`)).toBe(true);
  });

  it('is false for different strings of the same length', () => {
    expect(constantTimeEqual('secret', 'secreT')).toBe(false);
    expect(constantTimeEqual('aaaa', 'aaab')).toBe(false);
  });

  it('is false for strings of different lengths, including the empty string', () => {
    expect(constantTimeEqual('secret', 'secret1')).toBe(false);
    expect(constantTimeEqual('secret1', 'secret')).toBe(false);
    expect(constantTimeEqual('', 'a')).toBe(false);
    expect(constantTimeEqual('a', '')).toBe(false);
  });

  it('is false when a prefix matches', () => {
    expect(constantTimeEqual('abc', 'ab')).toBe(false);
  });
});
