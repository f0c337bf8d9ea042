-- Comptoir schema, version 3: email campaigns. Saved segments, images for messages, campaigns
-- and their outbox (one row per recipient, its state committed before and after each SMTP
-- transaction). The sending settings live in `settings` (key 'mail'); the SMTP password never
-- reaches the database.

CREATE TABLE segments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    filter      TEXT NOT NULL,           -- JSON `SegmentFilter`, never SQL
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    archived_at TEXT
) STRICT;

-- Images chosen from the merchant's files, embedded in the messages that use them.
CREATE TABLE media (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    mime       TEXT NOT NULL CHECK (mime IN ('image/png', 'image/jpeg', 'image/gif')),
    bytes      BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TRIGGER media_immutable BEFORE UPDATE OF mime, bytes ON media
BEGIN SELECT RAISE(ABORT, 'an image is never edited'); END;

CREATE TABLE campaigns (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'draft'
                  CHECK (state IN ('draft', 'scheduled', 'running', 'paused', 'finished', 'cancelled')),
    content       TEXT NOT NULL,         -- JSON `CampaignContent` (message A, optional message B)
    audience      TEXT NOT NULL,         -- JSON `Audience` (filter, control share, A/B)
    scheduled_at  TEXT,
    -- Set when the app found the scheduled time already passed: waits for the merchant.
    missed_at     TEXT,
    pause_reason  TEXT,
    pause_detail  TEXT,
    -- A campaign paused by a quota resumes by itself at this time.
    resume_at     TEXT,
    started_at    TEXT,
    sample_done_at TEXT,
    ab_winner     TEXT CHECK (ab_winner IN ('a', 'b')),
    ab_decided_by TEXT,
    finished_at   TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;
CREATE INDEX campaigns_by_state ON campaigns (state, scheduled_at);

-- The outbox. `grp`: who they are in the campaign (everyone, A/B samples, the rest after the
-- A/B test, the control group held out). `state`: held (waits for the A/B winner), queued,
-- sending (an SMTP transaction may be in flight), sent, failed, skipped (consent withdrawn
-- before the message left), control (never sent), cancelled (the campaign was cancelled first).
CREATE TABLE campaign_recipients (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    email           TEXT NOT NULL,
    grp             TEXT NOT NULL CHECK (grp IN ('main', 'a', 'b', 'rest', 'control')),
    variant         TEXT CHECK (variant IN ('a', 'b')),
    state           TEXT NOT NULL
                    CHECK (state IN ('held', 'queued', 'sending', 'sent', 'failed', 'skipped', 'control', 'cancelled')),
    token           TEXT NOT NULL UNIQUE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    message_id      TEXT,
    sent_at         TEXT,
    UNIQUE (campaign_id, customer_id)
) STRICT;
CREATE INDEX campaign_recipients_queue ON campaign_recipients (campaign_id, state, id);
CREATE INDEX campaign_recipients_by_customer ON campaign_recipients (customer_id);
CREATE INDEX campaign_recipients_by_sent_at ON campaign_recipients (sent_at) WHERE sent_at IS NOT NULL;
-- A message that left stays recorded: a sent row is never changed or deleted.
CREATE TRIGGER campaign_recipients_sent_final BEFORE UPDATE ON campaign_recipients
WHEN old.state = 'sent'
BEGIN SELECT RAISE(ABORT, 'a sent message is final'); END;
CREATE TRIGGER campaign_recipients_never_deleted BEFORE DELETE ON campaign_recipients
BEGIN SELECT RAISE(ABORT, 'the outbox is never deleted'); END;

-- Test sends, so the merchant sees when and to whom.
CREATE TABLE campaign_tests (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    email       TEXT NOT NULL,
    at          TEXT NOT NULL,
    outcome     TEXT NOT NULL
) STRICT;

-- Unsubscribes: from a message's token, a pasted list, or by hand. Append-only; the consent
-- record written with each is what excludes the customer.
CREATE TABLE unsubscribes (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    campaign_id INTEGER REFERENCES campaigns(id),
    at          TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('token', 'list'))
) STRICT;
CREATE INDEX unsubscribes_by_campaign ON unsubscribes (campaign_id);
CREATE TRIGGER unsubscribes_append_only_u BEFORE UPDATE ON unsubscribes
BEGIN SELECT RAISE(ABORT, 'unsubscribes are append-only'); END;
CREATE TRIGGER unsubscribes_append_only_d BEFORE DELETE ON unsubscribes
BEGIN SELECT RAISE(ABORT, 'unsubscribes are append-only'); END;
