/**
 * weir against a managed-style Kafka (DESIGN.md section 8: KAFKA_SSL, KAFKA_SSL_CA_FILE,
 * KAFKA_SASL_*): a second local broker whose SASL_SSL listener has a certificate from a private
 * CA and takes PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (test/support/sasl-ssl-broker.ts).
 *
 * For each mechanism, `weir start --role archiver` (its start-up probe, topic set-up, topic-id
 * lookup, consumer group and DLQ producer) runs over that listener, and the collector's
 * producer (@platformatic/kafka, built as the collector builds it) delivers events that the
 * archiver then writes to the master dataset. Refused credentials and an untrusted certificate
 * stop start-up at once with an error that names Kafka and the settings to check.
 */
import { StartupError, startWeir } from '../../cli/start';
import { loadConfig, type Config } from '../../infra/config';
import { createPlatformaticProducer } from '../../infra/kafka/platformatic-producer';
import { SASL_MECHANISMS, type SaslMechanism } from '../../infra/kafka/security';
import { createLogger } from '../../infra/logger';
import { eventKey } from '../../schemas/topics';
import { readArchive } from '../support/archive-reader';
import { startSaslSslBroker, type SaslSslBroker } from '../support/sasl-ssl-broker';
import { makeScratchDir, removeScratchDir } from '../support/scratch-dir';
import { storedEvents } from '../support/speed-fixture';
import { testEnv } from '../support/test-stack';
import { waitFor } from '../support/wait-for';

jest.setTimeout(120_000);

describe('Kafka over TLS and SASL (a SASL_SSL listener with a private CA)', () => {
  const dir = makeScratchDir('weir-sasl-ssl');
  const dataDirs: string[] = [dir];
  let secure: SaslSslBroker;

  beforeAll(async () => {
    secure = await startSaslSslBroker(dir);
  });

  afterAll(async () => {
    await secure?.broker.stop();
    dataDirs.forEach(removeScratchDir);
  });

  /** weir's configuration from the environment an operator would set, on a topic prefix of its own. */
  function configFor(kafkaEnv: Record<string, string>): Config {
    const { env, dataDir } = testEnv({ KAFKA_BROKERS: secure.address, KAFKA_SSL: 'true', ...kafkaEnv });
    dataDirs.push(dataDir);
    return loadConfig(env);
  }
  const saslEnv = (mechanism: SaslMechanism, password = secure.users[mechanism].password) => ({
    KAFKA_SSL_CA_FILE: secure.caFile,
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: secure.users[mechanism].username,
    KAFKA_SASL_PASSWORD: password,
  });

  it.each(SASL_MECHANISMS)('with SASL %s, the collector’s producer delivers and the archiver archives every event', async (mechanism) => {
    const cfg = configFor(saslEnv(mechanism));
    const running = await startWeir(cfg, { role: 'archiver', demo: false }, createLogger(cfg.logLevel));
    try {
      const events = storedEvents(SASL_MECHANISMS.indexOf(mechanism) + 1, 300);
      const producer = createPlatformaticProducer({ brokers: cfg.kafka.brokers as string[], clientId: 'weir-collector', security: cfg.kafka.security });
      try {
        const records = events.map((e) => ({ key: eventKey(e.app_id, e.device_id), value: JSON.stringify(e), timestamp: e.received_at }));
        await producer.send([{ topic: cfg.kafka.topics.events, records }]);
      } finally {
        await producer.close();
      }
      const archived = await waitFor(async () => {
        const rows = await readArchive(cfg.objectStore.url);
        return rows.length >= events.length ? rows : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250, what: `${events.length} events in the archive` });
      expect(archived.map((e) => e.event_id).sort()).toEqual(events.map((e) => e.event_id).sort());
      expect((await fetch(`${running.url}/ready`)).status).toBe(200);
    } finally {
      await running.stop();
    }
  });

  it('refuses to start on a wrong password, naming Kafka, the mechanism and the user', async () => {
    const cfg = configFor(saslEnv('scram-sha-512', 'not-the-password'));
    const started = Date.now();
    const failure = startWeir(cfg, { role: 'archiver', demo: false }, createLogger('silent'));
    await expect(failure).rejects.toThrow(StartupError);
    await expect(failure).rejects.toThrow(/^Kafka .*refused the SASL scram-sha-512 login of user 'scram512-user' \(KAFKA_SASL_\*\)/);
    // At once, not after the 30 s a broker that is still starting gets.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses to start when the broker’s certificate is not trusted, pointing at KAFKA_SSL_CA_FILE', async () => {
    const { KAFKA_SSL_CA_FILE: _unset, ...withoutCa } = saslEnv('plain');
    const cfg = configFor(withoutCa);
    await expect(startWeir(cfg, { role: 'archiver', demo: false }, createLogger('silent'))).rejects.toThrow(/^Kafka .*certificate this client does not trust \(KAFKA_SSL_CA_FILE/);
  });
});
