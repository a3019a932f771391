import {
  USER_CODE_PRESETS,
  UserCodeFormat,
  formatUserCode,
  generateUserCode,
  isWellFormedUserCode,
  normalizeUserCode,
} from '../../src/codes/user-code';

const { base20, digits, alphanumeric } = USER_CODE_PRESETS;
const DRAWS = 2000;

describe('USER_CODE_PRESETS', () => {
  it('base20 is the RFC 8628 §6.1 consonant set, 8 characters', () => {
    expect(base20).toEqual({ charset: 'BCDFGHJKLMNPQRSTVWXZ', length: 8 });
    expect(new Set(base20.charset).size).toBe(20);
  });

  it('digits is 0-9, 9 characters', () => {
    expect(digits).toEqual({ charset: '0123456789', length: 9 });
  });

  it("alphanumeric is OpenHands' 32-character set (no I, O, 0, 1), 8 characters", () => {
    expect(alphanumeric).toEqual({ charset: 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789', length: 8 });
    expect(new Set(alphanumeric.charset).size).toBe(32);
    for (const confusable of ['I', 'O', '0', '1']) expect(alphanumeric.charset).not.toContain(confusable);
  });
});

describe('generateUserCode', () => {
  it.each([
    ['base20', base20, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/],
    ['digits', digits, /^[0-9]{9}$/],
    ['alphanumeric', alphanumeric, /^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$/],
  ] as const)('%s: every code has the preset length and only charset characters', (_name, format, shape) => {
    for (let i = 0; i < DRAWS; i++) {
      const code = generateUserCode(format);
      expect(code).toMatch(shape);
      expect(code).toHaveLength(format.length);
    }
  });

  it.each([
    ['base20', base20],
    ['digits', digits],
    ['alphanumeric', alphanumeric],
  ] as const)('%s: codes vary and draw on the whole charset', (_name, format) => {
    const codes = new Set<string>();
    const seen = new Set<string>();
    for (let i = 0; i < DRAWS; i++) {
      const code = generateUserCode(format);
      codes.add(code);
      for (const ch of code) seen.add(ch);
    }
    // With >= 10^8 possible codes, 2000 draws colliding more than a couple of times means no randomness.
    expect(codes.size).toBeGreaterThanOrEqual(DRAWS - 2);
    expect([...seen].sort().join('')).toBe([...format.charset].sort().join(''));
  });

  it('is already normalised and well formed', () => {
    for (const format of [base20, digits, alphanumeric]) {
      const code = generateUserCode(format);
      expect(normalizeUserCode(code, format)).toBe(code);
      expect(isWellFormedUserCode(code, format)).toBe(true);
    }
  });

  it('honours a custom format', () => {
    const format: UserCodeFormat = { charset: 'XY', length: 12 };
    expect(generateUserCode(format)).toMatch(/^[XY]{12}$/);
  });
});

describe('normalizeUserCode', () => {
  it.each(['bdwp hqpk', 'BDWP-HQPK', 'bdwphqpk', ' b-d-w-p h q p k ', 'BdWp-hQpK', 'bdwp\thqpk\n', 'BDWP_HQPK', 'BDWP–HQPK'])(
    'base20: %j -> BDWPHQPK',
    (input) => {
      expect(normalizeUserCode(input, base20)).toBe('BDWPHQPK');
    },
  );

  it('base20: drops vowels and digits (outside the charset)', () => {
    expect(normalizeUserCode('BDWPAEIOUYHQPK', base20)).toBe('BDWPHQPK');
    expect(normalizeUserCode('aeiouy', base20)).toBe('');
    expect(normalizeUserCode('B0D1W2P3-4H5Q6P7K89', base20)).toBe('BDWPHQPK');
  });

  it('base20: drops non-ASCII letters, accented letters and emoji', () => {
    expect(normalizeUserCode('BDWP😀HQPK', base20)).toBe('BDWPHQPK');
    expect(normalizeUserCode('🔑BDWP-HQPK👍🏽', base20)).toBe('BDWPHQPK');
    expect(normalizeUserCode('BDWPéçñHQPK', base20)).toBe('BDWPHQPK');
    expect(normalizeUserCode('BDWPЖБHQPK', base20)).toBe('BDWPHQPK');
    expect(normalizeUserCode('ＢＤＷＰHQPK', base20)).toBe('HQPK'); // full-width letters are not the ASCII ones
  });

  // Upper-casing the whole string first turns some non-ASCII characters into ASCII charset
  // letters ('ß' -> 'SS', 'ﬀ' -> 'FF', 'ſ' -> 'S'), so they are not dropped as the spec says.
  it('base20: drops non-ASCII characters whose upper case is ASCII (ß, ﬀ, ſ)', () => {
    expect(normalizeUserCode('BDWPßHQPK', base20)).toBe('BDWPHQPK');
    expect(normalizeUserCode('BDWPﬀHQPK', base20)).toBe('BDWPHQPK');
    expect(normalizeUserCode('BDWPſHQPK', base20)).toBe('BDWPHQPK');
  });

  it('digits: keeps digits only', () => {
    expect(normalizeUserCode('123-456-789', digits)).toBe('123456789');
    expect(normalizeUserCode(' 12345 6789 ', digits)).toBe('123456789');
    expect(normalizeUserCode('abc123def456ghi789', digits)).toBe('123456789');
    expect(normalizeUserCode('١٢٣123', digits)).toBe('123'); // Arabic-Indic digits are not in the charset
  });

  it('alphanumeric: upper-cases and drops the confusable I, O, 0, 1', () => {
    expect(normalizeUserCode('ab2c-d3e4', alphanumeric)).toBe('AB2CD3E4');
    expect(normalizeUserCode('IO01ABCD-EFGH', alphanumeric)).toBe('ABCDEFGH');
  });

  it('returns an empty string for empty or all-foreign input', () => {
    expect(normalizeUserCode('', base20)).toBe('');
    expect(normalizeUserCode('   -- ', base20)).toBe('');
    expect(normalizeUserCode('😀😀', digits)).toBe('');
  });
});

describe('formatUserCode', () => {
  it('splits 8 characters 4-4', () => {
    expect(formatUserCode('BDWPHQPK')).toBe('BDWP-HQPK');
  });

  it('splits 9 digits in the middle, the longer half first', () => {
    expect(formatUserCode('123456789')).toBe('12345-6789');
  });

  it('round-trips with normalizeUserCode', () => {
    for (const format of [base20, digits, alphanumeric]) {
      const code = generateUserCode(format);
      expect(normalizeUserCode(formatUserCode(code), format)).toBe(code);
    }
  });
});

describe('isWellFormedUserCode', () => {
  it('accepts a normalised code of the preset length', () => {
    expect(isWellFormedUserCode('BDWPHQPK', base20)).toBe(true);
    expect(isWellFormedUserCode('123456789', digits)).toBe(true);
    expect(isWellFormedUserCode('AB2CD3E4', alphanumeric)).toBe(true);
  });

  it('rejects codes that are too short, too long or empty', () => {
    expect(isWellFormedUserCode('BDWPHQP', base20)).toBe(false);
    expect(isWellFormedUserCode('BDWPHQPKB', base20)).toBe(false);
    expect(isWellFormedUserCode('', base20)).toBe(false);
    expect(isWellFormedUserCode('12345678', digits)).toBe(false);
    expect(isWellFormedUserCode('1234567890', digits)).toBe(false);
  });

  it('judges the normalised form, not the typed one', () => {
    expect(isWellFormedUserCode(normalizeUserCode('bdwp-hqpk', base20), base20)).toBe(true);
    expect(isWellFormedUserCode(normalizeUserCode('bdwp-hqp', base20), base20)).toBe(false);
    expect(isWellFormedUserCode(normalizeUserCode('bdwp-hqpa', base20), base20)).toBe(false);
  });
});
