-- The change feed that token sidecars follow (tokens.v1.TokenSync).
--
-- A reader asks for "every row with a version above N" and then remembers
-- the highest version it saw. That is only sound if no version below that
-- maximum can still commit later. Values of a plain sequence are taken
-- before commit, in no particular commit order: a reader could see version
-- 11 committed while 10 is still in flight, and skip 10 forever.
--
-- So versions are no longer column defaults: a BEFORE trigger takes a
-- transaction-scoped advisory lock first and only then the next value.
-- Writers of versioned changes are serialized from that point until they
-- commit (the lock is released after the commit is visible), so commit
-- order equals version order, and everything up to the highest version a
-- reader can see is complete. The lock is held only by transactions that
-- change something a sidecar caches; usage updates never take it.
--
-- The trigger also queues a notification on channel token_changes, which
-- PostgreSQL delivers at commit (and drops on rollback): it wakes every
-- token-service replica to read the new versions. The payload is empty;
-- readers always read from their last version.

-- The client address of a token's last use, as reported by a sidecar.
ALTER TABLE tokens ADD COLUMN last_used_from text;

ALTER TABLE tokens ALTER COLUMN version DROP DEFAULT;
ALTER TABLE users ALTER COLUMN version DROP DEFAULT;

CREATE FUNCTION take_change_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Any constant works as long as nothing else in the database uses it;
  -- distinct from the migration lock ("tokens"). This one spells "tokfeed".
  PERFORM pg_advisory_xact_lock(32773604368541028);
  NEW.version := nextval('change_version_seq');
  PERFORM pg_notify('token_changes', '');
  RETURN NEW;
END;
$$;

CREATE TRIGGER tokens_version_on_insert
  BEFORE INSERT ON tokens
  FOR EACH ROW EXECUTE FUNCTION take_change_version();

-- Only what a sidecar caches: not last_used_at / last_used_from, not names.
CREATE TRIGGER tokens_version_on_update
  BEFORE UPDATE OF revoked_at, expires_on, user_id, token_hash ON tokens
  FOR EACH ROW
  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
        OR OLD.expires_on IS DISTINCT FROM NEW.expires_on
        OR OLD.user_id IS DISTINCT FROM NEW.user_id
        OR OLD.token_hash IS DISTINCT FROM NEW.token_hash)
  EXECUTE FUNCTION take_change_version();

CREATE TRIGGER users_version_on_insert
  BEFORE INSERT ON users
  FOR EACH ROW EXECUTE FUNCTION take_change_version();

-- Role and disabled decide whether a token works; names and emails do not.
CREATE TRIGGER users_version_on_update
  BEFORE UPDATE OF role, disabled ON users
  FOR EACH ROW
  WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.disabled IS DISTINCT FROM NEW.disabled)
  EXECUTE FUNCTION take_change_version();
