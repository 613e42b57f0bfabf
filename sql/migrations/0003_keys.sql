-- hydralite 0003: JSON Web Keys. Private keys are sealed (AES-256-GCM) with the system secret.
CREATE TABLE hydralite_jwk (
    set_id      text NOT NULL,
    kid         text NOT NULL,
    keydata     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (set_id, kid)
);
