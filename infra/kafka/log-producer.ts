/**
 * The collector's way into Kafka, as small as what it needs: send keyed records and learn
 * when the broker acknowledged all of them; close. Behind it is @platformatic/kafka
 * (platformatic-producer.ts), whose producer needs about half the CPU per message of
 * kafkajs's (FIELD-NOTES, "Browsers, SDKs and Kafka clients"); consumers stay on kafkajs.
 */
export interface LogRecord {
  /** Picks the partition like kafkajs's default partitioner (key-partitioner.ts). */
  key: string;
  value: string;
  /** Epoch ms, the record's CreateTime. */
  timestamp: number;
}

export interface TopicRecords {
  topic: string;
  records: LogRecord[];
}

export interface LogProducer {
  /**
   * Resolves once the broker acknowledged every record with acks=all. Rejects when any was
   * not; some may still have been written, so a caller that retries writes copies
   * (deduplicated downstream by event_id).
   */
  send(batch: TopicRecords[]): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}
