-- Intake at province scale, second round (docs/performance.md): fewer B-trees written per new case.
--
-- cases_region (region_code, created_at) is answered as well by cases_region_status
-- (region_code, status, created_at): a territory is always a range of region codes, so neither
-- could give created_at order, and every new case paid for one more random index page.
DROP INDEX cases_region;

-- Counter rows had two B-trees keyed on the node (the primary key led by the county, and
-- kpi_daily_node for reads): each new grid, village or township row cost a page in each. Led by
-- (node, day) the primary key serves every read and the second index goes. county_code stays in
-- the key (a city department's node gets rows from several counties).
ALTER TABLE kpi_daily DROP CONSTRAINT kpi_daily_pkey;
ALTER TABLE kpi_daily ADD PRIMARY KEY (node, day, county_code);
DROP INDEX kpi_daily_node;
