-- Comptoir schema, version 11: the merchant's data in and out. Imports and what each changed
-- (so one can be undone), saved column mappings, erasures (only a salted hash of the email and
-- phone is kept), and the narrow exception that lets an import undo or an erasure touch rows the
-- append-only triggers otherwise protect. (The suppression list is version 4's `suppressions`.)

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

-- The exception to the append-only triggers: `comptoir_unlocked(purpose, customer_id)` is a
-- function the app registers on its own connections (`storage::unlock`). It is true only while
-- the app runs an import undo or an erasure for that one customer, inside that write's
-- transaction; it lives in the connection's memory, so no row on disk can keep it open, and a
-- connection without it (another tool) cannot prepare these writes at all.

-- Consents: append-only, except that an import undo removes the records of the one customer it
-- is removing, and an erasure blanks the wording (which may quote the person) and nothing else.
DROP TRIGGER consents_append_only_u;
DROP TRIGGER consents_append_only_d;
CREATE TRIGGER consents_append_only_u BEFORE UPDATE OF granted, basis, source, wording, recorded_at ON consents
WHEN NOT (comptoir_unlocked('erasure', old.customer_id) AND new.wording IS NULL
          AND new.granted IS old.granted AND new.basis IS old.basis AND new.source IS old.source
          AND new.recorded_at IS old.recorded_at)
BEGIN SELECT RAISE(ABORT, 'consents are append-only'); END;
CREATE TRIGGER consents_append_only_d BEFORE DELETE ON consents
WHEN NOT comptoir_unlocked('import_undo', old.customer_id)
BEGIN SELECT RAISE(ABORT, 'consents are append-only'); END;

-- Opening balances brought by an import go when the import is undone for a customer it
-- created and nobody touched since; every other entry stays.
DROP TRIGGER points_ledger_append_only_d;
CREATE TRIGGER points_ledger_append_only_d BEFORE DELETE ON points_ledger
WHEN NOT (comptoir_unlocked('import_undo', old.customer_id) AND old.reason IS 'import')
BEGIN SELECT RAISE(ABORT, 'the points ledger is append-only'); END;
DROP TRIGGER stamps_ledger_append_only_d;
CREATE TRIGGER stamps_ledger_append_only_d BEFORE DELETE ON stamps_ledger
WHEN NOT (comptoir_unlocked('import_undo', old.customer_id) AND old.reason IS 'import')
BEGIN SELECT RAISE(ABORT, 'the stamps ledger is append-only'); END;

-- A sent message stays recorded; an erasure only overwrites the address it went to (the
-- compared form becomes NULL, so two erased people of one campaign stay distinct).
DROP TRIGGER campaign_recipients_sent_final;
CREATE TRIGGER campaign_recipients_sent_final
BEFORE UPDATE OF campaign_id, email, email_norm, grp, variant, state, token, message_id, sent_at ON campaign_recipients
WHEN old.state = 'sent' AND NOT (
    comptoir_unlocked('erasure', old.customer_id)
    AND new.email IS 'erased@erased.invalid' AND new.email_norm IS NULL
    AND new.campaign_id IS old.campaign_id AND new.grp IS old.grp AND new.variant IS old.variant
    AND new.state IS old.state AND new.token IS old.token AND new.message_id IS old.message_id
    AND new.sent_at IS old.sent_at)
BEGIN SELECT RAISE(ABORT, 'a sent message is final'); END;

-- What the mailbox reader and the satisfaction survey kept about a person: an erasure blanks
-- the text that may identify or quote them (the message as received, its sender, subject and
-- diagnostic, the address, the comment), and nothing else — the decision, the score and the
-- dates stay for the figures.
DROP TRIGGER mailbox_messages_append_only_u;
CREATE TRIGGER mailbox_messages_append_only_u
BEFORE UPDATE OF origin, source, account, folder, uid, message_id, from_addr, subject, received_at, read_at,
    kind, decision, reason, email_norm, campaign_id, recipient_id, matched_by, status, diagnostic, raw, raw_size
ON mailbox_messages
WHEN NOT (comptoir_unlocked('erasure', old.customer_id)
          AND new.from_addr IS NULL AND new.subject IS NULL AND new.email_norm IS NULL
          AND new.diagnostic IS NULL AND new.raw IS NULL
          AND new.origin IS old.origin AND new.source IS old.source AND new.account IS old.account
          AND new.folder IS old.folder AND new.uid IS old.uid AND new.message_id IS old.message_id
          AND new.received_at IS old.received_at AND new.read_at IS old.read_at AND new.kind IS old.kind
          AND new.decision IS old.decision AND new.reason IS old.reason AND new.campaign_id IS old.campaign_id
          AND new.recipient_id IS old.recipient_id AND new.matched_by IS old.matched_by
          AND new.status IS old.status AND new.raw_size IS old.raw_size)
BEGIN SELECT RAISE(ABORT, 'the mailbox log is append-only'); END;

DROP TRIGGER survey_replies_append_only_u;
CREATE TRIGGER survey_replies_append_only_u BEFORE UPDATE ON survey_replies
WHEN NOT (comptoir_unlocked('erasure', old.customer_id)
          AND new.comment IS NULL AND new.email_norm IS NULL
          AND new.id IS old.id AND new.message_id IS old.message_id AND new.token IS old.token
          AND new.score IS old.score AND new.customer_id IS old.customer_id AND new.campaign_id IS old.campaign_id
          AND new.recipient_id IS old.recipient_id AND new.answered_at IS old.answered_at)
BEGIN SELECT RAISE(ABORT, 'survey replies are append-only'); END;

DROP TRIGGER nps_answers_append_only_u;
CREATE TRIGGER nps_answers_append_only_u
BEFORE UPDATE OF score, comment, channel, answered_at, recorded_at, token, reply_from ON nps_answers
WHEN NOT (comptoir_unlocked('erasure', old.customer_id)
          AND new.comment IS NULL AND new.reply_from IS NULL
          AND new.score IS old.score AND new.channel IS old.channel AND new.answered_at IS old.answered_at
          AND new.recorded_at IS old.recorded_at AND new.token IS old.token)
BEGIN SELECT RAISE(ABORT, 'satisfaction answers are append-only'); END;

DROP TRIGGER nps_followups_done_once;
CREATE TRIGGER nps_followups_done_once BEFORE UPDATE OF done_at, done_note ON nps_followups
WHEN old.done_at IS NOT NULL
     AND NOT (comptoir_unlocked('erasure', old.customer_id) AND new.done_note IS NULL AND new.done_at IS old.done_at)
BEGIN SELECT RAISE(ABORT, 'a follow-up done stays done'); END;
