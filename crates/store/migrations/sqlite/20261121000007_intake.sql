-- Intake at province scale, second round (docs/performance.md): fewer B-trees written per new case.
--
-- cases_region (region_code, created_at) is answered as well by cases_region_status
-- (region_code, status, created_at): a territory is always a range of region codes, so neither
-- could give created_at order, and every new case paid for one more random index page.
DROP INDEX cases_region;

-- Counter rows were a rowid table plus two B-trees keyed on the node (the primary key led by
-- the county, and kpi_daily_node for reads): each new grid, village or township row cost a page
-- in each. Led by (node, day) the primary key serves every read, and WITHOUT ROWID makes it the
-- table itself: one B-tree instead of three. county_code stays in the key (a city department's
-- node gets rows from several counties).
CREATE TABLE kpi_daily_new (
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
INSERT INTO kpi_daily_new (node, day, county_code, reported, grid_reports, grid_reports_registered, registered, registered_on_time, rejected, voided, merged, self_handled, dispatched, dispatch_events, returned, handled, handled_on_time, reworked, verifications, verifications_on_time, closed, closed_on_time, overdue, extended, suspended, supervised, rated, satisfied, rating_sum, disputes_concluded, disputes_resolved)
SELECT node, day, county_code, reported, grid_reports, grid_reports_registered, registered, registered_on_time, rejected, voided, merged, self_handled, dispatched, dispatch_events, returned, handled, handled_on_time, reworked, verifications, verifications_on_time, closed, closed_on_time, overdue, extended, suspended, supervised, rated, satisfied, rating_sum, disputes_concluded, disputes_resolved FROM kpi_daily;
DROP TABLE kpi_daily;
ALTER TABLE kpi_daily_new RENAME TO kpi_daily;
