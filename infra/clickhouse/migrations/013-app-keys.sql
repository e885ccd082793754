-- Key rotation and disabling of apps (infra/apps/app-registry.ts): a rotated key's hash stays
-- valid until `prev_*_key_until` (the grace period), and a disabled app's keys are refused.
ALTER TABLE apps ADD COLUMN IF NOT EXISTS disabled UInt8 DEFAULT 0;
ALTER TABLE apps ADD COLUMN IF NOT EXISTS prev_write_key_hash String DEFAULT '';
ALTER TABLE apps ADD COLUMN IF NOT EXISTS prev_write_key_until DateTime64(3) DEFAULT 0;
ALTER TABLE apps ADD COLUMN IF NOT EXISTS prev_read_key_hash String DEFAULT '';
ALTER TABLE apps ADD COLUMN IF NOT EXISTS prev_read_key_until DateTime64(3) DEFAULT 0;
-- Remember the tokens of recent inserts, so that two processes creating one app at once insert
-- one creation row: each creation insert carries the token `create:<app_id>` and the second
-- one is dropped (ClickHouse insert deduplication; a plain MergeTree needs this window).
ALTER TABLE apps MODIFY SETTING non_replicated_deduplication_window = 10000;
