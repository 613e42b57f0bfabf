-- name: insert_access_token
INSERT INTO hydralite_access_token (signature, request_id, client_id, subject, scope, audience, session, flow_id,
                                    requested_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: insert_access_token_if_client
-- For a client remembered in memory: insert only if its row is unchanged since it was verified (status INSERT 0 1).
INSERT INTO hydralite_access_token (signature, request_id, client_id, subject, scope, audience, session, flow_id,
                                    requested_at, expires_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
WHERE EXISTS (SELECT 1 FROM hydralite_client WHERE id = $3 AND updated_at = $11);

-- name: get_access_token
-- A token whose client is gone is dead, as in Hydra (it loads the client with the token); no foreign key since 0007.
SELECT signature, request_id, client_id, subject, scope, audience, session, flow_id, requested_at, expires_at,
       true AS active
FROM hydralite_access_token t
WHERE signature = $1 AND EXISTS (SELECT 1 FROM hydralite_client c WHERE c.id = t.client_id);

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
