import { logLevel } from 'kafkajs';
import pino from 'pino';
import { Writable } from 'node:stream';
import { createRepeatFilter, pinoLogCreator } from '../../infra/kafka/kafkajs-log';

describe('kafkajs log repeat filter', () => {
  it('admits each key once per window and then reports how many copies it held back', () => {
    let t = 0;
    const admit = createRepeatFilter(30_000, () => t);
    expect(admit('a')).toBe(0);
    t = 250;
    expect(admit('a')).toBeUndefined();
    expect(admit('b')).toBe(0); // another entry is not held back by the first
    t = 29_999;
    expect(admit('a')).toBeUndefined();
    t = 30_000;
    expect(admit('a')).toBe(2);
    t = 70_000;
    expect(admit('a')).toBe(0);
  });

  it('logs a burst of identical kafkajs errors once, with the fields pino needs', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString()) as Record<string, unknown>), cb()) });
    const log = pinoLogCreator(pino({ level: 'debug' }, sink))(logLevel.DEBUG);
    const entry = (message: string) => ({ namespace: 'Consumer', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 'x', logger: 'kafkajs', message, retryTime: 250 } });
    for (let i = 0; i < 20; i++) log(entry('Restarting the consumer in 250ms'));
    log(entry('Crash: KafkaJSConnectionError'));
    expect(lines.map((l) => l.msg)).toEqual(['Restarting the consumer in 250ms', 'Crash: KafkaJSConnectionError']);
    expect(lines[0]).toMatchObject({ level: 50, component: 'kafkajs', namespace: 'Consumer', retryTime: 250 });
    expect(lines[0]).not.toHaveProperty('timestamp');
  });
});
