-- hydralite 0005: RFC 7523 jwt-bearer trust relationships (Hydra's hydra_oauth2_trusted_jwt_bearer_issuer).
-- Differs from Hydra on purpose: the issuer's public key lives in the row (`jwk`), not in the JWK table under a
-- set named after the issuer, so deleting one relationship never removes another's key, and issuer keys stay
-- out of /admin/keys. The API still shows Hydra's public_key {set: issuer, kid}.
CREATE TABLE hydralite_trust (
    id                 uuid PRIMARY KEY,
    issuer             text NOT NULL,
    subject            text NOT NULL DEFAULT '',
    allow_any_subject  boolean NOT NULL DEFAULT false,
    scope              text[] NOT NULL DEFAULT '{}',
    key_id             text NOT NULL,
    jwk                jsonb NOT NULL,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL
);
-- Hydra's unique (issuer, subject, key_id); key_id first as Hydra's lookup index has it.
CREATE UNIQUE INDEX hydralite_trust_key_idx ON hydralite_trust (key_id, issuer, subject);
CREATE INDEX hydralite_trust_issuer_idx ON hydralite_trust (issuer, subject);
CREATE INDEX hydralite_trust_expires_at_idx ON hydralite_trust (expires_at);
