-- batch_coverage was serving's copy of the covered days, which the batch layer never wrote
-- (it writes batch_covered_days, 003-batch.sql): both now use batch_covered_days.
DROP TABLE IF EXISTS batch_coverage;
