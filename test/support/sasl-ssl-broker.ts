/**
 * A second local broker (its own data directory and ports, beside the shared test broker)
 * with a SASL_SSL listener, as a managed Kafka presents itself: TLS with a certificate from a
 * private CA, and SASL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 on the one listener.
 *
 * The CA and the broker's certificate are made with openssl for each run (throwaway, valid
 * for a day, for 127.0.0.1). The broker reads its key and chain as a PEM keystore (KIP-651).
 * SCRAM users are KRaft metadata, written when the storage is formatted (`--add-scram`);
 * PLAIN users are listed in the listener's JAAS config.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startLocalBroker, type LocalBroker } from '../../infra/kafka/local-broker';
import type { SaslMechanism } from '../../infra/kafka/security';
import { CACHE_DIR } from '../setup/test-broker';

export interface SaslSslBroker {
  /** `host:port` of the SASL_SSL listener. */
  address: string;
  /** The CA that signed the broker's certificate (PEM): KAFKA_SSL_CA_FILE. */
  caFile: string;
  /** A user per mechanism (SCRAM credentials are per mechanism). */
  users: Record<SaslMechanism, { username: string; password: string }>;
  broker: LocalBroker;
}

const USERS: SaslSslBroker['users'] = {
  plain: { username: 'plain-user', password: 'plain-secret-1' },
  'scram-sha-256': { username: 'scram256-user', password: 'scram256-secret-2' },
  'scram-sha-512': { username: 'scram512-user', password: 'scram512-secret-3' },
};

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a broker certificate for 127.0.0.1 signed by it; returns the CA file and the broker's PEM keystore (key + chain). */
export function makeThrowawayTls(dir: string): { caFile: string; keystoreFile: string } {
  const f = (name: string) => path.join(dir, name);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=weir test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('broker.key'), '-out', f('broker.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('broker.ext'), 'subjectAltName = IP:127.0.0.1, DNS:localhost\n');
  openssl(['x509', '-req', '-in', f('broker.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('broker.pem'), '-days', '1', '-extfile', f('broker.ext')]);
  // `req -nodes` writes an unencrypted PKCS#8 key, the form Kafka's PEM keystore reads without ssl.key.password.
  writeFileSync(f('broker-keystore.pem'), readFileSync(f('broker.key'), 'utf8') + readFileSync(f('broker.pem'), 'utf8') + readFileSync(f('ca.pem'), 'utf8'));
  return { caFile: f('ca.pem'), keystoreFile: f('broker-keystore.pem') };
}

export async function startSaslSslBroker(dataDir: string): Promise<SaslSslBroker> {
  const { caFile, keystoreFile } = makeThrowawayTls(dataDir);
  const plainUsers = Object.values(USERS)
    .map((u) => `user_${u.username}="${u.password}"`)
    .join(' ');
  const scram = (mechanism: 'scram-sha-256' | 'scram-sha-512') =>
    ['--add-scram', `${mechanism.toUpperCase()}=[name=${USERS[mechanism].username},password=${USERS[mechanism].password}]`];
  const broker = await startLocalBroker({
    dataDir: path.join(dataDir, 'kafka'),
    cacheDir: CACHE_DIR,
    extraListeners: ['SASL_SSL'],
    extraProperties: {
      'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
      'listener.name.sasl_ssl.ssl.keystore.location': keystoreFile,
      'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`,
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    },
    formatArgs: [...scram('scram-sha-256'), ...scram('scram-sha-512')],
  });
  return { address: broker.listeners.SASL_SSL, caFile, users: USERS, broker };
}
