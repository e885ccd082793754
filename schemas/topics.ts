/**
 * Kafka topic names (DESIGN.md section 2). A deployment may prefix them
 * (`KAFKA_TOPIC_PREFIX`), which is also how tests sharing one broker stay apart.
 */
export interface Topics {
  events: string;
  dlq: string;
  attributions: string;
}

export const TOPICS: Topics = { events: 'events', dlq: 'events.dlq', attributions: 'attributions' };

export function topicNames(prefix = ''): Topics {
  return { events: `${prefix}${TOPICS.events}`, dlq: `${prefix}${TOPICS.dlq}`, attributions: `${prefix}${TOPICS.attributions}` };
}

/** Partitions are the unit of parallelism of the speed layer and the archiver. */
export const EVENTS_PARTITIONS = 6;

/** Events are keyed by app and device so that a device's clicks and installs meet in one partition. */
export function eventKey(appId: string, deviceId: string): string {
  // app_id cannot contain ':' (^[a-z0-9][a-z0-9_-]{0,63}$), so the key is unambiguous.
  return `${appId}:${deviceId}`;
}
