import pino, { type Logger } from 'pino';

export type { Logger };

/** The one root logger; layers take children (`root.child({ layer: 'speed' })`). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'weir' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
