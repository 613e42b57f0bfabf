-- name: spend_jti
-- Single use in one statement: a new jti is stored; a stored one that has expired is taken over; a live one
-- is a replay and returns no row.
INSERT INTO hydralite_jti (signature, expires_at) VALUES ($1, $2)
ON CONFLICT (signature) DO UPDATE SET expires_at = EXCLUDED.expires_at
    WHERE hydralite_jti.expires_at <= clock_timestamp()
RETURNING 1;

-- name: delete_expired_jtis
DELETE FROM hydralite_jti WHERE expires_at <= $1;
