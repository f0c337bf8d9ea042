-- Comptoir schema, version 4: email reaches only who it should.
--
-- * `suppressions`: the suppression list, by normalised email address. Append-only events
--   (an address is suppressed — unsubscribed, bounced, complained, cleaned, erased — or a
--   suppression is lifted by the merchant, with the reason); the latest event of an address,
--   in append order, is its state. Every campaign, test send, automation and import obeys it.
-- * The outbox holds one message per normalised address per campaign (`email_norm`, unique
--   per campaign), and says why a row was skipped (`skip_reason`). It is rebuilt without the
--   old one-row-per-customer constraint so that a merge can move a customer's rows.
-- * Idempotency keys remember a fingerprint of the input, so a key reused with a different
--   input is refused instead of answering with another write's outcome.
-- * A demo shop made by an earlier version (recognised by its deterministic first customer)
--   is marked as a demo, and its addresses move to reserved domains.

CREATE TABLE suppressions (
    id          INTEGER PRIMARY KEY,
    email_norm  TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('suppress', 'lift')),
    reason      TEXT NOT NULL CHECK (reason IN
                ('unsubscribed', 'hard_bounce', 'soft_bounce', 'complaint', 'cleaned', 'erased', 'merchant')),
    -- Where it came from: token, list, reply, bounce, arf, import, merchant, provider, migration.
    source      TEXT NOT NULL,
    detail      TEXT,
    customer_id INTEGER REFERENCES customers(id),
    campaign_id INTEGER REFERENCES campaigns(id),
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX suppressions_by_address ON suppressions (email_norm, id);
CREATE INDEX suppressions_by_customer ON suppressions (customer_id);
CREATE TRIGGER suppressions_append_only_u BEFORE UPDATE ON suppressions
BEGIN SELECT RAISE(ABORT, 'the suppression list is append-only'); END;
CREATE TRIGGER suppressions_append_only_d BEFORE DELETE ON suppressions
BEGIN SELECT RAISE(ABORT, 'the suppression list is append-only'); END;

-- Unsubscribes recorded before this version were by customer: their addresses are suppressed.
INSERT INTO suppressions (email_norm, action, reason, source, detail, customer_id, campaign_id, at)
SELECT c.email_norm, 'suppress', 'unsubscribed', 'migration', u.source, u.customer_id, u.campaign_id, u.at
FROM unsubscribes u JOIN customers c ON c.id = u.customer_id
WHERE c.email_norm IS NOT NULL AND c.email_norm <> ''
ORDER BY u.id;

-- The outbox, rebuilt. Rows keep their ids (unsubscribe tokens and Message-IDs stay valid).
CREATE TABLE campaign_recipients_v4 (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    email           TEXT NOT NULL,
    -- The address as compared: trimmed, lower case. NULL only for a duplicate found when
    -- this version upgraded a campaign built before it.
    email_norm      TEXT,
    grp             TEXT NOT NULL CHECK (grp IN ('main', 'a', 'b', 'rest', 'control')),
    variant         TEXT CHECK (variant IN ('a', 'b')),
    state           TEXT NOT NULL
                    CHECK (state IN ('held', 'queued', 'sending', 'sent', 'failed', 'skipped', 'control', 'cancelled')),
    -- Why a row was skipped: consent (consent withdrawn), suppressed (address on the
    -- suppression list), duplicate_address (another row of the campaign has the address),
    -- merged (the customer was merged into one already in the campaign).
    skip_reason     TEXT,
    token           TEXT NOT NULL UNIQUE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    message_id      TEXT,
    sent_at         TEXT
) STRICT;
INSERT INTO campaign_recipients_v4
    (id, campaign_id, customer_id, email, email_norm, grp, variant, state, skip_reason, token, attempts,
     next_attempt_at, last_error, message_id, sent_at)
SELECT r.id, r.campaign_id, r.customer_id, r.email,
       CASE WHEN d.first_id = r.id THEN lower(trim(r.email)) END,
       r.grp, r.variant,
       CASE WHEN d.first_id <> r.id AND r.state IN ('queued', 'held', 'sending') THEN 'skipped' ELSE r.state END,
       CASE WHEN d.first_id <> r.id AND r.state IN ('queued', 'held', 'sending') THEN 'duplicate_address' END,
       r.token, r.attempts, r.next_attempt_at, r.last_error, r.message_id, r.sent_at
FROM campaign_recipients r
JOIN (SELECT campaign_id, lower(trim(email)) AS norm,
             -- the row that keeps the address: one already sent, else the oldest
             coalesce(min(CASE WHEN state = 'sent' THEN id END), min(id)) AS first_id
      FROM campaign_recipients GROUP BY campaign_id, lower(trim(email))) d
  ON d.campaign_id = r.campaign_id AND d.norm = lower(trim(r.email));
DROP TABLE campaign_recipients;
ALTER TABLE campaign_recipients_v4 RENAME TO campaign_recipients;
CREATE INDEX campaign_recipients_queue ON campaign_recipients (campaign_id, state, id);
CREATE INDEX campaign_recipients_by_customer ON campaign_recipients (customer_id);
CREATE INDEX campaign_recipients_by_sent_at ON campaign_recipients (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX campaign_recipients_by_message_id ON campaign_recipients (message_id) WHERE message_id IS NOT NULL;
CREATE UNIQUE INDEX campaign_recipients_one_per_address ON campaign_recipients (campaign_id, email_norm);
-- A message that left stays recorded: what was sent, to which address, never changes; only
-- the customer it belongs to follows a merge.
CREATE TRIGGER campaign_recipients_sent_final
BEFORE UPDATE OF campaign_id, email, email_norm, grp, variant, state, token, message_id, sent_at ON campaign_recipients
WHEN old.state = 'sent'
BEGIN SELECT RAISE(ABORT, 'a sent message is final'); END;
CREATE TRIGGER campaign_recipients_never_deleted BEFORE DELETE ON campaign_recipients
BEGIN SELECT RAISE(ABORT, 'the outbox is never deleted'); END;

-- Unsubscribes follow a merge too (the row stays, the customer moves).
DROP TRIGGER unsubscribes_append_only_u;
CREATE TRIGGER unsubscribes_append_only_u BEFORE UPDATE OF campaign_id, at, source ON unsubscribes
BEGIN SELECT RAISE(ABORT, 'unsubscribes are append-only'); END;

ALTER TABLE idempotency ADD COLUMN fingerprint TEXT;
CREATE INDEX idempotency_by_age ON idempotency (created_at);

-- A demo shop generated by an earlier version: its first customer is always the same.
INSERT INTO settings (key, value)
SELECT 'demo', '1' WHERE EXISTS (
    SELECT 1 FROM customers WHERE id = 1 AND first_name = 'Julien' AND last_name = 'Bergeron'
      AND email = 'julien.bergeron530@laposte.net')
ON CONFLICT (key) DO UPDATE SET value = '1';
UPDATE customers
SET email = substr(email, 1, instr(email, '@')) || 'example.com',
    email_norm = lower(substr(email, 1, instr(email, '@')) || 'example.com')
WHERE (SELECT value FROM settings WHERE key = 'demo') = '1'
  AND email IS NOT NULL
  AND lower(substr(email, instr(email, '@') + 1)) IN
      ('gmail.com', 'orange.fr', 'free.fr', 'laposte.net', 'hotmail.fr', 'videotron.ca', 'outlook.com', 'yahoo.fr');
