/**
 * What the admin routes take for an app (DESIGN.md section 7), checked before anything is
 * written: a bad field is a 400 that names what is allowed, and changes nothing.
 */
import { AppError } from '../errors';
import { invalidCidrs } from '../../schemas/cidr';

export const APP_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The longest attribution lookback rule 2 allows. */
export const MAX_LOOKBACK_DAYS = 30;

export const KEY_FIELDS = ['write_key', 'read_key'] as const;
export type KeyField = (typeof KEY_FIELDS)[number];

export interface AppSettingsInput {
  lookback_days?: number;
  ip_blocklist?: string[];
}

/** A PATCH of an app: settings, keys to rotate, disabling or enabling. */
export interface AppChange extends AppSettingsInput {
  rotate?: KeyField[];
  disabled?: boolean;
}

export function validateAppSettings(input: unknown, partial: boolean): AppChange & { app_id?: string } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AppError('bad_request', 'body must be a JSON object');
  }
  const o = input as Record<string, unknown>;
  const allowed = partial ? ['lookback_days', 'ip_blocklist', 'rotate', 'disabled'] : ['app_id', 'lookback_days', 'ip_blocklist'];
  const unknown = Object.keys(o).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new AppError('bad_request', `unknown field(s) ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
  if (!partial && (typeof o.app_id !== 'string' || !APP_ID_RE.test(o.app_id))) {
    throw new AppError('bad_request', 'app_id must match ^[a-z0-9][a-z0-9_-]{0,63}$');
  }
  // Rule 2 allows 1–30 days (DESIGN.md section 4); a batch run reads clicks that far back.
  if (o.lookback_days !== undefined && (!Number.isInteger(o.lookback_days) || (o.lookback_days as number) < 1 || (o.lookback_days as number) > MAX_LOOKBACK_DAYS)) {
    throw new AppError('bad_request', `lookback_days must be an integer from 1 to ${MAX_LOOKBACK_DAYS}`);
  }
  if (o.ip_blocklist !== undefined) {
    if (!Array.isArray(o.ip_blocklist) || !o.ip_blocklist.every((c) => typeof c === 'string') || o.ip_blocklist.length > 10_000) {
      throw new AppError('bad_request', 'ip_blocklist must be an array of at most 10000 CIDR strings');
    }
    const bad = invalidCidrs(o.ip_blocklist as string[]);
    if (bad.length) throw new AppError('bad_request', `ip_blocklist has invalid CIDR(s): ${bad.slice(0, 5).join(', ')}`);
  }
  if (o.rotate !== undefined) {
    const r = o.rotate;
    const ok = Array.isArray(r) && r.length >= 1 && r.length <= 2 && new Set(r).size === r.length && r.every((k) => (KEY_FIELDS as readonly unknown[]).includes(k));
    if (!ok) throw new AppError('bad_request', 'rotate must be a non-empty array of distinct key names: write_key, read_key');
  }
  if (o.disabled !== undefined && typeof o.disabled !== 'boolean') throw new AppError('bad_request', 'disabled must be true or false');
  return o as AppChange & { app_id?: string };
}
