-- hydralite 0008: logout requests are stored, as Hydra v25/v26 stores them (hydra_oauth2_logout_request), so that
-- the admin API can tell a pending request from a rejected one (GET answers 404) and from one whose verifier was
-- spent (GET answers 410 {redirect_to: request_url}). Until now the challenge was a sealed, stateless token and a
-- rejected request still read back 200. The three flags are Hydra's: accept sets accepted and clears rejected,
-- reject the reverse, spending the verifier (only while accepted and not rejected) sets was_used.
CREATE TABLE hydralite_logout_request (
    challenge      text PRIMARY KEY,
    verifier       text NOT NULL UNIQUE,
    subject        text NOT NULL,
    sid            text NOT NULL,
    -- Hydra: ON DELETE CASCADE, so a request of a deleted client is gone (404) rather than shown without it.
    client_id      text REFERENCES hydralite_client (id) ON DELETE CASCADE,
    request_url    text NOT NULL,
    redir_url      text NOT NULL,              -- where the browser goes when the logout is done (state appended)
    rp_initiated   boolean NOT NULL,
    accepted       boolean NOT NULL DEFAULT false,
    rejected       boolean NOT NULL DEFAULT false,
    was_used       boolean NOT NULL DEFAULT false,
    requested_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX hydralite_logout_request_client_idx ON hydralite_logout_request (client_id) WHERE client_id IS NOT NULL;
