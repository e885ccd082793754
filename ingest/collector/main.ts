/** The collector: `POST /v1/events` into Kafka (DESIGN.md sections 2, 3, 7). */
import type { Router } from 'express';
import type { Registry } from 'prom-client';
import type { AppRegistry } from '../../infra/apps/app-registry';
import type { Config } from '../../infra/config';
import { createPlatformaticProducer } from '../../infra/kafka/platformatic-producer';
import type { Logger } from '../../infra/logger';
import { startKafkaSender } from './kafka-sender';
import { eventsRouter } from './routes/events';

export interface CollectorHandle {
  router: Router;
  stop(): Promise<void>;
}

export async function startCollector(
  cfg: Pick<Config, 'limits' | 'kafka'>,
  deps: { brokers: string[]; apps: AppRegistry; registry: Registry; log: Logger },
): Promise<CollectorHandle> {
  const createProducer = () => createPlatformaticProducer({ brokers: deps.brokers, clientId: 'weir-collector', security: cfg.kafka.security });
  const sender = startKafkaSender(createProducer, { topics: cfg.kafka.topics, registry: deps.registry });
  const router = eventsRouter({ apps: deps.apps, sender, registry: deps.registry, limits: cfg.limits });
  deps.log.child({ layer: 'ingest', component: 'collector' }).info('collector ready');
  return { router, stop: () => sender.stop() };
}
