-- name: insert_access_token
INSERT INTO hydralite_access_token (signature, request_id, client_id, subject, scope, audience, session, flow_id,
                                    requested_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: insert_access_tokens_if_client
-- Tokens of one client with the same scope, audience and flow, written together (db/batches.py), only if the client
-- row remembered in memory is unchanged since it was verified: status INSERT 0 <all of them>, or INSERT 0 0.
INSERT INTO hydralite_access_token (signature, request_id, client_id, subject, scope, audience, session, flow_id,
                                    requested_at, expires_at)
SELECT t.signature, t.request_id, $6, $7, $8, $9, t.session, $10, t.requested_at, t.expires_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
     AS t (signature, request_id, session, requested_at, expires_at)
WHERE EXISTS (SELECT 1 FROM hydralite_client WHERE id = $6 AND updated_at = $11);

-- name: get_access_tokens
-- Access tokens looked up together (db/batches.py). A token whose client is gone is dead, as in Hydra (it loads the
-- client with the token); no foreign key since 0007.
SELECT signature, request_id, client_id, subject, scope, audience, session, flow_id, requested_at, expires_at,
       true AS active
FROM hydralite_access_token t
WHERE signature = ANY($1::text[]) AND EXISTS (SELECT 1 FROM hydralite_client c WHERE c.id = t.client_id);

-- name: get_refresh_token
SELECT signature, request_id, client_id, subject, scope, audience, session, flow_id, requested_at, expires_at,
       active
FROM hydralite_refresh_token WHERE signature = $1;

-- name: revoke_request
-- Revokes a whole grant: every access token goes, every refresh token is spent.
WITH gone AS (DELETE FROM hydralite_access_token WHERE request_id = $1)
UPDATE hydralite_refresh_token SET active = false WHERE request_id = $1 AND active;

-- name: delete_client_access_tokens
DELETE FROM hydralite_access_token WHERE client_id = $1;
