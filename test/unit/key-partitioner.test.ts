/** keyPartition is kafkajs's default partitioning, so a device keeps its partition across clients. */
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { keyPartition } from '../../infra/kafka/key-partitioner';
import { eventKey } from '../../schemas/topics';

describe('keyPartition', () => {
  it.each([1, 2, 6, 7, 12, 64])("picks kafkajs's DefaultPartitioner partition among %i", (n) => {
    const partitionMetadata: PartitionMetadata[] = Array.from({ length: n }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 1, replicas: [1], isr: [1] }));
    const stock = Partitioners.DefaultPartitioner();
    const keys = [
      ...Array.from({ length: 3000 }, (_, i) => eventKey(`app-${i % 5}`, `device-${i * 7919}`)),
      '',
      'é€𝄞',
      'x'.repeat(5000), // past the scratch buffer
    ];
    for (const key of keys) {
      const expected = stock({ topic: 't', partitionMetadata, message: { key, value: null } });
      if (keyPartition(key, n) !== expected) throw new Error(`${JSON.stringify(key)}: ${keyPartition(key, n)}, kafkajs ${expected}`);
      expect(keyPartition(Buffer.from(key), n)).toBe(expected);
    }
  });
});
