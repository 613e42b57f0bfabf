-- hydralite 0006: the device authorization grant (RFC 8628), as Hydra's hydra_oauth2_device_auth_codes plus the
-- device challenges Hydra keeps in encrypted URLs. Only signatures of device and user codes are stored.

-- One row per POST /oauth2/device/auth. status: pending -> approved|denied -> used.
CREATE TABLE hydralite_device_code (
    signature            text PRIMARY KEY,             -- HMAC part of the ory_dc_ device code
    user_code_signature  text NOT NULL UNIQUE,         -- HMAC of the normalized user code
    client_id            text NOT NULL REFERENCES hydralite_client (id) ON DELETE CASCADE,
    status               text NOT NULL DEFAULT 'pending',
    requested_scope      text[] NOT NULL,
    requested_audience   text[] NOT NULL,
    challenge_id         text UNIQUE,                  -- the device challenge that spent the user code
    request_id           text,                         -- the login/consent flow; every token shares it
    subject              text NOT NULL DEFAULT '',
    granted_scope        text[] NOT NULL DEFAULT '{}',
    granted_audience     text[] NOT NULL DEFAULT '{}',
    session              text,                         -- sealed claims for the tokens
    denial               jsonb,                        -- the login or consent rejection
    last_polled_at       timestamptz,
    requested_at         timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL
);
CREATE INDEX hydralite_device_code_expires_idx ON hydralite_device_code (expires_at);

-- One row per browser visit of /oauth2/device/verify. status: pending -> accepted -> used, or locked after
-- too many wrong user codes.
CREATE TABLE hydralite_device_challenge (
    id                text PRIMARY KEY,
    status            text NOT NULL DEFAULT 'pending',
    csrf              text NOT NULL,
    request_url       text NOT NULL,
    client_ip         text NOT NULL,
    failures          integer NOT NULL DEFAULT 0,
    verifier          text UNIQUE,
    device_signature  text REFERENCES hydralite_device_code (signature) ON DELETE CASCADE,
    requested_at      timestamptz NOT NULL
);
CREATE INDEX hydralite_device_challenge_requested_idx ON hydralite_device_challenge (requested_at);

-- Wrong user codes per client IP in a one-minute window (the row lock also serializes one IP's tries).
CREATE TABLE hydralite_device_guess (
    client_ip     text PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    failures      integer NOT NULL DEFAULT 0
);
