-- Second factor (动态口令, TOTP) for accounts that turn it on — administrators must when
-- `admin_totp_required` is set (等保 2.0). A row per enrolled account: the secret being confirmed,
-- the confirmed secret, and the last 30-second step a code was accepted for (a code is good once).
CREATE TABLE user_totp (
    user_id BLOB PRIMARY KEY REFERENCES users(id),
    pending_secret TEXT,
    secret TEXT,
    last_step BIGINT,
    enabled_at BIGINT
);
