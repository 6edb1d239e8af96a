-- Audit archive (审计归档): entries older than the retention period (at least six months) are moved
-- out to a file by `safegrid audit archive`. Each archive leaves an anchor here — the last archived
-- entry's seq and hash, and the file's SHA-256 — so the chain still verifies from the anchor on, and
-- the archive itself is recorded by an `audit.archive` entry in the chain that follows (an anchor
-- edited by hand no longer matches that entry).
CREATE TABLE audit_archives (
    upto_seq BIGINT PRIMARY KEY,
    upto_hash TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    entries BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    archived_at BIGINT NOT NULL,
    archived_by TEXT NOT NULL
);
