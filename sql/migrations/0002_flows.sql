-- hydralite 0002: the browser flow: login sessions, login/consent flows, authorization codes.

CREATE TABLE hydralite_login_session (
    id                  text PRIMARY KEY,
    subject             text NOT NULL,
    authenticated_at    timestamptz NOT NULL,
    remember            boolean NOT NULL DEFAULT false,
    expires_at          timestamptz NOT NULL
);
CREATE INDEX hydralite_login_session_subject_idx ON hydralite_login_session (subject);

-- One row per authorization request that reached login; it walks
-- login_pending -> login_accepted|login_rejected -> login_used -> consent_pending
-- -> consent_accepted|consent_rejected -> consent_used. Verifiers are spent by one UPDATE.
CREATE TABLE hydralite_flow (
    id                   text PRIMARY KEY,           -- the login challenge
    consent_challenge    text UNIQUE,
    client_id            text NOT NULL REFERENCES hydralite_client (id) ON DELETE CASCADE,
    status               text NOT NULL,
    request              jsonb NOT NULL,             -- the validated authorization request
    request_url          text NOT NULL,
    requested_scope      text[] NOT NULL,
    requested_audience   text[] NOT NULL,
    login_skip           boolean NOT NULL,
    subject              text NOT NULL DEFAULT '',
    login_session_id     text,
    login_csrf           text NOT NULL,
    login_verifier       text UNIQUE,
    login                jsonb,                      -- accept or reject body of the login step
    authenticated_at     timestamptz,
    consent_skip         boolean NOT NULL DEFAULT false,
    consent_csrf         text,
    consent_verifier     text UNIQUE,
    consent              jsonb,                      -- accept or reject body of the consent step
    granted_scope        text[] NOT NULL DEFAULT '{}',
    granted_audience     text[] NOT NULL DEFAULT '{}',
    consent_remember     boolean NOT NULL DEFAULT false,
    consent_remember_for integer NOT NULL DEFAULT 0,
    consent_handled_at   timestamptz,
    requested_at         timestamptz NOT NULL
);
CREATE INDEX hydralite_flow_subject_client_idx ON hydralite_flow (subject, client_id) WHERE status = 'consent_used';
CREATE INDEX hydralite_flow_session_idx ON hydralite_flow (login_session_id);
CREATE INDEX hydralite_flow_requested_idx ON hydralite_flow (requested_at);

CREATE TABLE hydralite_auth_code (
    signature              text PRIMARY KEY,
    request_id             text NOT NULL,
    client_id              text NOT NULL REFERENCES hydralite_client (id) ON DELETE CASCADE,
    subject                text NOT NULL,
    scope                  text[] NOT NULL,
    audience               text[] NOT NULL,
    redirect_uri           text NOT NULL,
    code_challenge         text NOT NULL DEFAULT '',
    session                text,
    active                 boolean NOT NULL DEFAULT true,
    requested_at           timestamptz NOT NULL,
    expires_at             timestamptz NOT NULL
);
CREATE INDEX hydralite_auth_code_expires_idx ON hydralite_auth_code (expires_at);
CREATE INDEX hydralite_access_token_flow_idx ON hydralite_access_token (flow_id);
CREATE INDEX hydralite_refresh_token_flow_idx ON hydralite_refresh_token (flow_id);
