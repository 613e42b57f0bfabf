-- hydralite 0001: clients and the tokens of the machine-to-machine path.
-- Plain tables, text/jsonb/timestamptz/arrays only, so CockroachDB can run them one day.

CREATE TABLE hydralite_client (
    id                            text PRIMARY KEY,
    client_name                   text NOT NULL DEFAULT '',
    owner                         text NOT NULL DEFAULT '',
    secret_hash                   text,
    rotated_secrets               text[] NOT NULL DEFAULT '{}',
    registration_token_signature  text,
    metadata                      jsonb NOT NULL,
    created_at                    timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hydralite_client_name_idx ON hydralite_client (client_name);
CREATE INDEX hydralite_client_owner_idx ON hydralite_client (owner);

-- Access tokens: only the HMAC signature is stored, never the token.
CREATE TABLE hydralite_access_token (
    signature     text PRIMARY KEY,
    request_id    text NOT NULL,
    client_id     text NOT NULL REFERENCES hydralite_client (id) ON DELETE CASCADE,
    subject       text NOT NULL,
    scope         text[] NOT NULL,
    audience      text[] NOT NULL,
    session       text,
    flow_id       text,
    requested_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX hydralite_access_token_request_idx ON hydralite_access_token (request_id);
CREATE INDEX hydralite_access_token_client_idx ON hydralite_access_token (client_id);
CREATE INDEX hydralite_access_token_expires_idx ON hydralite_access_token (expires_at);

-- Refresh tokens stay after use (active=false) so that reuse can be detected.
CREATE TABLE hydralite_refresh_token (
    signature               text PRIMARY KEY,
    request_id              text NOT NULL,
    client_id               text NOT NULL REFERENCES hydralite_client (id) ON DELETE CASCADE,
    subject                 text NOT NULL,
    scope                   text[] NOT NULL,
    audience                text[] NOT NULL,
    session                 text,
    flow_id                 text,
    access_token_signature  text,
    active                  boolean NOT NULL DEFAULT true,
    requested_at            timestamptz NOT NULL,
    expires_at              timestamptz,
    used_at                 timestamptz
);
CREATE INDEX hydralite_refresh_token_request_idx ON hydralite_refresh_token (request_id);
CREATE INDEX hydralite_refresh_token_client_idx ON hydralite_refresh_token (client_id);
