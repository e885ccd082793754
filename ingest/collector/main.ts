/** The collector: `POST /v1/events` and Segment's tracking API into Kafka (DESIGN.md sections 2, 3, 3a, 7). */
import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { AppRegistry } from '../../infra/apps/app-registry';
import type { Config } from '../../infra/config';
import { corsMiddleware } from '../../infra/http/cors';
import { createPlatformaticProducer } from '../../infra/kafka/platformatic-producer';
import type { Logger } from '../../infra/logger';
import { CidrSet } from '../../schemas/cidr';
import { createEventIntake } from './event-intake';
import { startKafkaSender } from './kafka-sender';
import { eventsRouter } from './routes/events';
import { SEGMENT_PATHS, segmentRouter } from './routes/segment';

export interface CollectorHandle {
  router: Router;
  stop(): Promise<void>;
}

export async function startCollector(
  cfg: Pick<Config, 'limits' | 'kafka' | 'corsOrigins' | 'trustedProxies'>,
  deps: { brokers: string[]; apps: AppRegistry; registry: Registry; log: Logger },
): Promise<CollectorHandle> {
  const createProducer = () => createPlatformaticProducer({ brokers: deps.brokers, clientId: 'weir-collector', security: cfg.kafka.security });
  const sender = startKafkaSender(createProducer, { topics: cfg.kafka.topics, registry: deps.registry });
  const intake = createEventIntake({ apps: deps.apps, sender, registry: deps.registry, limits: cfg.limits, trustedProxies: new CidrSet(cfg.trustedProxies) });
  const router = Router();
  // Browsers on CORS_ORIGINS may write (Segment's browser library posts from the site's origin).
  router.use(['/v1/events', ...SEGMENT_PATHS], corsMiddleware(cfg.corsOrigins, 'POST'));
  router.use(eventsRouter(intake), segmentRouter(intake));
  deps.log.child({ layer: 'ingest', component: 'collector' }).info('collector ready');
  return { router, stop: () => sender.stop() };
}
