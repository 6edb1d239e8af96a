-- The addresses register (门牌) and the visits (走访) grid workers make to them.
-- Addresses are addresses, never people: no name on an address row. A visit's optional contact
-- (a resident's name and phone) is masked on every read and can be erased per address.
-- Both tables are keyed on (county_code, id) like cases, so they distribute by county.

CREATE TABLE addresses (
    county_code TEXT NOT NULL,
    id BLOB NOT NULL,
    -- The grid the door belongs to (15 digits) and its village or community (12 digits).
    grid_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    -- 楼栋 (building, or a lane for a village's houses), 单元 (unit, '' when none), 门牌/室号.
    building TEXT NOT NULL,
    unit TEXT NOT NULL,
    door TEXT NOT NULL,
    -- The place of the register at this address, if any (a shop on the ground floor).
    place_id BLOB,
    -- active | inactive (demolished, merged): only active addresses count as known.
    status TEXT NOT NULL,
    created_by BLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
-- One row per door of a grid: the import is idempotent by it.
CREATE UNIQUE INDEX addresses_door ON addresses (county_code, grid_code, building, unit, door);
CREATE INDEX addresses_region ON addresses (county_code, region_code, status);
CREATE INDEX addresses_place ON addresses (county_code, place_id);
-- Addressed by id alone in paths (like places_id); not unique, so it still distributes.
CREATE INDEX addresses_id ON addresses (id);

-- A visit (走访), keyed by the id the phone generated: a retried upload finds it.
CREATE TABLE visits (
    county_code TEXT NOT NULL,
    id BLOB NOT NULL,
    grid_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    -- Exactly one of the two: a door of the register or a place of the places register.
    address_id BLOB,
    place_id BLOB,
    -- The local date (Asia/Shanghai) of the visit, YYYY-MM-DD: periods are counted on it.
    visited_on TEXT NOT NULL,
    -- routine | care | follow_up | opinions
    kind TEXT NOT NULL,
    -- What was raised (free text; identifiers masked for readers who do not need them).
    raised TEXT NOT NULL,
    contact_name TEXT,
    contact_phone TEXT,
    -- The case this visit was turned into (the case's report event names the visit back).
    case_id BLOB,
    recorded_by BLOB NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE INDEX visits_grid ON visits (county_code, grid_code, visited_on);
CREATE INDEX visits_address ON visits (county_code, address_id);
CREATE INDEX visits_place ON visits (county_code, place_id);
CREATE INDEX visits_recorder ON visits (recorded_by, visited_on);
-- The retention purge of care visits reads by kind and age.
CREATE INDEX visits_kind ON visits (kind, recorded_at);
CREATE INDEX visits_id ON visits (id);
CREATE INDEX visits_case ON visits (case_id);
