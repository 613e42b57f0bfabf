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
