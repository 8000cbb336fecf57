-- Users, tokens and the audit trail.
--
-- Every change a token sidecar must learn about (a token created, revoked or
-- rotated; a user disabled, enabled or given another role) takes a new value
-- from change_version_seq into the row's `version`, so a sidecar can ask for
-- "everything after version N".

CREATE SEQUENCE change_version_seq;

CREATE TABLE users (
  user_id       text PRIMARY KEY,
  display_name  text NOT NULL,
  email         text NOT NULL DEFAULT '',
  role          text NOT NULL CHECK (role IN ('USER', 'ADMIN', 'SERVICE')),
  disabled      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  version       bigint NOT NULL DEFAULT nextval('change_version_seq')
);
CREATE INDEX users_version_idx ON users (version);

CREATE TABLE tokens (
  id            uuid PRIMARY KEY,
  user_id       text NOT NULL REFERENCES users (user_id),
  name          text NOT NULL,
  -- SHA-256 of the full token; the plaintext is never stored.
  token_hash    bytea NOT NULL CHECK (octet_length(token_hash) = 32),
  -- Masked display form, e.g. utk_AbCd…WxYz. Not secret.
  hint          text NOT NULL,
  created_at    timestamptz NOT NULL,
  -- The token stops working at 00:00 UTC of this day.
  expires_on    date NOT NULL,
  revoked_at    timestamptz,
  last_used_at  timestamptz,
  -- The token this one replaced through RotateToken.
  rotated_from  uuid REFERENCES tokens (id),
  version       bigint NOT NULL DEFAULT nextval('change_version_seq')
);
-- Authentication looks a token up by its hash.
CREATE UNIQUE INDEX tokens_hash_key ON tokens (token_hash);
-- A name is unique among one user's tokens that are not revoked.
CREATE UNIQUE INDEX tokens_live_name_key ON tokens (user_id, name) WHERE revoked_at IS NULL;
-- Keyset pagination, newest first: one user's tokens (Profile) and everyone's
-- (Access Control -> User Tokens).
CREATE INDEX tokens_user_created_idx ON tokens (user_id, created_at DESC, id DESC);
CREATE INDEX tokens_created_idx ON tokens (created_at DESC, id DESC);
-- Sidecar catch-up: rows changed after a version.
CREATE INDEX tokens_version_idx ON tokens (version);

CREATE TABLE token_events (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind               text NOT NULL,
  occurred_at        timestamptz NOT NULL,
  -- Not foreign keys: the trail must outlive anything it mentions.
  actor_user_id      text NOT NULL,
  subject_user_id    text NOT NULL,
  token_id           uuid,
  token_name         text NOT NULL DEFAULT '',
  previous_token_id  uuid,
  detail             text NOT NULL DEFAULT ''
);
CREATE INDEX token_events_subject_idx ON token_events (subject_user_id, id DESC);
CREATE INDEX token_events_token_idx ON token_events (token_id, id DESC) WHERE token_id IS NOT NULL;
