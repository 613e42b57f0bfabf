-- OpenID Connect Dynamic Client Registration (RFC 7591/7592): a client managed with its registration access token.
-- Only the token's HMAC signature is stored; writes name the signature they were authorised with, so two
-- requests holding the same token cannot both rotate it, and a rotated token can no longer delete.

-- name: get_client_registration
SELECT id, secret_hash, rotated_secrets, metadata, created_at, updated_at, registration_token_signature
FROM hydralite_client WHERE id = $1;

-- name: update_registered_client
UPDATE hydralite_client
SET client_name = $4, owner = $5, metadata = $6, updated_at = $7, registration_token_signature = $3
WHERE id = $1 AND registration_token_signature = $2
RETURNING id, secret_hash, rotated_secrets, metadata, created_at, updated_at;

-- name: delete_registered_client
-- Access tokens have no foreign key to their client (0007): they go in the same statement.
WITH gone AS (DELETE FROM hydralite_client WHERE id = $1 AND registration_token_signature = $2 RETURNING id),
     tokens AS (DELETE FROM hydralite_access_token WHERE client_id IN (SELECT id FROM gone))
SELECT id FROM gone;
