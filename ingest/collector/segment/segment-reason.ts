/**
 * A validation reason in the words of the Segment message it came from: `event_id: must have
 * at most 64 characters` becomes `messageId (event_id): must have at most 64 characters`, so
 * the DLQ tells a Segment user which of their fields to fix.
 */
const SEGMENT_FIELD: Readonly<Record<string, string>> = {
  event_id: 'messageId',
  ts: 'timestamp (or originalTimestamp)',
  sent_at: 'sentAt',
  device_id: 'device id',
  ip: 'context.ip',
  ua: 'context.userAgent',
  os: 'context.os.name',
  os_version: 'context.os.version',
  app_version: 'context.app.version',
  country: 'context.location.country',
  name: 'event or page/screen name',
  campaign_id: 'properties.campaign_id',
  channel: 'properties.channel',
  revenue: 'properties.revenue (or total)',
  currency: 'properties.currency',
  error_type: 'properties.error_type',
  error_message: 'properties.error_message',
  properties: 'the message (kept in properties)',
};

export function segmentReason(reason: string): string {
  return reason
    .split('; ')
    .map((part) => {
      const m = /^([a-z_]+): /.exec(part);
      const field = m ? SEGMENT_FIELD[m[1]] : undefined;
      return field ? `${field} (${m?.[1]})${part.slice(m?.[1].length)}` : part;
    })
    .join('; ');
}
