-- name: insert_auth_code
INSERT INTO hydralite_auth_code (signature, request_id, client_id, subject, scope, audience, redirect_uri,
                                 code_challenge, session, requested_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: get_auth_code
SELECT * FROM hydralite_auth_code WHERE signature = $1;

-- name: exchange_code
-- Spends the code and writes its tokens in one atomic statement: of concurrent exchanges exactly one
-- sees the code active; the others insert nothing.
WITH spent AS (
    UPDATE hydralite_auth_code SET active = false WHERE signature = $1 AND active RETURNING request_id
), at AS (
    INSERT INTO hydralite_access_token (signature, request_id, client_id, subject, scope, audience, session, flow_id,
                                        requested_at, expires_at)
    SELECT $2, request_id, $3, $4, $5, $6, $7, request_id, $8, $9 FROM spent
), rt AS (
    INSERT INTO hydralite_refresh_token (signature, request_id, client_id, subject, scope, audience, session,
                                         flow_id, access_token_signature, requested_at, expires_at)
    SELECT $10, request_id, $3, $4, $5, $6, $11, request_id, $2, $8, $12 FROM spent WHERE $10::text IS NOT NULL
)
SELECT count(*) FROM spent;

-- name: rotate_refresh
-- Spends the refresh token, drops the grant's access tokens and writes the new pair, atomically.
WITH spent AS (
    UPDATE hydralite_refresh_token SET active = false, used_at = now()
    WHERE signature = $1 AND active RETURNING request_id, flow_id
), old_at AS (
    DELETE FROM hydralite_access_token WHERE request_id IN (SELECT request_id FROM spent)
), at AS (
    INSERT INTO hydralite_access_token (signature, request_id, client_id, subject, scope, audience, session, flow_id,
                                        requested_at, expires_at)
    SELECT $2, request_id, $3, $4, $5, $6, $7, flow_id, $8, $9 FROM spent
), rt AS (
    INSERT INTO hydralite_refresh_token (signature, request_id, client_id, subject, scope, audience, session,
                                         flow_id, access_token_signature, requested_at, expires_at)
    SELECT $10, request_id, $3, $4, $5, $6, $11, flow_id, $2, $8, $12 FROM spent
)
SELECT count(*) FROM spent;
