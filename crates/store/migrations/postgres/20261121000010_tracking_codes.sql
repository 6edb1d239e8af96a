-- Tracking codes (查询码) are unique (docs/ARCHITECTURE.md, "Tracking codes").
--
-- A code is 10 characters drawn at random (50 bits) and was stored with a plain index: nothing
-- stopped two cases from drawing the same one, and then a resident looking up theirs could be
-- shown a stranger's case. By 10,000,000 cases the chance of at least one such pair is about 4 %.
-- A unique index on cases would not do: a table distributed by county (the schema's rule, see
-- migrations/README.md) can only enforce keys that contain the county. So the codes get a table
-- of their own, keyed by the code and pointing at the case; intake inserts into it in the case's
-- transaction, and a code already taken fails that insert, and the server draws another.

-- The key is added after the copy below: one sorted build instead of millions of inserts at
-- random places in a growing index.
CREATE TABLE tracking_codes (
    code TEXT NOT NULL,
    county_code TEXT NOT NULL,
    case_id UUID NOT NULL
);

-- Before: every case but the first (by filing time) of a code that two or more share draws a
-- new code. A new code that happens to be taken too makes the key below fail, and with it
-- the whole migration (one transaction), which then runs again on the next start.
UPDATE cases SET tracking_code =
    substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 1 + floor(random() * 32)::int, 1) ||
    substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 1 + floor(random() * 32)::int, 1) ||
    substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 1 + floor(random() * 32)::int, 1) ||
    substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 1 + floor(random() * 32)::int, 1) ||
    substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 1 + floor(random() * 32)::int, 1) ||
    substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 1 + floor(random() * 32)::int, 1) ||
    substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 1 + floor(random() * 32)::int, 1) ||
    substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 1 + floor(random() * 32)::int, 1) ||
    substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 1 + floor(random() * 32)::int, 1) ||
    substr('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 1 + floor(random() * 32)::int, 1)
WHERE (county_code, id) IN (
    SELECT county_code, id FROM (
        SELECT county_code, id,
               row_number() OVER (PARTITION BY tracking_code ORDER BY created_at, id) AS nth
        FROM cases
        WHERE tracking_code IN (SELECT tracking_code FROM cases GROUP BY tracking_code HAVING count(*) > 1)
    ) shared
    WHERE nth > 1
);

INSERT INTO tracking_codes (code, county_code, case_id)
SELECT tracking_code, county_code, id FROM cases;

ALTER TABLE tracking_codes ADD PRIMARY KEY (code);

DROP INDEX cases_tracking;
