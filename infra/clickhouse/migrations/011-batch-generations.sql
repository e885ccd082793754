-- Batch views by generation (DESIGN.md section 5, issue 15): the days of one run become
-- visible together. A run writes its rows into the *_data tables under its own run id (one
-- partition per day and run), and one insert into batch_covered_days, naming every day of the
-- run, switches readers over: `hourly_batch` and `attributions_batch` are views that show, per
-- day, only the rows of the run that covers it now. A reader therefore never sees one day from
-- the new run and another from the old one, and the hourly view and the attributions always
-- come from the same run. Superseded generations are dropped afterwards, partition by
-- partition (batch-layer/jobs/view-generations.ts).

-- The columns of the speed views' tables (002-views.sql), plus the run id.
CREATE TABLE IF NOT EXISTS hourly_batch_data
ENGINE = AggregatingMergeTree
PARTITION BY (toDate(hour), run_id)
ORDER BY (app_id, hour, type, install_kind, channel, campaign_id, country, os, app_version, name, currency, error_type, fraud_reason)
EMPTY AS SELECT *, CAST('' AS LowCardinality(String)) AS run_id FROM hourly_rt;

CREATE TABLE IF NOT EXISTS attributions_batch_data
ENGINE = MergeTree
PARTITION BY (toDate(ts), run_id)
ORDER BY (app_id, ts, install_event_id)
EMPTY AS SELECT *, CAST('' AS LowCardinality(String)) AS run_id FROM attributions_rt;

-- The current generation of each covered day. (batch_covered_days is a ReplacingMergeTree by
-- covered_at: argMax reads the latest row whether or not the parts have merged.)
CREATE VIEW IF NOT EXISTS batch_current_runs AS
SELECT day, argMax(run_id, covered_at) AS run_id FROM batch_covered_days GROUP BY day;

-- What the views held before: each covered day's rows become that day's generation.
INSERT INTO hourly_batch_data
SELECT h.*, c.run_id FROM hourly_batch AS h INNER JOIN batch_current_runs AS c ON c.day = toDate(h.hour);

INSERT INTO attributions_batch_data
SELECT a.*, c.run_id FROM attributions_batch AS a FINAL INNER JOIN batch_current_runs AS c ON c.day = toDate(a.ts);

DROP TABLE IF EXISTS hourly_batch;
DROP TABLE IF EXISTS attributions_batch;
DROP TABLE IF EXISTS hourly_batch_staging;
DROP TABLE IF EXISTS attributions_batch_staging;
DROP TABLE IF EXISTS batch_scratch_events;
DROP TABLE IF EXISTS batch_scratch_losers;
DROP TABLE IF EXISTS batch_scratch_installs;
DROP TABLE IF EXISTS batch_scratch_probabilistic;
DROP TABLE IF EXISTS batch_scratch_attribution;

CREATE VIEW IF NOT EXISTS hourly_batch AS
SELECT * EXCEPT run_id FROM hourly_batch_data
WHERE (toDate(hour), run_id) IN (SELECT day, run_id FROM batch_current_runs);

CREATE VIEW IF NOT EXISTS attributions_batch AS
SELECT * EXCEPT run_id FROM attributions_batch_data
WHERE (toDate(ts), run_id) IN (SELECT day, run_id FROM batch_current_runs);
