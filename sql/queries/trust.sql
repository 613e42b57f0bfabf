-- name: insert_trust
-- A duplicate (issuer, subject, kid) returns no row: the API answers 409 as Hydra's unique violation.
INSERT INTO hydralite_trust (id, issuer, subject, allow_any_subject, scope, key_id, jwk, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (key_id, issuer, subject) DO NOTHING
RETURNING id;

-- name: get_trust
SELECT id, issuer, subject, allow_any_subject, scope, key_id, created_at, expires_at
FROM hydralite_trust WHERE id = $1;

-- name: delete_trust
DELETE FROM hydralite_trust WHERE id = $1 RETURNING id;

-- name: list_trusts
-- Keyset pagination on id, as Hydra's; $2 is the last id of the previous page (the nil UUID for the first).
SELECT id, issuer, subject, allow_any_subject, scope, key_id, created_at, expires_at
FROM hydralite_trust
WHERE id > $2 AND ($3::text IS NULL OR issuer = $3)
ORDER BY id
LIMIT $1;

-- name: trusted_keys
-- The live relationships that let `issuer` assert `subject` (with key `kid` when the assertion names one): a
-- subject-specific one before an any-subject one, newest first; at most 100 keys are tried, as Hydra.
SELECT jwk, scope, key_id, allow_any_subject
FROM hydralite_trust
WHERE issuer = $1 AND (subject = $2 OR allow_any_subject) AND ($3::text IS NULL OR key_id = $3)
  AND expires_at > clock_timestamp()
ORDER BY allow_any_subject, created_at DESC
LIMIT 100;
