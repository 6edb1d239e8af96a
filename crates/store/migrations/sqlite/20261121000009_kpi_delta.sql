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
    reported INTEGER NOT NULL DEFAULT 0,
    grid_reports INTEGER NOT NULL DEFAULT 0,
    grid_reports_registered INTEGER NOT NULL DEFAULT 0,
    registered INTEGER NOT NULL DEFAULT 0,
    registered_on_time INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    voided INTEGER NOT NULL DEFAULT 0,
    merged INTEGER NOT NULL DEFAULT 0,
    self_handled INTEGER NOT NULL DEFAULT 0,
    dispatched INTEGER NOT NULL DEFAULT 0,
    dispatch_events INTEGER NOT NULL DEFAULT 0,
    returned INTEGER NOT NULL DEFAULT 0,
    handled INTEGER NOT NULL DEFAULT 0,
    handled_on_time INTEGER NOT NULL DEFAULT 0,
    reworked INTEGER NOT NULL DEFAULT 0,
    verifications INTEGER NOT NULL DEFAULT 0,
    verifications_on_time INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0,
    closed_on_time INTEGER NOT NULL DEFAULT 0,
    overdue INTEGER NOT NULL DEFAULT 0,
    extended INTEGER NOT NULL DEFAULT 0,
    suspended INTEGER NOT NULL DEFAULT 0,
    supervised INTEGER NOT NULL DEFAULT 0,
    rated INTEGER NOT NULL DEFAULT 0,
    satisfied INTEGER NOT NULL DEFAULT 0,
    rating_sum INTEGER NOT NULL DEFAULT 0,
    disputes_concluded INTEGER NOT NULL DEFAULT 0,
    disputes_resolved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (node, day, county_code)
) WITHOUT ROWID;
