/** The run record of DESIGN.md section 7 and what the batch layer keeps beside it. */
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** First installs batch decided differently from the stream (attributions_rt), over the run's days. */
export interface AttributionDiff {
  /** Installs both decided. */
  compared: number;
  /** Attributed by both, to another channel or campaign. */
  changed_channel: number;
  became_organic: number;
  became_attributed: number;
  newly_rejected: number;
  no_longer_rejected: number;
  /** First installs only batch knows (the stream missed them, or took another install as first). */
  only_in_batch: number;
  /** Installs the stream took as first installs that batch did not. */
  only_in_speed: number;
}

/** Speed vs batch figure of one metric, app and day (app totals). */
export interface DriftRow {
  day: string;
  app_id: string;
  metric: string;
  /** 'expired' once the day's speed views were dropped (SPEED_RETENTION_DAYS after coverage). */
  speed: number | 'expired';
  batch: number;
  /** speed − batch; null when the speed side expired. */
  abs_diff: number | null;
  /** (speed − batch) / batch; 0 when both are 0, null when only batch is 0 or the speed side expired. */
  rel_diff: number | null;
}

export interface Run {
  id: string;
  day: string;
  days: string[];
  status: RunStatus;
  requested_at: string;
  started_at: string | null;
  finished_at: string | null;
  rows_read: number;
  duplicates_dropped: number;
  late_events: number;
  input_files: number;
  error: string | null;
  attribution_diff: AttributionDiff | null;
  drift: DriftRow[] | null;
}

/** A run as stored: the public record plus what lets other processes judge it. */
export interface RunRecord extends Run {
  /** Kafka high watermark per events partition when the run was requested. */
  watermarks: Record<string, number>;
  owner: string;
  heartbeat_at: string;
}
