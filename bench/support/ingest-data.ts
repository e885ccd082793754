/**
 * The bench's input, written to files before anything is timed: the generated wire events
 * as request bodies of `batchSize` events (one JSON body per line), and the same events as
 * the collector would store them (`key<TAB>stored-event JSON` per line) for the baselines,
 * and the stored-event JSON alone (one per line) as the Java producer's payload file.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { enrichEvent } from '../../ingest/collector/enrich-event';
import { generateEvents } from '../../ingest/load-generator/generate-events';
import { parseTime, validateWireEvent, type WireEvent } from '../../schemas/event';
import { eventKey } from '../../schemas/topics';

export interface IngestData {
  events: number;
  bodies: number;
  bodyBytes: number;
  storedBytes: number;
  /** Events the collector will reject (none, unless the generator's defaults change). */
  invalid: number;
}

export function writeIngestData(o: {
  appId: string;
  events: number;
  batchSize: number;
  seed: number;
  bodiesFile: string;
  storedFile: string;
  payloadFile: string;
}): IngestData {
  const now = Date.now();
  const bodiesFd = openSync(o.bodiesFile, 'w');
  const storedFd = openSync(o.storedFile, 'w');
  const payloadFd = openSync(o.payloadFile, 'w');
  const out: IngestData = { events: 0, bodies: 0, bodyBytes: 0, storedBytes: 0, invalid: 0 };
  let batch: WireEvent[] = [];
  let stored: string[] = [];
  let payloads: string[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    const body = `${JSON.stringify({ events: batch })}\n`;
    out.bodyBytes += writeSync(bodiesFd, body);
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
    closeSync(storedFd);
    closeSync(payloadFd);
  }
  return out;
}
