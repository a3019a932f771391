import fc from 'fast-check';
import { formatUserCode, isWellFormedUserCode, normalizeUserCode, USER_CODE_PRESETS, UserCodeFormat } from '../../src/codes/user-code';

/**
 * Properties of the user-code matching rule (SPEC: upper-cased, every character outside the
 * charset dropped): whatever way a person types a code, it matches that code, and only that one.
 */

const ASCII_ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The presets, and custom formats as the options allow them (10+ distinct A-Z/0-9, length 6-16). */
const formats: fc.Arbitrary<UserCodeFormat> = fc.oneof(
  fc.constantFrom(...Object.values(USER_CODE_PRESETS)),
  fc.record({
    charset: fc.shuffledSubarray([...ASCII_ALPHANUMERIC], { minLength: 10 }).map((chars) => chars.join('')),
    length: fc.integer({ min: 6, max: 16 }),
  }),
);

const codeOf = (format: UserCodeFormat) => fc.array(fc.constantFrom(...format.charset), { minLength: format.length, maxLength: format.length }).map((chars) => chars.join(''));

const formatAndCode = formats.chain((format) => fc.tuple(fc.constant(format), codeOf(format)));

/**
 * What may stand between a code's characters: separators, any non-ASCII character (never a
 * code character, however it upper-cases), and ASCII that is not in the charset in either case.
 */
function noise(format: UserCodeFormat): fc.Arbitrary<string> {
  const asciiOutside = [...Array(128).keys()].map((c) => String.fromCharCode(c)).filter((ch) => !format.charset.includes(ch.toUpperCase()));
  return fc.oneof(
    fc.constantFrom(' ', '-', '–', '\t', '\u00a0', '\u3000'),
    fc.constantFrom(...asciiOutside),
    fc.integer({ min: 0x80, max: 0x10ffff }).filter((cp) => cp < 0xd800 || cp > 0xdfff).map((cp) => String.fromCodePoint(cp)),
  );
}

/** The code as typed: each letter in either case, and noise before, between and after. */
function typed(format: UserCodeFormat, code: string): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(fc.boolean(), { minLength: code.length, maxLength: code.length }),
      fc.array(fc.array(noise(format), { maxLength: 3 }), { minLength: code.length + 1, maxLength: code.length + 1 }),
    )
    .map(([lower, gaps]) => gaps[0].join('') + [...code].map((ch, i) => (lower[i] ? ch.toLowerCase() : ch) + gaps[i + 1].join('')).join(''));
}

describe('user-code matching (properties)', () => {
  it('any spacing, case or noise around a code normalises to exactly that code', () => {
    fc.assert(
      fc.property(
        formatAndCode.chain(([format, code]) => fc.tuple(fc.constant(format), fc.constant(code), typed(format, code))),
        ([format, code, input]) => {
          expect(normalizeUserCode(input, format)).toBe(code);
          expect(isWellFormedUserCode(normalizeUserCode(input, format), format)).toBe(true);
        },
      ),
    );
  });

  it('the displayed form, typed any way, normalises back to the code', () => {
    fc.assert(
      fc.property(
        formatAndCode.chain(([format, code]) => fc.tuple(fc.constant(format), fc.constant(code), typed(format, formatUserCode(code)))),
        ([format, code, input]) => expect(normalizeUserCode(input, format)).toBe(code),
      ),
    );
  });

  it('a code one character away, typed any way, never normalises to the code', () => {
    const neighbour = formatAndCode.chain(([format, code]) =>
      fc
        .tuple(fc.nat({ max: code.length - 1 }), fc.constantFrom(...format.charset))
        .filter(([i, ch]) => code[i] !== ch)
        .chain(([i, ch]) => fc.tuple(fc.constant(format), fc.constant(code), typed(format, code.slice(0, i) + ch + code.slice(i + 1)))),
    );
    fc.assert(fc.property(neighbour, ([format, code, input]) => expect(normalizeUserCode(input, format)).not.toBe(code)));
  });

  it('a code with one character missing or one extra is not well formed', () => {
    fc.assert(
      fc.property(
        formatAndCode.chain(([format, code]) => fc.tuple(fc.constant(format), fc.constant(code), fc.nat({ max: code.length - 1 }), fc.constantFrom(...format.charset))),
        ([format, code, i, extra]) => {
          expect(isWellFormedUserCode(normalizeUserCode(code.slice(0, i) + code.slice(i + 1), format), format)).toBe(false);
          expect(isWellFormedUserCode(normalizeUserCode(code.slice(0, i) + extra + code.slice(i), format), format)).toBe(false);
        },
      ),
    );
  });

  it('normalising keeps only charset characters and is idempotent', () => {
    fc.assert(
      fc.property(formats, fc.string({ maxLength: 40, unit: 'binary' }), (format, input) => {
        const once = normalizeUserCode(input, format);
        expect([...once].every((ch) => format.charset.includes(ch))).toBe(true);
        expect(normalizeUserCode(once, format)).toBe(once);
      }),
    );
  });
});
