-- Open311 GeoReport v2 (SQLite): client applications with hashed api_keys, the update ids each
-- client has pushed (a repeat is refused), and an index for the updates feed read by time.

CREATE TABLE open311_clients (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE open311_updates (
    client_id BLOB NOT NULL REFERENCES open311_clients(id),
    update_id TEXT NOT NULL,
    county_code TEXT NOT NULL,
    case_id BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, update_id)
);

CREATE INDEX case_events_at ON case_events(at);
