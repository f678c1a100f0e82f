-- Sign-in throttling per typed username and client address instead of a lock on the account:
-- an attacker elsewhere slows down only their own guesses. Rows exist for names that match
-- no account too, so every server instance answers them alike.
CREATE TABLE login_throttle (
    account TEXT NOT NULL,
    client TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at BIGINT NOT NULL,
    -- Unix milliseconds before which the next attempt is refused; 0 when there is no wait.
    throttled_until BIGINT NOT NULL,
    PRIMARY KEY (account, client)
);
CREATE INDEX login_throttle_last_failure_at ON login_throttle (last_failure_at);

ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN locked_until;
