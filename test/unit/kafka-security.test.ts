/** KAFKA_SSL / KAFKA_SASL_* (DESIGN.md section 8) into the options of both Kafka clients. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../infra/config';
import { kafkajsSecurity, platformaticSecurity } from '../../infra/kafka/security';

const security = (env: Record<string, string>) => loadConfig(env).kafka.security;

describe('Kafka TLS and SASL settings', () => {
  it('are off by default: both clients get plain connections', () => {
    expect(security({})).toEqual({});
    expect(kafkajsSecurity(security({}))).toEqual({});
    expect(platformaticSecurity(security({}))).toEqual({});
  });

  it('turn on TLS with the system CAs, or with a CA file read when the client is built', () => {
    expect(kafkajsSecurity(security({ KAFKA_SSL: 'true' }))).toEqual({ ssl: true });
    expect(platformaticSecurity(security({ KAFKA_SSL: '1' }))).toEqual({ tls: {} });

    const ca = path.join(mkdtempSync(path.join(os.tmpdir(), 'weir-ca-')), 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
    const s = security({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: ca });
    expect(kafkajsSecurity(s)).toEqual({ ssl: { ca: [expect.any(Buffer)] } });
    expect(platformaticSecurity(s).tls?.ca).toEqual([readFileSync(ca)]);
    expect(() => kafkajsSecurity({ ssl: { caFile: `${ca}.missing` } })).toThrow(/KAFKA_SSL_CA_FILE .*missing cannot be read/);
  });

  it.each([
    ['plain', 'PLAIN'],
    ['scram-sha-256', 'SCRAM-SHA-256'],
    ['scram-sha-512', 'SCRAM-SHA-512'],
  ] as const)('map SASL %s to each client’s name for it, with TLS or without', (mechanism, platformaticName) => {
    const env = { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: 'weir', KAFKA_SASL_PASSWORD: 's3cret' };
    expect(kafkajsSecurity(security(env))).toEqual({ sasl: { mechanism, username: 'weir', password: 's3cret' } });
    expect(platformaticSecurity(security(env))).toEqual({ sasl: { mechanism: platformaticName, username: 'weir', password: 's3cret' } });
    expect(kafkajsSecurity(security({ ...env, KAFKA_SSL: 'true' }))).toEqual({ ssl: true, sasl: { mechanism, username: 'weir', password: 's3cret' } });
    expect(platformaticSecurity(security({ ...env, KAFKA_SSL: 'true' }))).toEqual({ tls: {}, sasl: { mechanism: platformaticName, username: 'weir', password: 's3cret' } });
  });

  it('refuse incomplete or unknown settings at start-up', () => {
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'weir' })).toThrow(ConfigError);
    expect(() => loadConfig({ KAFKA_SASL_USERNAME: 'weir', KAFKA_SASL_PASSWORD: 'x' })).toThrow(/need KAFKA_SASL_MECHANISM/);
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'oauthbearer', KAFKA_SASL_USERNAME: 'a', KAFKA_SASL_PASSWORD: 'b' })).toThrow(/KAFKA_SASL_MECHANISM/);
    expect(() => loadConfig({ KAFKA_SSL_CA_FILE: '/ca.pem' })).toThrow(/KAFKA_SSL is not true/);
    expect(() => loadConfig({ KAFKA_SSL: 'yes' })).toThrow(/KAFKA_SSL/);
  });
});

