/**
 * kafkajs 2.2.4 is patched at install (patches/kafkajs+2.2.4.patch, the postinstall script):
 * its producer grouped a send's messages per partition in quadratic time, which the speed
 * layer's sends of a flush group's decisions (tens of thousands at catch-up) paid for. The
 * patched grouping must give what the original gave: every message, in order, per partition.
 * Its request queue also set negative timeouts, which Node 24 warns about on every connection.
 */
import { readFileSync } from 'node:fs';
import { Partitioners } from 'kafkajs';

// Not part of kafkajs's typed API: the module the patch replaces.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition') as (o: {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  messages: { key?: string; partition?: number; value: string }[];
  partitioner: (o: unknown) => number;
}) => Record<string, { value: string }[]>;

const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1 }));
// What the speed layer's producer uses (kafkajs's default).
const partitioner = (Partitioners.DefaultPartitioner as () => (o: unknown) => number)();

it('is installed patched', () => {
  expect(readFileSync(require.resolve('kafkajs/src/producer/groupMessagesPerPartition'), 'utf8')).toContain('Patched by weir');
  expect(readFileSync(require.resolve('kafkajs/src/network/requestQueue'), 'utf8')).toContain('Math.max(scheduleAt, 0)');
});

it('groups every message by partition in send order', () => {
  const messages = [2, 0, 2, 1, 0, 2].map((partition, i) => ({ partition, value: `m${i}` }));
  const grouped = groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner });
  expect(Object.fromEntries(Object.entries(grouped).map(([p, ms]) => [p, ms.map((m) => m.value)]))).toEqual({
    0: ['m1', 'm4'],
    1: ['m3'],
    2: ['m0', 'm2', 'm5'],
  });
});

it('sends keyed messages to the partition the key hashes to, as before', () => {
  const messages = Array.from({ length: 300 }, (_, i) => ({ key: `app:device-${i % 50}`, value: `m${i}` }));
  const grouped = groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner });
  expect(Object.values(grouped).reduce((n, ms) => n + ms.length, 0)).toBe(300);
  for (const [p, ms] of Object.entries(grouped)) {
    for (const m of ms) {
      const original = messages.find((x) => x.value === m.value) as { key: string };
      expect(String(partitioner({ topic: 't', partitionMetadata, message: original }))).toBe(p);
    }
  }
  // Within a partition, send order.
  for (const ms of Object.values(grouped)) expect(ms.map((m) => Number(m.value.slice(1)))).toEqual([...ms.map((m) => Number(m.value.slice(1)))].sort((a, b) => a - b));
});
