import type { Batch, KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { createTimeLag } from '../../infra/kafka/time-lag';

const batch = (partition: number, offsets: [number, number], timestamps: [number, number], highWatermark: number): Batch =>
  ({
    partition,
    highWatermark: String(highWatermark),
    messages: [
      { offset: String(offsets[0]), timestamp: String(timestamps[0]) },
      { offset: String(offsets[1]), timestamp: String(timestamps[1]) },
    ] as KafkaMessage[],
    lastOffset: () => String(offsets[1]),
  }) as unknown as Batch;

async function lagSeconds(registry: Registry): Promise<Record<string, number>> {
  const m = (await registry.getSingleMetric('weir_speed_lag_seconds')?.get())?.values ?? [];
  return Object.fromEntries(m.map((v) => [String(v.labels.partition), v.value]));
}

describe('lag in seconds', () => {
  it('is the age of the oldest unwritten event, growing while a batch is stuck, 0 at the end of the partition', async () => {
    const registry = new Registry();
    let now = 100_000;
    const lag = createTimeLag('speed', registry, () => now);
    const stuck = batch(0, [10, 19], [40_000, 41_000], 50);
    lag.started(stuck);
    expect(await lagSeconds(registry)).toEqual({ '0': 60 });
    now += 30_000;
    expect(await lagSeconds(registry)).toEqual({ '0': 90 });

    lag.written(stuck); // 30 messages still behind: at most as old as the last written one
    lag.written(batch(1, [0, 4], [129_000, 130_000], 5)); // at the end
    expect(await lagSeconds(registry)).toEqual({ '0': 89, '1': 0 });

    lag.reset(); // rebalanced away: no frozen figures
    expect(await lagSeconds(registry)).toEqual({});
  });
});
