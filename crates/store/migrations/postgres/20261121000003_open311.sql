-- Open311 GeoReport v2 (PostgreSQL): client applications with hashed api_keys, the update ids each
-- client has pushed (a repeat is refused), and an index for the updates feed read by time.

CREATE TABLE open311_clients (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE open311_updates (
    client_id UUID NOT NULL REFERENCES open311_clients(id),
    update_id TEXT NOT NULL,
    county_code TEXT NOT NULL,
    case_id UUID NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, update_id)
);

CREATE INDEX case_events_at ON case_events(at);
