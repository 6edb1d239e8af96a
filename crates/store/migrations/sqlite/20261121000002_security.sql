-- Security and privacy (issue: scopes, audit, privacy, hardening).

-- The audit trail (审计日志): append-only, each entry hashed with the previous entry's hash so an
-- edited or deleted row breaks the chain (`safegrid audit verify`). The application never updates
-- or deletes these rows. audit_head holds the chain's tip and serialises appends (row lock).
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id BLOB,
    actor_name TEXT NOT NULL,
    ip TEXT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor_name, at);
CREATE INDEX audit_log_target ON audit_log(target_type, target_id);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Login lockout: consecutive failures and the time the lock ends (ms UTC).
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;

-- Machine tokens may be read-only ("read") or read-write ("read,write").
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read,write';

-- The reporter asked to stay anonymous: contact reserved for the command center's call-back.
ALTER TABLE cases ADD COLUMN reporter_anonymous INTEGER NOT NULL DEFAULT 0;
