-- Performance at province scale (docs/performance.md).

-- Province and city counter rows are kept once per node and day under county_code '' instead of
-- once per county: a province's yearly KPI sums 365 rows, not 365 x 90.
INSERT INTO kpi_daily (county_code, node, day, reported, grid_reports, grid_reports_registered, registered, registered_on_time, rejected, voided, merged, self_handled, dispatched, dispatch_events, returned, handled, handled_on_time, reworked, verifications, verifications_on_time, closed, closed_on_time, overdue, extended, suspended, supervised, rated, satisfied, rating_sum, disputes_concluded, disputes_resolved)
SELECT '', node, day, SUM(reported), SUM(grid_reports), SUM(grid_reports_registered), SUM(registered), SUM(registered_on_time), SUM(rejected), SUM(voided), SUM(merged), SUM(self_handled), SUM(dispatched), SUM(dispatch_events), SUM(returned), SUM(handled), SUM(handled_on_time), SUM(reworked), SUM(verifications), SUM(verifications_on_time), SUM(closed), SUM(closed_on_time), SUM(overdue), SUM(extended), SUM(suspended), SUM(supervised), SUM(rated), SUM(satisfied), SUM(rating_sum), SUM(disputes_concluded), SUM(disputes_resolved)
FROM kpi_daily
WHERE county_code <> '' AND length(node) = 12 AND substr(node, 5) = '00000000'
GROUP BY node, day;
DELETE FROM kpi_daily WHERE county_code <> '' AND length(node) = 12 AND substr(node, 5) = '00000000';

-- Case lists: a territory's queue and a status across a territory are answered, total included,
-- from the index alone.
CREATE INDEX cases_region_status ON cases(region_code, status, created_at);
CREATE INDEX cases_status_region ON cases(status, region_code, created_at);
