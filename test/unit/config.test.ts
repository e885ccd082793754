/** Settings of DESIGN.md section 8 that span fields or need parsing: checked when the config is loaded. */
import { ConfigError, loadConfig } from '../../infra/config';

describe('loadConfig', () => {
  it('has no internal listener and no trusted proxies by default', () => {
    const cfg = loadConfig({});
    expect(cfg.http.internal).toBeUndefined();
    expect(cfg.trustedProxies).toEqual([]);
  });

  it('reads INTERNAL_PORT on HOST, or on INTERNAL_HOST', () => {
    expect(loadConfig({ INTERNAL_PORT: '9090' }).http.internal).toEqual({ port: 9090, host: '127.0.0.1' });
    expect(loadConfig({ INTERNAL_PORT: '9090', INTERNAL_HOST: '10.0.0.1' }).http.internal).toEqual({ port: 9090, host: '10.0.0.1' });
    expect(loadConfig({ INTERNAL_PORT: '' }).http.internal).toBeUndefined();
  });

  it.each([
    [{ INTERNAL_PORT: '8080' }, /INTERNAL_PORT must differ from PORT/],
    [{ INTERNAL_HOST: '10.0.0.1' }, /INTERNAL_HOST is set but INTERNAL_PORT is not/],
    [{ TRUSTED_PROXIES: '10.0.0.0/8,not-a-cidr' }, /TRUSTED_PROXIES has invalid CIDR\(s\): not-a-cidr/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads TRUSTED_PROXIES as a list of CIDRs', () => {
    expect(loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32' }).trustedProxies).toEqual(['10.0.0.0/8', '2001:db8::/32']);
  });
});
