-- Expiry warnings (token-service --expiry_webhook_url): one row per warning
-- recorded, its delivery state beside it.
--
-- The unique key (token_id, threshold_days) is what makes a warning happen
-- at most once, ever: the sender inserts with ON CONFLICT DO NOTHING, so a
-- restart, a second replica or a scan that overlaps another records nothing
-- twice. threshold_days is a day count of --expiry_warning_days, or 0 for
-- the warning sent once the token has expired.
--
-- A warning is 'pending' until the receiver answers 2xx ('delivered'), or
-- until the sender finds its token revoked or its owner disabled before it
-- could deliver it ('dropped'). Failed attempts are counted, with the time
-- of the next one and the last error (an HTTP status or a transport error,
-- never a response body), so a restarted sender resumes the backoff where it
-- was.
CREATE TABLE expiry_warnings (
  id               uuid PRIMARY KEY,
  token_id         uuid NOT NULL REFERENCES tokens (id),
  threshold_days   integer NOT NULL CHECK (threshold_days >= 0),
  created_at       timestamptz NOT NULL,
  state            text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'delivered', 'dropped')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  last_error       text NOT NULL DEFAULT '',
  delivered_at     timestamptz,
  UNIQUE (token_id, threshold_days)
);
-- The sender's queue: pending warnings by when they are due.
CREATE INDEX expiry_warnings_pending_idx ON expiry_warnings (next_attempt_at)
  WHERE state = 'pending';
-- The scan: live tokens by expiry date, so finding those near it reads a
-- range instead of every token.
CREATE INDEX tokens_live_expiry_idx ON tokens (expires_on) WHERE revoked_at IS NULL;
