-- name: insert_device_code
-- A user code collision (same normalized code still stored) inserts nothing; the caller draws another code.
INSERT INTO hydralite_device_code (signature, user_code_signature, client_id, requested_scope, requested_audience,
                                   requested_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (user_code_signature) DO NOTHING
RETURNING 1;

-- name: get_device_code
SELECT * FROM hydralite_device_code WHERE signature = $1;

-- name: poll_device_code
-- Records a poll of a pending device code and returns the previous one (slow_down is decided on it); concurrent
-- polls queue on the row lock, so each sees the one before it.
UPDATE hydralite_device_code d SET last_polled_at = clock_timestamp()
FROM (SELECT signature, last_polled_at AS previous FROM hydralite_device_code
      WHERE signature = $1 AND status = 'pending' FOR UPDATE) p
WHERE d.signature = p.signature
RETURNING p.previous, d.last_polled_at AS polled_at;

-- name: exchange_device_code
-- Spends an approved device code and writes its tokens in one statement: of concurrent polls exactly one sees
-- it approved; the others insert nothing.
WITH spent AS (
    UPDATE hydralite_device_code SET status = 'used'
    WHERE signature = $1 AND status = 'approved' AND expires_at > clock_timestamp() RETURNING request_id
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

-- name: insert_device_challenge
INSERT INTO hydralite_device_challenge (id, csrf, request_url, client_ip, requested_at) VALUES ($1, $2, $3, $4, $5);

-- name: get_device_challenge
SELECT c.id, c.status, c.request_url, c.client_ip, c.requested_at, c.failures, d.client_id, d.requested_scope,
       d.requested_audience
FROM hydralite_device_challenge c LEFT JOIN hydralite_device_code d ON d.signature = c.device_signature
WHERE c.id = $1;

-- name: device_guess_window
-- Opens (or restarts after a minute) the IP's window and locks its row until the transaction ends.
INSERT INTO hydralite_device_guess AS g (client_ip, window_start, failures) VALUES ($1, now(), 0)
ON CONFLICT (client_ip) DO UPDATE
SET window_start = CASE WHEN g.window_start <= now() - interval '1 minute' THEN now() ELSE g.window_start END,
    failures = CASE WHEN g.window_start <= now() - interval '1 minute' THEN 0 ELSE g.failures END
RETURNING failures;

-- name: device_guess_failed
UPDATE hydralite_device_guess SET failures = failures + 1 WHERE client_ip = $1;

-- name: claim_user_code
-- Binds a pending, unexpired, unclaimed user code to an open device challenge, or counts a wrong try against the
-- challenge (locking it at $4 tries), in one statement. status is NULL when the challenge is not open.
WITH ch AS (
    SELECT id FROM hydralite_device_challenge WHERE id = $1 AND status = 'pending' AND failures < $4 FOR UPDATE
), claimed AS (
    UPDATE hydralite_device_code SET challenge_id = $1
    WHERE user_code_signature = $2 AND challenge_id IS NULL AND status = 'pending' AND expires_at > now()
      AND EXISTS (SELECT 1 FROM ch)
    RETURNING signature, client_id
), marked AS (
    UPDATE hydralite_device_challenge c
    SET status = CASE WHEN EXISTS (SELECT 1 FROM claimed) THEN 'accepted'
                      WHEN c.failures + 1 >= $4 THEN 'locked' ELSE c.status END,
        failures = c.failures + CASE WHEN EXISTS (SELECT 1 FROM claimed) THEN 0 ELSE 1 END,
        device_signature = (SELECT signature FROM claimed),
        verifier = CASE WHEN EXISTS (SELECT 1 FROM claimed) THEN $3 END
    FROM ch WHERE c.id = ch.id
    RETURNING c.status
)
SELECT (SELECT status FROM marked) AS status, (SELECT client_id FROM claimed) AS client_id;

-- name: device_verifier_csrf
-- The CSRF value an unspent device verifier expects: compared (in constant time) before the verifier is spent.
SELECT csrf FROM hydralite_device_challenge WHERE verifier = $1 AND status = 'accepted';

-- name: spend_device_verifier
-- Spends only with the CSRF value already checked, so a race with another browser cannot spend it on a mismatch.
WITH spent AS (
    UPDATE hydralite_device_challenge SET status = 'used' WHERE verifier = $1 AND csrf = $2 AND status = 'accepted'
    RETURNING id, csrf, request_url, device_signature, requested_at
)
SELECT s.*, d.client_id, d.requested_scope, d.requested_audience, d.status AS device_status, d.expires_at
FROM spent s JOIN hydralite_device_code d ON d.signature = s.device_signature;

-- name: approve_device_code
UPDATE hydralite_device_code
SET status = 'approved', request_id = $2, subject = $3, granted_scope = $4, granted_audience = $5, session = $6
WHERE signature = $1 AND status = 'pending' AND challenge_id IS NOT NULL AND expires_at > now()
RETURNING client_id;

-- name: deny_device_after_login
-- A rejected login of a device flow (its verifier just spent) denies the device code.
UPDATE hydralite_device_code d SET status = 'denied', denial = f.login
FROM hydralite_flow f
WHERE f.login_verifier = $1 AND f.status = 'login_used' AND (f.login->>'error') IS NOT NULL
  AND d.signature = f.request->>'device_signature' AND d.status = 'pending';

-- name: deny_device_after_consent
UPDATE hydralite_device_code d SET status = 'denied', denial = f.consent
FROM hydralite_flow f
WHERE f.consent_verifier = $1 AND f.status = 'consent_used' AND (f.consent->>'error') IS NOT NULL
  AND d.signature = f.request->>'device_signature' AND d.status = 'pending';
