-- name: get_client
SELECT id, secret_hash, rotated_secrets, metadata, created_at, updated_at
FROM hydralite_client WHERE id = $1;

-- name: insert_client
-- Access tokens have no foreign key to their client (0007): a token insert that raced the deletion of an earlier
-- client with this id may have left a row behind; it must not come back to life with the new client.
WITH leftover AS (DELETE FROM hydralite_access_token WHERE client_id = $1)
INSERT INTO hydralite_client (id, client_name, owner, secret_hash, registration_token_signature, metadata,
                              created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
RETURNING id, secret_hash, rotated_secrets, metadata, created_at, updated_at;

-- name: update_client
-- $4 NULL keeps the stored hash; a new hash clears the rotated secrets (as Hydra does).
UPDATE hydralite_client
SET client_name = $2, owner = $3,
    rotated_secrets = CASE WHEN $4::text IS NULL THEN rotated_secrets ELSE '{}' END,
    secret_hash = CASE WHEN $4::text IS NULL THEN secret_hash WHEN $4::text = '' THEN NULL ELSE $4::text END,
    metadata = $5, updated_at = $6
WHERE id = $1
RETURNING id, secret_hash, rotated_secrets, metadata, created_at, updated_at;

-- name: delete_client
-- Access tokens have no foreign key to their client (0007): they go in the same statement.
WITH gone AS (DELETE FROM hydralite_client WHERE id = $1 RETURNING id),
     tokens AS (DELETE FROM hydralite_access_token WHERE client_id IN (SELECT id FROM gone))
SELECT id FROM gone;

-- name: list_clients
-- Keyset pagination on id; $2 is the last id of the previous page ('' for the first).
SELECT id, secret_hash, rotated_secrets, metadata, created_at, updated_at
FROM hydralite_client
WHERE id > $2 AND ($3::text IS NULL OR client_name = $3) AND ($4::text IS NULL OR owner = $4)
ORDER BY id
LIMIT $1;
