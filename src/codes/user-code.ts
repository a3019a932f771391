import { randomInt } from 'node:crypto';

/** A user-code alphabet and length; the code is shown in two halves joined by a dash. */
export interface UserCodeFormat {
  readonly charset: string;
  readonly length: number;
}

/**
 * RFC 8628 §6.1: base-20 consonants avoid vowels (no accidental words) and look-alikes,
 * so 8 characters give 20^8 ≈ 2.6e10 codes.
 */
export const USER_CODE_PRESETS = {
  base20: { charset: 'BCDFGHJKLMNPQRSTVWXZ', length: 8 },
  digits: { charset: '0123456789', length: 9 },
  alphanumeric: { charset: 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789', length: 8 },
} as const satisfies Record<string, UserCodeFormat>;

export type UserCodePreset = keyof typeof USER_CODE_PRESETS;

/** Draws a fresh code in its normalised (stored) form: no separator. */
export function generateUserCode(format: UserCodeFormat): string {
  let code = '';
  for (let i = 0; i < format.length; i++) code += format.charset[randomInt(format.charset.length)];
  return code;
}

/**
 * What a person typed, reduced to the stored form: upper-cased, every character outside the
 * charset dropped. `bdwp hqpk`, `BDWP-HQPK` and `bdwphqpk` all become `BDWPHQPK`.
 */
export function normalizeUserCode(input: string, format: UserCodeFormat): string {
  let out = '';
  for (const ch of input) {
    // Upper-case only ASCII: some letters (ß, ﬀ, ſ) upper-case into ASCII and would sneak in.
    const upper = ch.charCodeAt(0) < 128 ? ch.toUpperCase() : ch;
    if (format.charset.includes(upper)) out += upper;
  }
  return out;
}

/** True when a normalised code has the shape a real code could have (saves a lookup). */
export function isWellFormedUserCode(normalized: string, format: UserCodeFormat): boolean {
  return normalized.length === format.length;
}

/** The displayed form, `BDWP-HQPK`: split in the middle for easier reading. */
export function formatUserCode(normalized: string): string {
  const half = Math.ceil(normalized.length / 2);
  return `${normalized.slice(0, half)}-${normalized.slice(half)}`;
}
