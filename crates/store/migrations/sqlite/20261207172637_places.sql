-- The register of places (场所/点位) a grid looks after: rental buildings, shops, restaurants, small
-- workplaces, schools, markets, construction sites, units. Places and units, never residents: the
-- optional contact is the place's (a landlord, a shop's manager), masked like every contact.
-- Keyed on (county_code, id) like cases, so it distributes by county with them.

CREATE TABLE places (
    county_code TEXT NOT NULL,
    id BLOB NOT NULL,
    -- The place type's code (domain: PlaceKind), e.g. group_rental, shop, restaurant.
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    lat REAL,
    lon REAL,
    -- Found by the locator from the point, or given by hand for an address-only place.
    grid_code TEXT,
    -- The village or community (12 digits) the place lies in.
    region_code TEXT NOT NULL,
    contact_name TEXT,
    contact_phone TEXT,
    -- A JSON array of short labels (e.g. ["三合一", "电动车"]).
    tags TEXT NOT NULL,
    -- active | closed (歇业/停业) | gone (拆除/注销): only active places get inspection tasks.
    status TEXT NOT NULL,
    -- The importer's own key (a unit's credit code, a building's number): an import is idempotent by it.
    external_ref TEXT,
    created_by BLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (county_code, id)
);
CREATE UNIQUE INDEX places_external_ref ON places (county_code, external_ref);
CREATE INDEX places_grid ON places (county_code, grid_code, kind);
CREATE INDEX places_region ON places (county_code, region_code, kind);
