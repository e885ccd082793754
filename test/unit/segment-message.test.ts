/**
 * Segment message → weir wire event (DESIGN.md section 3a), on hand-written messages of the
 * shapes analytics-node, RudderStack and analytics.js send, each expected event written out
 * by hand; then the mapped event through the one validator of `POST /v1/events`.
 */
import { mapSegmentMessage, type SegmentMapContext, type SegmentMapping } from '../../ingest/collector/segment/segment-message';
import { segmentReason } from '../../ingest/collector/segment/segment-reason';
import { validateWireEvent } from '../../schemas/event';

const RECEIVED = Date.UTC(2026, 11, 7, 12, 0, 0); // 2026-12-07T12:00:00Z
const ctx = (o: Partial<SegmentMapContext> = {}): SegmentMapContext => ({ appId: 'shop', receivedAt: RECEIVED, ...o });

function mapped(r: SegmentMapping): Record<string, unknown> {
  if (!r.ok) throw new Error(`expected a mapping, got: ${r.reason}`);
  return r.value;
}
function reason(r: SegmentMapping): string {
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.value)}`);
  return r.reason;
}

const track = (event: string, properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  type: 'track',
  event,
  properties,
  messageId: 'm-1',
  anonymousId: 'anon-1',
  timestamp: '2026-12-07T11:59:00.000Z',
  ...extra,
});

describe('mapSegmentMessage: identity, time and context', () => {
  it('maps a mobile track with a full context field by field', () => {
    const msg = {
      type: 'track',
      event: 'Level Up',
      messageId: 'msg-42',
      anonymousId: 'anon-9',
      userId: 'user-9',
      timestamp: '2026-12-07T11:58:00.000Z',
      sentAt: '2026-12-07T11:59:30.000Z',
      context: {
        ip: '203.0.113.9',
        userAgent: 'Shop/3.1 (iPhone; iOS 17.2)',
        os: { name: 'iOS', version: '17.2' },
        app: { version: '3.1.0' },
        device: { advertisingId: 'idfa-1', id: 'vendor-1' },
        location: { country: 'DE' },
        locale: 'fr-FR',
      },
      properties: { level: 7 },
    };
    expect(mapped(mapSegmentMessage(msg, ctx()))).toEqual({
      event_id: 'msg-42',
      app_id: 'shop',
      type: 'event',
      name: 'Level Up',
      ts: Date.UTC(2026, 11, 7, 11, 58, 0),
      sent_at: Date.UTC(2026, 11, 7, 11, 59, 30),
      device_id: 'idfa-1',
      ip: '203.0.113.9',
      ua: 'Shop/3.1 (iPhone; iOS 17.2)',
      os: 'iOS',
      os_version: '17.2',
      app_version: '3.1.0',
      country: 'DE',
      properties: msg,
    });
  });

  it('takes the device id from advertisingId, else device.id, else anonymousId, else userId', () => {
    const base = { type: 'track', event: 'x', messageId: 'm' };
    expect(mapped(mapSegmentMessage({ ...base, userId: 'u', anonymousId: 'a', context: { device: { id: 'd' } } }, ctx())).device_id).toBe('d');
    expect(mapped(mapSegmentMessage({ ...base, userId: 'u', anonymousId: 'a' }, ctx())).device_id).toBe('a');
    expect(mapped(mapSegmentMessage({ ...base, userId: 'u' }, ctx())).device_id).toBe('u');
    expect(reason(mapSegmentMessage(base, ctx()))).toMatch(/^device id: one of context.device.advertisingId/);
  });

  it('uses timestamp, else originalTimestamp, else the receive time with no skew correction', () => {
    const m = { type: 'track', event: 'x', messageId: 'm', userId: 'u', sentAt: '2026-12-07T11:00:00Z' };
    expect(mapped(mapSegmentMessage({ ...m, originalTimestamp: '2026-12-07T10:00:00Z' }, ctx()))).toMatchObject({ ts: Date.UTC(2026, 11, 7, 10), sent_at: Date.UTC(2026, 11, 7, 11) });
    expect(mapped(mapSegmentMessage({ ...m, timestamp: '2026-12-07T09:00:00+01:00', originalTimestamp: '2026-12-07T10:00:00Z' }, ctx())).ts).toBe(Date.UTC(2026, 11, 7, 8));
    // sent_at = ts = receive time: ts + (received_at − sent_at) stays the receive time.
    expect(mapped(mapSegmentMessage(m, ctx()))).toMatchObject({ ts: RECEIVED, sent_at: RECEIVED });
  });

  it('names the Segment field of an unreadable time', () => {
    expect(reason(mapSegmentMessage(track('x', {}, { timestamp: 'yesterday' }), ctx()))).toBe('timestamp: must be an ISO-8601 time (or epoch milliseconds)');
    expect(reason(mapSegmentMessage(track('x', {}, { sentAt: {} }), ctx()))).toMatch(/^sentAt: /);
    expect(reason(mapSegmentMessage({ ...track('x'), timestamp: undefined, originalTimestamp: '2026-13-01' }, ctx()))).toMatch(/^originalTimestamp: /);
  });

  it('takes the country from location.country when alpha-2, else from the region of the locale', () => {
    const c = (context: Record<string, unknown>) => mapped(mapSegmentMessage(track('x', {}, { context }), ctx())).country;
    expect(c({ location: { country: 'br' } })).toBe('br'); // upper-cased by enrichment
    expect(c({ location: { country: 'United States' }, locale: 'en-US' })).toBe('US');
    expect(c({ locale: 'pt_BR' })).toBe('BR');
    expect(c({ locale: 'sr-Latn-RS' })).toBe('RS');
    expect(c({ locale: 'de' })).toBeUndefined();
    expect(c({ location: { country: 'Germany' } })).toBeUndefined();
  });

  it('puts a batch context under the message context', () => {
    const m = track('x', {}, { context: { ip: '198.51.100.1' } });
    const e = mapped(mapSegmentMessage(m, ctx({ batchContext: { ip: '192.0.2.1', userAgent: 'batch-ua' } })));
    expect(e).toMatchObject({ ip: '198.51.100.1', ua: 'batch-ua' });
  });

  it('requires a messageId and a known type', () => {
    expect(reason(mapSegmentMessage({ ...track('x'), messageId: undefined }, ctx()))).toMatch(/^messageId: is required/);
    expect(reason(mapSegmentMessage({ ...track('x'), type: 'flush' }, ctx()))).toBe('type: must be one of track, screen, page, identify, group, alias');
    expect(reason(mapSegmentMessage('track', ctx()))).toBe('message must be a JSON object, got string');
    expect(reason(mapSegmentMessage({ ...track('x'), event: '' }, ctx()))).toMatch(/^event: is required for track/);
  });

  it('lets the route decide the type (a /v1/page body needs none)', () => {
    const e = mapped(mapSegmentMessage({ messageId: 'p1', anonymousId: 'a', name: 'Pricing' }, ctx({ routeType: 'page' })));
    expect(e).toMatchObject({ type: 'event', name: 'page:Pricing' });
  });
});

describe('mapSegmentMessage: types (section 3a table)', () => {
  const typed = (m: unknown) => {
    const e = mapped(mapSegmentMessage(m, ctx()));
    const { event_id: _i, app_id: _a, ts: _t, sent_at: _s, device_id: _d, properties: _p, ...rest } = e;
    return rest;
  };

  it('maps the mobile lifecycle events', () => {
    expect(typed(track('Application Installed'))).toEqual({ type: 'install' });
    expect(typed(track('Application Opened'))).toEqual({ type: 'launch' });
    expect(typed(track('Application Crashed', { error_type: 'OOM', error_message: 'heap 512 MB' }))).toEqual({ type: 'error', error_type: 'OOM', error_message: 'heap 512 MB' });
    expect(typed(track('Application Crashed'))).toEqual({ type: 'error', error_type: 'crash', error_message: '' });
  });

  it('maps Order Completed and any track with revenue to a purchase', () => {
    expect(typed(track('Order Completed', { revenue: 19.99, currency: 'EUR' }))).toEqual({ type: 'purchase', revenue: 19.99, currency: 'EUR' });
    expect(typed(track('Order Completed', { total: 25 }))).toEqual({ type: 'purchase', revenue: 25, currency: 'USD' });
    expect(typed(track('Coins Bought', { revenue: 4.99 }))).toEqual({ type: 'purchase', revenue: 4.99, currency: 'USD' });
    expect(reason(mapSegmentMessage(track('Order Completed', { products: [] }), ctx()))).toMatch(/^properties.revenue: is required for Order Completed/);
  });

  it('maps ad events with a campaign and a channel to clicks and impressions, others to custom events', () => {
    expect(typed(track('Ad Clicked', { campaign_id: 'c1', channel: 'tiktok' }))).toEqual({ type: 'click', campaign_id: 'c1', channel: 'tiktok' });
    expect(typed(track('Ad Impression', { campaign_id: 'c1', channel: 'tiktok' }))).toEqual({ type: 'impression', campaign_id: 'c1', channel: 'tiktok' });
    expect(typed(track('Ad Clicked', { campaign_id: 'c1' }))).toEqual({ type: 'event', name: 'Ad Clicked' });
  });

  it('names screens and pages after their type', () => {
    expect(typed({ type: 'screen', name: 'Cart', messageId: 's', userId: 'u' })).toEqual({ type: 'event', name: 'screen:Cart' });
    expect(typed({ type: 'page', messageId: 'p', userId: 'u', properties: { name: 'Home' } })).toEqual({ type: 'event', name: 'page:Home' });
    expect(typed({ type: 'page', messageId: 'p', userId: 'u' })).toEqual({ type: 'event', name: 'page:' });
  });

  it('stores identify, group and alias under their own type', () => {
    for (const type of ['identify', 'group', 'alias'] as const) {
      const r = mapSegmentMessage({ type, messageId: `m-${type}`, userId: 'u', traits: { plan: 'pro' } }, ctx());
      expect(r).toMatchObject({ ok: true, storeAs: type, value: { type: 'event', name: type } });
    }
  });
});

describe('mapSegmentMessage: the original message in properties', () => {
  it('keeps the message without its writeKey', () => {
    const e = mapped(mapSegmentMessage(track('x', {}, { writeKey: 'wk_secret' }), ctx()));
    expect(e.properties).toEqual(track('x'));
  });

  it('drops the context past 8 KiB, then all but the ids', () => {
    const bigContext = track('x', {}, { context: { page: { url: 'u'.repeat(9000) } } });
    expect(mapped(mapSegmentMessage(bigContext, ctx())).properties).toEqual({ ...track('x'), weir_dropped: 'context' });
    const bigProps = track('x', { blob: 'b'.repeat(9000) });
    expect(mapped(mapSegmentMessage(bigProps, ctx())).properties).toEqual({ weir_dropped: 'all but ids', type: 'track', messageId: 'm-1', event: 'x', anonymousId: 'anon-1' });
  });

  it("refuses a message over Segment's 32 KB", () => {
    expect(reason(mapSegmentMessage(track('x', { blob: 'b'.repeat(33 * 1024) }), ctx()))).toMatch(/^message is \d+ bytes; at most 32768 allowed/);
  });
});

describe('a mapped message through the wire validator', () => {
  it('accepts what the SDKs send', () => {
    const v = validateWireEvent(mapped(mapSegmentMessage(track('Order Completed', { revenue: 10, currency: 'usd' }), ctx())));
    expect(v.ok).toBe(true);
  });

  it('words a failure in Segment field names', () => {
    const v = validateWireEvent(mapped(mapSegmentMessage(track('Order Completed', { revenue: -1 }, { messageId: 'm'.repeat(65) }), ctx())));
    expect(v.ok).toBe(false);
    expect(segmentReason((v as { reason: string }).reason)).toBe(
      'messageId (event_id): must have at most 64 characters; properties.revenue (or total) (revenue): must be a number >= 0',
    );
  });
});
