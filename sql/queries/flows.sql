-- name: insert_flow
INSERT INTO hydralite_flow (id, client_id, status, request, request_url, requested_scope, requested_audience,
                            login_skip, subject, login_session_id, login_csrf, authenticated_at, requested_at)
VALUES ($1, $2, 'login_pending', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);

-- name: get_flow_by_login
SELECT * FROM hydralite_flow WHERE id = $1;

-- name: get_flow_by_consent
SELECT * FROM hydralite_flow WHERE consent_challenge = $1;

-- name: handle_login
-- Accept or reject; allowed again until the verifier is spent (Hydra lets a UI retry).
UPDATE hydralite_flow SET status = $2, login = $3, login_verifier = $4
WHERE id = $1 AND status IN ('login_pending', 'login_accepted', 'login_rejected')
RETURNING *;

-- name: spend_login_verifier
UPDATE hydralite_flow SET status = 'login_used'
WHERE login_verifier = $1 AND status IN ('login_accepted', 'login_rejected')
RETURNING *;

-- name: start_consent
UPDATE hydralite_flow
SET status = 'consent_pending', consent_challenge = $2, consent_csrf = $3, consent_skip = $4, subject = $5,
    login_session_id = $6, authenticated_at = $7
WHERE id = $1 AND status = 'login_used'
RETURNING *;

-- name: handle_consent
UPDATE hydralite_flow SET status = $2, consent = $3, consent_verifier = $4, granted_scope = $5,
    granted_audience = $6, consent_remember = $7, consent_remember_for = $8, consent_handled_at = now()
WHERE consent_challenge = $1 AND status IN ('consent_pending', 'consent_accepted', 'consent_rejected')
RETURNING *;

-- name: spend_consent_verifier
UPDATE hydralite_flow SET status = 'consent_used'
WHERE consent_verifier = $1 AND status IN ('consent_accepted', 'consent_rejected')
RETURNING *;

-- name: remembered_consent
-- The newest remembered, unexpired, not itself skipped consent of (subject, client).
SELECT granted_scope, granted_audience FROM hydralite_flow
WHERE subject = $1 AND client_id = $2 AND status = 'consent_used' AND consent_remember AND NOT consent_skip
  AND (consent->>'error') IS NULL
  AND (consent_remember_for = 0 OR consent_handled_at + make_interval(secs => consent_remember_for) > now())
ORDER BY consent_handled_at DESC LIMIT 1;

-- name: forced_subject_known
-- Hydra's forced obfuscated login session: did a completed sign-in of (subject, client) force this identifier?
SELECT EXISTS (SELECT 1 FROM hydralite_flow
               WHERE subject = $1 AND client_id = $2 AND status = 'consent_used'
                 AND login->>'force_subject_identifier' = $3);

-- name: list_consent_sessions
SELECT f.*, c.metadata AS client_metadata, c.created_at AS client_created_at, c.updated_at AS client_updated_at
FROM hydralite_flow f JOIN hydralite_client c ON c.id = f.client_id
WHERE f.subject = $1 AND f.status = 'consent_used' AND NOT f.consent_skip AND (f.consent->>'error') IS NULL
  AND ($2::text IS NULL OR f.login_session_id = $2)
  AND (f.consent_remember_for = 0 OR NOT f.consent_remember
       OR f.consent_handled_at + make_interval(secs => f.consent_remember_for) > now())
ORDER BY f.consent_handled_at DESC LIMIT $3 OFFSET $4;

-- name: revoke_consent
-- Deletes the matching consent flows and every token minted from them.
WITH gone AS (
    DELETE FROM hydralite_flow
    WHERE subject = $1 AND ($2::text IS NULL OR client_id = $2) AND ($3::text IS NULL OR consent_challenge = $3)
    RETURNING id
), at AS (DELETE FROM hydralite_access_token WHERE request_id IN (SELECT id FROM gone))
UPDATE hydralite_refresh_token SET active = false WHERE request_id IN (SELECT id FROM gone) AND active;

-- name: revoke_consent_by_challenge
WITH gone AS (DELETE FROM hydralite_flow WHERE consent_challenge = $1 RETURNING id),
     at AS (DELETE FROM hydralite_access_token WHERE request_id IN (SELECT id FROM gone))
UPDATE hydralite_refresh_token SET active = false WHERE request_id IN (SELECT id FROM gone) AND active;

-- name: get_login_session
SELECT * FROM hydralite_login_session WHERE id = $1 AND remember AND expires_at > now();

-- name: upsert_login_session
INSERT INTO hydralite_login_session (id, subject, authenticated_at, remember, expires_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET subject = excluded.subject, authenticated_at = excluded.authenticated_at,
    remember = excluded.remember, expires_at = excluded.expires_at;

-- name: delete_login_session
DELETE FROM hydralite_login_session WHERE id = $1;

-- name: delete_login_sessions_of_subject
DELETE FROM hydralite_login_session WHERE subject = $1;
