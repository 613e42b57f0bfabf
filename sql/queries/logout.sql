-- Ending a login session and finding the clients to tell (OIDC Front- and Back-Channel Logout 1.0).

-- name: end_login_session
-- One statement: of several requests ending the same session only one gets the row, so only that one
-- sends the back-channel logout requests (at most once, as Hydra gates it on its delete).
DELETE FROM hydralite_login_session WHERE id = $1 RETURNING subject;

-- name: logout_clients
-- Clients that took part in the login session (a consent given under it, as Hydra's flows bound to the sid)
-- and registered a front- or back-channel logout URI.
SELECT id, secret_hash, rotated_secrets, metadata, created_at, updated_at
FROM hydralite_client c
WHERE c.id IN (
    SELECT f.client_id FROM hydralite_flow f
    WHERE f.login_session_id = $1 AND f.subject = $2 AND f.status = 'consent_used'
      AND (f.consent->>'error') IS NULL
)
  AND (coalesce(c.metadata->>'frontchannel_logout_uri', '') <> ''
       OR coalesce(c.metadata->>'backchannel_logout_uri', '') <> '')
ORDER BY c.id;

-- Logout requests (migration 0008), as Hydra v25/v26 keeps them in hydra_oauth2_logout_request.

-- name: insert_logout_request
INSERT INTO hydralite_logout_request (challenge, verifier, subject, sid, client_id, request_url, redir_url,
                                      rp_initiated, requested_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: get_logout_request
-- Hydra's GetLogoutRequest: a rejected request is not found.
SELECT challenge, subject, sid, client_id, request_url, rp_initiated, was_used, requested_at, expires_at
FROM hydralite_logout_request
WHERE challenge = $1 AND NOT rejected;

-- name: accept_logout_request
-- Hydra's AcceptLogoutRequest (accepted, and no longer rejected; again and again, the verifier never changes), in
-- one statement that leaves an expired request alone: no row = unknown challenge, else `expired` or the verifier.
WITH found AS (
    SELECT challenge, expires_at <= $2 AS expired FROM hydralite_logout_request WHERE challenge = $1
), changed AS (
    UPDATE hydralite_logout_request r SET accepted = true, rejected = false
    FROM found WHERE r.challenge = found.challenge AND NOT found.expired
    RETURNING r.verifier
)
SELECT found.expired, changed.verifier FROM found LEFT JOIN changed ON true;

-- name: reject_logout_request
-- Hydra's RejectLogoutRequest (rejected, and no longer accepted, so its verifier stops working), in one statement
-- that leaves an expired request alone: no row = unknown challenge.
WITH found AS (
    SELECT challenge, expires_at <= $2 AS expired FROM hydralite_logout_request WHERE challenge = $1
), changed AS (
    UPDATE hydralite_logout_request r SET rejected = true, accepted = false
    FROM found WHERE r.challenge = found.challenge AND NOT found.expired
    RETURNING r.challenge
)
SELECT found.expired FROM found;

-- name: use_logout_verifier
-- Hydra's VerifyAndInvalidateLogoutRequest: only an accepted, unrejected request's verifier works; it marks the
-- request used (GET then answers 410) but, as in Hydra, does not stop a second use (ending a session is idempotent).
UPDATE hydralite_logout_request SET was_used = true
WHERE verifier = $1 AND accepted AND NOT rejected
RETURNING subject, sid, rp_initiated, redir_url, expires_at;
