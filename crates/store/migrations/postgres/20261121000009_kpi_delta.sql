-- Counter changes not yet folded into kpi_daily (计数增量): an LSM-style first level for the KPI
-- counters (docs/performance.md, tenth round).
--
-- Every new case adds to the day's counter rows of its grid, village and township, and at
-- 10,000,000 cases those rows sit at random places in a B-tree of gigabytes: each was a page the
-- one writer had to fetch and log per batch. Here the same rows go into a table that holds only
-- what changed since the last fold, small enough to stay in memory; a background job (and
-- `safegrid kpi fold`) moves them into kpi_daily in key order, a few thousand rows per
-- transaction, at a quiet hour or when the table grows past a bound. Reads sum both tables.
CREATE TABLE kpi_delta (
    node TEXT NOT NULL,
    day INTEGER NOT NULL,
    county_code TEXT NOT NULL,
    reported BIGINT NOT NULL DEFAULT 0,
    grid_reports BIGINT NOT NULL DEFAULT 0,
    grid_reports_registered BIGINT NOT NULL DEFAULT 0,
    registered BIGINT NOT NULL DEFAULT 0,
    registered_on_time BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    voided BIGINT NOT NULL DEFAULT 0,
    merged BIGINT NOT NULL DEFAULT 0,
    self_handled BIGINT NOT NULL DEFAULT 0,
    dispatched BIGINT NOT NULL DEFAULT 0,
    dispatch_events BIGINT NOT NULL DEFAULT 0,
    returned BIGINT NOT NULL DEFAULT 0,
    handled BIGINT NOT NULL DEFAULT 0,
    handled_on_time BIGINT NOT NULL DEFAULT 0,
    reworked BIGINT NOT NULL DEFAULT 0,
    verifications BIGINT NOT NULL DEFAULT 0,
    verifications_on_time BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    closed_on_time BIGINT NOT NULL DEFAULT 0,
    overdue BIGINT NOT NULL DEFAULT 0,
    extended BIGINT NOT NULL DEFAULT 0,
    suspended BIGINT NOT NULL DEFAULT 0,
    supervised BIGINT NOT NULL DEFAULT 0,
    rated BIGINT NOT NULL DEFAULT 0,
    satisfied BIGINT NOT NULL DEFAULT 0,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    disputes_concluded BIGINT NOT NULL DEFAULT 0,
    disputes_resolved BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (node, day, county_code)
);
