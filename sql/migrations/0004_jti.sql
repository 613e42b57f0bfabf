-- hydralite 0004: JWT ids already seen (private_key_jwt client assertions and jwt-bearer grants), as Hydra's
-- hydra_oauth2_jti_blacklist: a jti is single use until the assertion that carried it expires.
CREATE TABLE hydralite_jti (
    signature   text PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX hydralite_jti_expires_at_idx ON hydralite_jti (expires_at);
