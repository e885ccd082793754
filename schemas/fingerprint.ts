import { createHash } from 'node:crypto';

const MAX_MESSAGE_CHARS = 512;

/**
 * Error fingerprint of DESIGN.md section 3: the first 16 hex digits of SHA-1 over
 * `error_type + "\n" + normalised message`. Normalising replaces every run of 8+ hex digits,
 * then every run of ASCII digits, by `#`, trims white space and keeps the first 512
 * characters (code points, not UTF-16 units, so a surrogate pair is never split).
 */
export function errorFingerprint(errorType: string, message: string): string {
  const normalised = Array.from(
    message
      .replace(/[0-9a-f]{8,}/gi, '#')
      .replace(/[0-9]+/g, '#')
      .trim(),
  )
    .slice(0, MAX_MESSAGE_CHARS)
    .join('');
  return createHash('sha1').update(`${errorType}\n${normalised}`, 'utf8').digest('hex').slice(0, 16);
}
