import type { Message, Producer } from 'kafkajs';

/**
 * kafkajs groups a send's messages by partition with an array spread per message
 * (groupMessagesPerPartition), quadratic in the messages of one send, and encodes a send
 * whole before the request goes out. Slices of this many, sent together, cut the time to
 * produce 25k decisions on this project's machines from ~0.45 s to ~0.3 s.
 */
const SLICE = 500;

/**
 * Sends `messages` to `topic`, each acknowledged by every in-sync replica; resolves once all
 * are, rejects if any send fails. The slices travel concurrently, so their order is not kept:
 * for messages that are independent of each other (decisions, dead letters), with a producer
 * whose maxInFlightRequests allows more than one request.
 */
export async function sendInSlices(producer: Producer, topic: string, messages: readonly Message[]): Promise<void> {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += SLICE) sends.push(producer.send({ topic, acks: -1, messages: messages.slice(i, i + SLICE) }));
  await Promise.all(sends);
}
