/**
 * The bench's input, written to files before anything is timed: the generated wire events
 * as request bodies of `batchSize` events (one JSON body per line), the same events as
 * Segment batches of as many messages for `/v1/batch` (segment-message-of.ts), as the
 * collector would store them (`key<TAB>stored-event JSON` per line) for the baselines, and the
 * stored-event JSON alone (one per line) as the Java producer's payload file.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { enrichEvent } from '../../ingest/collector/enrich-event';
import { segmentCodec } from '../../ingest/collector/routes/segment';
import { generateEvents } from '../../ingest/load-generator/generate-events';
import { parseTime, validateWireEvent, type WireEvent } from '../../schemas/event';
import { eventKey } from '../../schemas/topics';
import { segmentMessageOf } from './segment-message-of';

export interface IngestData {
  events: number;
  bodies: number;
  bodyBytes: number;
  storedBytes: number;
  /** Events the collector will reject (none, unless the generator's defaults change). */
  invalid: number;
  segmentBodyBytes: number;
  /** What the collector stores for the Segment messages: larger, `properties` keeps each whole message. */
  segmentStoredBytes: number;
  /** Segment messages the collector will dead-letter (as many as `invalid`, unless the mapping loses an event). */
  segmentInvalid: number;
}

export function writeIngestData(o: {
  appId: string;
  events: number;
  batchSize: number;
  seed: number;
  bodiesFile: string;
  segmentBodiesFile: string;
  storedFile: string;
  /** The records the Segment messages become, as `storedFile` has them for the wire events. */
  segmentStoredFile: string;
  payloadFile: string;
}): IngestData {
  const now = Date.now();
  const bodiesFd = openSync(o.bodiesFile, 'w');
  const segmentFd = openSync(o.segmentBodiesFile, 'w');
  const storedFd = openSync(o.storedFile, 'w');
  const segmentStoredFd = openSync(o.segmentStoredFile, 'w');
  const payloadFd = openSync(o.payloadFile, 'w');
  const out: IngestData = { events: 0, bodies: 0, bodyBytes: 0, storedBytes: 0, invalid: 0, segmentBodyBytes: 0, segmentStoredBytes: 0, segmentInvalid: 0 };
  const segment = segmentCodec(o.appId);
  let batch: WireEvent[] = [];
  let stored: string[] = [];
  let payloads: string[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    const body = `${JSON.stringify({ events: batch })}\n`;
    out.bodyBytes += writeSync(bodiesFd, body);
    const messages = batch.map(segmentMessageOf);
    for (const m of messages) {
      const d = segment.decode(m, now);
      const enriched = d.ok ? enrichEvent(d.value, { receivedAt: now, requestIp: '127.0.0.1' }) : undefined;
      if (enriched?.ok) {
        const value = JSON.stringify(enriched.event);
        out.segmentStoredBytes += writeSync(segmentStoredFd, `${eventKey(enriched.event.app_id, enriched.event.device_id)}\t${value}\n`);
      } else {
        out.segmentInvalid++;
      }
    }
    out.segmentBodyBytes += writeSync(segmentFd, `${JSON.stringify({ batch: messages })}\n`);
    out.storedBytes += writeSync(storedFd, stored.join(''));
    writeSync(payloadFd, payloads.join(''));
    out.bodies++;
    batch = [];
    stored = [];
    payloads = [];
  };
  try {
    for (const g of generateEvents({ seed: o.seed, startMs: now - 86_400_000, endMs: now, apps: [o.appId], events: o.events })) {
      let e = g.event;
      // As sendEvents does: a skewed device's sent_at is its clock at the *simulated* send
      // time; moved to now, the collector's clock-skew correction recovers the true time.
      if (e.sent_at !== undefined && e.sent_at !== null) {
        const sent = parseTime(e.sent_at);
        if (sent !== undefined) e = { ...e, sent_at: sent + (now - g.sendAtMs) };
      }
      batch.push(e);
      out.events++;
      const v = validateWireEvent(e);
      const enriched = v.ok ? enrichEvent(v.value, { receivedAt: now, requestIp: '127.0.0.1' }) : undefined;
      if (enriched?.ok) {
        const key = eventKey(enriched.event.app_id, enriched.event.device_id);
        if (/[\t\n]/.test(key)) throw new Error(`event key ${JSON.stringify(key)} has a tab or newline`);
        const value = JSON.stringify(enriched.event);
        stored.push(`${key}\t${value}\n`);
        payloads.push(`${value}\n`);
      } else {
        out.invalid++;
      }
      if (batch.length >= o.batchSize) flush();
    }
    flush();
  } finally {
    closeSync(bodiesFd);
    closeSync(segmentFd);
    closeSync(storedFd);
    closeSync(segmentStoredFd);
    closeSync(payloadFd);
  }
  return out;
}
