-- Comptoir schema, version 5: the merchant's data in and out. Imports and what each changed
-- (so one can be undone), saved column mappings, the suppression list by address, erasures
-- (only a salted hash of the email and phone is kept), and the narrow, per-customer unlock that
-- lets an import undo or an erasure touch rows the append-only triggers otherwise protect.

-- Every import: the file, its options, its counts; `undone_at` once undone.
CREATE TABLE imports (
    id          INTEGER PRIMARY KEY,
    file_name   TEXT NOT NULL,
    format      TEXT NOT NULL,
    options     TEXT NOT NULL,           -- JSON `ImportOptions`
    counts      TEXT NOT NULL,           -- JSON `ImportCounts`
    attestation TEXT,                    -- the soft opt-in attestation the merchant ticked, word for word
    created_at  TEXT NOT NULL,
    undone_at   TEXT
) STRICT;

-- What an import did to each customer: created it, or changed some of its fields (with their
-- earlier values, as JSON), so that an undo puts them back.
CREATE TABLE import_changes (
    import_id   INTEGER NOT NULL REFERENCES imports(id),
    customer_id INTEGER NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('created', 'updated')),
    before      TEXT,                    -- JSON of the fields as they were (updated only)
    after       TEXT,                    -- JSON of the fields the import wrote (updated only)
    PRIMARY KEY (import_id, customer_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX import_changes_by_customer ON import_changes (customer_id);

-- Column mappings the merchant saved, by name.
CREATE TABLE import_mappings (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    mapping    TEXT NOT NULL,            -- JSON `Mapping`
    created_at TEXT NOT NULL
) STRICT;

-- Addresses that must never be mailed again, whatever a later import or campaign says.
-- (Shared with the campaigns; `campaigns::suppression` is the one way to add to it.)
CREATE TABLE suppressions (
    email_norm TEXT PRIMARY KEY,
    reason     TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained', 'cleaned', 'erased')),
    source     TEXT NOT NULL,
    at         TEXT NOT NULL
) STRICT;
CREATE TRIGGER suppressions_never_deleted BEFORE DELETE ON suppressions
BEGIN SELECT RAISE(ABORT, 'a suppression is never removed'); END;

-- Erasures (GDPR / Law 25): the person's data is gone; only salted hashes of the email and
-- phone remain so they are never imported or mailed again, and the erasure is applied again
-- after restoring an older backup. Append-only.
CREATE TABLE erasures (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    email_hash  TEXT,
    phone_hash  TEXT,
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX erasures_by_email ON erasures (email_hash) WHERE email_hash IS NOT NULL;
CREATE INDEX erasures_by_phone ON erasures (phone_hash) WHERE phone_hash IS NOT NULL;
CREATE TRIGGER erasures_append_only_u BEFORE UPDATE ON erasures
BEGIN SELECT RAISE(ABORT, 'erasures are append-only'); END;
CREATE TRIGGER erasures_append_only_d BEFORE DELETE ON erasures
BEGIN SELECT RAISE(ABORT, 'erasures are append-only'); END;

-- The unlock: a row here lets the triggers below touch that one customer's protected rows.
-- It is written and removed inside the same transaction (an import undo removing a customer
-- it created, an erasure overwriting an address), so no other reader ever sees one.
CREATE TABLE data_unlock (
    customer_id INTEGER PRIMARY KEY,
    purpose     TEXT NOT NULL CHECK (purpose IN ('import_undo', 'erasure'))
) STRICT;

-- Consents: append-only, except that an import undo removes the records of a customer it
-- created, and an erasure blanks the wording (which may quote the person's address).
DROP TRIGGER consents_append_only_u;
DROP TRIGGER consents_append_only_d;
CREATE TRIGGER consents_append_only_u BEFORE UPDATE OF granted, basis, source, wording, recorded_at ON consents
WHEN NOT EXISTS (SELECT 1 FROM data_unlock u WHERE u.customer_id = old.customer_id AND u.purpose = 'erasure')
  OR new.granted IS NOT old.granted OR new.basis IS NOT old.basis OR new.source IS NOT old.source
  OR new.recorded_at IS NOT old.recorded_at
BEGIN SELECT RAISE(ABORT, 'consents are append-only'); END;
CREATE TRIGGER consents_append_only_d BEFORE DELETE ON consents
WHEN NOT EXISTS (SELECT 1 FROM data_unlock u WHERE u.customer_id = old.customer_id AND u.purpose = 'import_undo')
BEGIN SELECT RAISE(ABORT, 'consents are append-only'); END;

-- Opening balances brought by an import go when the import is undone for a customer it
-- created and nobody touched since; every other entry stays.
DROP TRIGGER points_ledger_append_only_d;
CREATE TRIGGER points_ledger_append_only_d BEFORE DELETE ON points_ledger
WHEN NOT EXISTS (SELECT 1 FROM data_unlock u WHERE u.customer_id = old.customer_id AND u.purpose = 'import_undo')
  OR old.reason IS NOT 'import'
BEGIN SELECT RAISE(ABORT, 'the points ledger is append-only'); END;
DROP TRIGGER stamps_ledger_append_only_d;
CREATE TRIGGER stamps_ledger_append_only_d BEFORE DELETE ON stamps_ledger
WHEN NOT EXISTS (SELECT 1 FROM data_unlock u WHERE u.customer_id = old.customer_id AND u.purpose = 'import_undo')
  OR old.reason IS NOT 'import'
BEGIN SELECT RAISE(ABORT, 'the stamps ledger is append-only'); END;

-- A sent message stays recorded; an erasure only overwrites the address it went to.
DROP TRIGGER campaign_recipients_sent_final;
CREATE TRIGGER campaign_recipients_sent_final BEFORE UPDATE ON campaign_recipients
WHEN old.state = 'sent' AND (
    NOT EXISTS (SELECT 1 FROM data_unlock u WHERE u.customer_id = old.customer_id AND u.purpose = 'erasure')
    OR new.state IS NOT old.state OR new.campaign_id IS NOT old.campaign_id OR new.customer_id IS NOT old.customer_id
    OR new.sent_at IS NOT old.sent_at OR new.message_id IS NOT old.message_id OR new.token IS NOT old.token
    OR new.email IS NOT 'erased@erased.invalid')
BEGIN SELECT RAISE(ABORT, 'a sent message is final'); END;
