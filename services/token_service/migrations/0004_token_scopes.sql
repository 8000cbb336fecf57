-- What each token may do: names from the operator's catalogue
-- (token-service --token_scopes), sorted, each once. Empty: the token has its
-- user's full access, which is what every token written before this
-- migration keeps. Fixed for the token's life (a rotation copies them), so
-- no version trigger needs to list the column; the feed carries it with the
-- token's other columns.
--
-- A constant default: PostgreSQL adds the column without rewriting the table.
ALTER TABLE tokens ADD COLUMN scopes text[] NOT NULL DEFAULT '{}';
