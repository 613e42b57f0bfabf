-- hydralite 0007: a cheaper access-token insert (issue 13 item 3), measured with bench/hotpaths.py.
-- The foreign key to hydralite_client made every token insert lock the client row (FOR KEY SHARE: a MultiXact
-- and a WAL record on the one hot row under concurrency). Deleting a client now deletes its access tokens in the
-- same statement (delete_client, delete_registered_client), and reading an access token checks that its client
-- still exists, as Hydra loads the client with the token: a token that raced a deletion is never honoured.
ALTER TABLE hydralite_access_token DROP CONSTRAINT hydralite_access_token_client_id_fkey;

-- client_credentials tokens have no flow: index only the tokens that have one (queries ask `flow_id = $1`).
DROP INDEX hydralite_access_token_flow_idx;
CREATE INDEX hydralite_access_token_flow_idx ON hydralite_access_token (flow_id) WHERE flow_id IS NOT NULL;
