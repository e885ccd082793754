/**
 * kafkajs log entries into pino. While the broker is down, kafkajs repeats the same entry
 * several times a second (every consumer restart and reconnect attempt logs at error level):
 * each distinct entry (namespace and message) is logged once per window, and the next time it
 * is logged after the window it carries how many copies were held back.
 */
import { logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from '../logger';

export const REPEAT_WINDOW_MS = 30_000;

/** Decides, per key, whether an entry is logged now: `undefined` to hold it back, else how many were held back before it. */
export function createRepeatFilter(windowMs: number, now: () => number = Date.now): (key: string) => number | undefined {
  const seen = new Map<string, { at: number; held: number }>();
  return (key) => {
    const t = now();
    const s = seen.get(key);
    if (s && t - s.at < windowMs) {
      s.held++;
      return undefined;
    }
    // Bounded: keys are kafkajs' own messages, but a message may quote a broker or a topic.
    if (!s && seen.size >= 1000) seen.clear();
    seen.set(key, { at: t, held: 0 });
    return s?.held ?? 0;
  };
}

export function pinoLogCreator(root: Logger, windowMs = REPEAT_WINDOW_MS): logCreator {
  const logger = root.child({ component: 'kafkajs' });
  const admit = createRepeatFilter(windowMs);
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      // kafkajs puts its own timestamp and logger name in each entry; pino has both already.
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
      const held = admit(`${level}\u0000${namespace}\u0000${message}`);
      if (held === undefined) return;
      const data = { namespace, ...fields, ...(held > 0 ? { repeated_since_last: held } : {}) };
      if (level === logLevel.ERROR) logger.error(data, message);
      else if (level === logLevel.WARN) logger.warn(data, message);
      else if (level === logLevel.INFO) logger.info(data, message);
      else logger.debug(data, message);
    };
}
