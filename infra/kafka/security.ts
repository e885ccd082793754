/**
 * TLS and SASL to a managed Kafka (DESIGN.md section 8: KAFKA_SSL, KAFKA_SSL_CA_FILE,
 * KAFKA_SASL_*), mapped once to the options of each client weir uses: kafkajs (consumers,
 * admin) and @platformatic/kafka (the collector's producer). Off by default: the local broker
 * speaks PLAINTEXT.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as PlatformaticConnectionOptions } from '@platformatic/kafka';
import type { KafkaConfig } from 'kafkajs';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface KafkaSecurity {
  /** TLS to the brokers; `caFile` adds a CA (PEM) to Node's trusted ones, for a private CA. */
  ssl?: { caFile?: string };
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

/** Read when a client is built, so that a missing file fails at start-up, naming the variable. */
function tlsOptions(ssl: NonNullable<KafkaSecurity['ssl']>): { ca?: Buffer[] } {
  if (!ssl.caFile) return {};
  try {
    return { ca: [readFileSync(ssl.caFile)] };
  } catch (err) {
    throw new Error(`KAFKA_SSL_CA_FILE ${ssl.caFile} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

export function kafkajsSecurity(s: KafkaSecurity = {}): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  return {
    ...(s.ssl ? { ssl: s.ssl.caFile ? tlsOptions(s.ssl) : true } : {}),
    ...(s.sasl ? { sasl: { mechanism: s.sasl.mechanism, username: s.sasl.username, password: s.sasl.password } } : {}),
  } as Pick<KafkaConfig, 'ssl' | 'sasl'>;
}

const PLATFORMATIC_MECHANISM = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

export function platformaticSecurity(s: KafkaSecurity = {}): Pick<PlatformaticConnectionOptions, 'tls' | 'sasl'> {
  return {
    ...(s.ssl ? { tls: tlsOptions(s.ssl) } : {}),
    ...(s.sasl ? { sasl: { mechanism: PLATFORMATIC_MECHANISM[s.sasl.mechanism], username: s.sasl.username, password: s.sasl.password } } : {}),
  };
}
