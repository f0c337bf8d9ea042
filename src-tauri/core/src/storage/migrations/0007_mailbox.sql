-- Comptoir schema, version 7: what comes back to the mailbox.
--
-- * `mailbox_runs`: every reading of the mailbox (IMAP) or of a provider's API (Brevo,
--   Mailjet), when it ran, whether it succeeded and what it found. The last successful one
--   decides whether a campaign may leave through a real provider (48 hours).
-- * `mailbox_positions`: per account and folder, the UIDVALIDITY and the last UID read, so
--   nothing is read twice; a new UIDVALIDITY starts the folder again (and the Message-ID
--   check below still keeps what was already handled from being handled again).
-- * `mailbox_messages`: the log of every message read and what was decided (kind, decision,
--   reason), with the raw message of everything acted on. Append-only, except the folder a
--   handled message was moved to.
-- * `mailbox_stop_requests`: free-text "STOP" replies from a known address, waiting for the
--   merchant's one-click confirmation.
-- * `survey_replies`: answers to the satisfaction question (subject `NPS <token> <score>`),
--   for the numbers (NPS) to consume.
-- * `mailbox_readbacks`: what the receiving side saw of a test sent to the merchant's own
--   mailbox (folder, SPF/DKIM/DMARC verdicts, spam headers); test sends keep their Message-ID.

CREATE TABLE mailbox_runs (
    id          INTEGER PRIMARY KEY,
    -- imap, brevo, mailjet
    source      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
    -- Why it failed, as a code the screen explains (wrong_password, host_not_found, …).
    problem     TEXT,
    detail      TEXT,
    fetched     INTEGER NOT NULL DEFAULT 0,
    handled     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX mailbox_runs_by_ok ON mailbox_runs (ok, finished_at);

CREATE TABLE mailbox_positions (
    account     TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (account, folder)
) STRICT;

CREATE TABLE mailbox_messages (
    id           INTEGER PRIMARY KEY,
    -- Where it was read: imap:<account>/<folder>/<uidvalidity>/<uid>, or <provider>:<event>.
    origin       TEXT NOT NULL UNIQUE,
    source       TEXT NOT NULL,
    account      TEXT NOT NULL,
    folder       TEXT,
    uid          INTEGER,
    -- The message's own Message-ID (without angle brackets).
    message_id   TEXT,
    from_addr    TEXT,
    subject      TEXT,
    received_at  TEXT,
    read_at      TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN
                 ('hard_bounce', 'soft_bounce', 'delayed', 'auto_reply', 'unsubscribe', 'stop_request',
                  'complaint', 'survey', 'test_copy', 'other')),
    -- suppressed, counted, applied, pending, recorded, ignored, already
    decision     TEXT NOT NULL,
    -- Why (a code the screen explains: not_ours, unknown_address, test_send, …).
    reason       TEXT,
    -- The address concerned (normalised), and what it was matched to.
    email_norm   TEXT,
    customer_id  INTEGER REFERENCES customers(id),
    campaign_id  INTEGER REFERENCES campaigns(id),
    recipient_id INTEGER REFERENCES campaign_recipients(id),
    -- How it was matched: message_id, address, token, none.
    matched_by   TEXT,
    status       TEXT,
    diagnostic   TEXT,
    -- The message as received (capped), for everything acted on.
    raw          BLOB,
    raw_size     INTEGER,
    moved_to     TEXT
) STRICT;
CREATE INDEX mailbox_messages_by_address ON mailbox_messages (email_norm, kind, id);
CREATE INDEX mailbox_messages_by_message_id ON mailbox_messages (account, message_id);
CREATE INDEX mailbox_messages_by_kind ON mailbox_messages (kind, id);
CREATE TRIGGER mailbox_messages_append_only_u
BEFORE UPDATE OF origin, source, account, folder, uid, message_id, from_addr, subject, received_at, read_at,
    kind, decision, reason, email_norm, campaign_id, recipient_id, matched_by, status, diagnostic, raw, raw_size
ON mailbox_messages
BEGIN SELECT RAISE(ABORT, 'the mailbox log is append-only'); END;
CREATE TRIGGER mailbox_messages_never_deleted BEFORE DELETE ON mailbox_messages
BEGIN SELECT RAISE(ABORT, 'the mailbox log is append-only'); END;

CREATE TABLE mailbox_stop_requests (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL UNIQUE REFERENCES mailbox_messages(id),
    email_norm  TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers(id),
    -- What the person wrote (the first lines, capped).
    excerpt     TEXT,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'dismissed')),
    decided_at  TEXT
) STRICT;
CREATE INDEX mailbox_stop_requests_by_state ON mailbox_stop_requests (state, id);

-- Answers to the satisfaction question (NPS). A customer may answer twice: every answer is
-- kept, the latest per token counts.
CREATE TABLE survey_replies (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES mailbox_messages(id),
    token        TEXT NOT NULL,
    score        INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    email_norm   TEXT,
    customer_id  INTEGER REFERENCES customers(id),
    campaign_id  INTEGER REFERENCES campaigns(id),
    recipient_id INTEGER REFERENCES campaign_recipients(id),
    -- What the person added in the body (capped).
    comment      TEXT,
    answered_at  TEXT NOT NULL
) STRICT;
CREATE INDEX survey_replies_by_token ON survey_replies (token, id);
CREATE INDEX survey_replies_by_customer ON survey_replies (customer_id);
CREATE TRIGGER survey_replies_append_only_u BEFORE UPDATE ON survey_replies
BEGIN SELECT RAISE(ABORT, 'survey replies are append-only'); END;
CREATE TRIGGER survey_replies_append_only_d BEFORE DELETE ON survey_replies
BEGIN SELECT RAISE(ABORT, 'survey replies are append-only'); END;

ALTER TABLE campaign_tests ADD COLUMN message_id TEXT;
CREATE INDEX campaign_tests_by_message_id ON campaign_tests (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE mailbox_readbacks (
    id          INTEGER PRIMARY KEY,
    test_id     INTEGER NOT NULL UNIQUE REFERENCES campaign_tests(id),
    folder      TEXT NOT NULL,
    -- The report (folder, junk, SPF/DKIM/DMARC, spam headers) as JSON.
    report      TEXT NOT NULL,
    found_at    TEXT NOT NULL
) STRICT;
