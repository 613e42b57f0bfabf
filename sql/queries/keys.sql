-- name: get_key_set
-- Newest first: the first key signs.
SELECT kid, keydata, created_at FROM hydralite_jwk WHERE set_id = $1 ORDER BY created_at DESC, kid;

-- name: get_key_sets
SELECT set_id, kid, keydata, created_at FROM hydralite_jwk WHERE set_id = ANY($1::text[])
ORDER BY set_id, created_at DESC, kid;

-- name: insert_key
INSERT INTO hydralite_jwk (set_id, kid, keydata) VALUES ($1, $2, $3)
ON CONFLICT (set_id, kid) DO NOTHING RETURNING kid;

-- name: upsert_key
INSERT INTO hydralite_jwk (set_id, kid, keydata) VALUES ($1, $2, $3)
ON CONFLICT (set_id, kid) DO UPDATE SET keydata = excluded.keydata;

-- name: delete_key_set
DELETE FROM hydralite_jwk WHERE set_id = $1 RETURNING kid;

-- name: delete_key
DELETE FROM hydralite_jwk WHERE set_id = $1 AND kid = $2 RETURNING kid;

-- name: lock_key_set
-- Serialises first-use key creation for one set across processes (released at transaction end).
SELECT pg_advisory_xact_lock(hashtextextended('hydralite_jwk:' || $1, 0));

-- name: insert_first_key
INSERT INTO hydralite_jwk (set_id, kid, keydata)
SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM hydralite_jwk WHERE set_id = $1)
RETURNING kid;
