/** The client ip filled into events sent without `ip` (DESIGN.md section 8, TRUSTED_PROXIES). */
import { clientIpOf } from '../../ingest/collector/client-ip';
import { CidrSet } from '../../schemas/cidr';

const proxies = new CidrSet(['10.0.0.0/8', '2001:db8:1::/48']);
const none = new CidrSet([]);

describe('clientIpOf', () => {
  it('answers the socket address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientIpOf('10.0.0.5', '203.0.113.9', none)).toEqual({ ip: '10.0.0.5', source: 'socket' });
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientIpOf('198.51.100.1', '203.0.113.9', proxies)).toEqual({ ip: '198.51.100.1', source: 'socket' });
  });

  it('takes the rightmost hop that is not a trusted proxy, not the leftmost (which the client can forge)', () => {
    expect(clientIpOf('10.0.0.5', '1.1.1.1, 203.0.113.9, 10.0.0.7', proxies)).toEqual({ ip: '203.0.113.9', source: 'forwarded' });
  });

  it('reads several X-Forwarded-For headers as one list, in order', () => {
    expect(clientIpOf('10.0.0.5', ['1.1.1.1, 203.0.113.9', '10.0.0.7'], proxies)).toEqual({ ip: '203.0.113.9', source: 'forwarded' });
  });

  it('answers the leftmost hop when every hop is a trusted proxy', () => {
    expect(clientIpOf('10.0.0.5', '10.1.1.1,10.0.0.7', proxies)).toEqual({ ip: '10.1.1.1', source: 'forwarded' });
  });

  it('stops at a hop that is no address and answers the nearest trusted proxy', () => {
    expect(clientIpOf('10.0.0.5', '203.0.113.9, unknown, 10.0.0.7', proxies)).toEqual({ ip: '10.0.0.7', source: 'forwarded' });
    expect(clientIpOf('10.0.0.5', '1.2.3', proxies)).toEqual({ ip: '10.0.0.5', source: 'socket' });
  });

  it('answers the socket address of a trusted proxy that sent no X-Forwarded-For', () => {
    expect(clientIpOf('10.0.0.5', undefined, proxies)).toEqual({ ip: '10.0.0.5', source: 'socket' });
    expect(clientIpOf('10.0.0.5', '', proxies)).toEqual({ ip: '10.0.0.5', source: 'socket' });
  });

  it('matches IPv4-mapped peers as IPv4 and handles IPv6 hops', () => {
    expect(clientIpOf('::ffff:10.0.0.5', '2001:DB8:2::9', proxies)).toEqual({ ip: '2001:db8:2::9', source: 'forwarded' });
    expect(clientIpOf('2001:db8:1::1', '::ffff:203.0.113.9', proxies)).toEqual({ ip: '203.0.113.9', source: 'forwarded' });
    expect(clientIpOf('::ffff:127.0.0.1', undefined, none)).toEqual({ ip: '127.0.0.1', source: 'socket' });
  });
});
