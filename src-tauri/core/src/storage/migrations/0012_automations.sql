-- Comptoir schema, version 10: automatic messages (welcome, birthday, win-back, expiring
-- points, tier reached, thank-you), and the loyalty facts they rely on.
--
-- * Each automation sends through the campaign outbox as a campaign of kind 'automation'
--   that never finishes. An outbox row belongs to one occasion (`occasion`, '' for a plain
--   campaign): the outbox holds one message per normalised address per campaign and occasion,
--   so two records sharing an address get one copy of an occasion, never two.
-- * `automation_occasions`: one row per (automation, customer, occasion key) — unique, so a
--   re-check, a crash or two copies of the app can never make one occasion twice — with its
--   due time, its validity window and its state. `automation_journal` records every change of
--   state with its reason (append-only).
-- * Loyalty: a stamp milestone given back when its sale is fully refunded, tier downgrades as
--   events of their own, and the indexes the checks need.

ALTER TABLE campaigns ADD COLUMN kind TEXT NOT NULL DEFAULT 'campaign' CHECK (kind IN ('campaign', 'automation'));

ALTER TABLE campaign_recipients ADD COLUMN occasion TEXT NOT NULL DEFAULT '';
-- Personal fields fixed when an automatic message was queued (the voucher given with it, the
-- points expiring and their date, the tier reached), as a JSON object.
ALTER TABLE campaign_recipients ADD COLUMN fields TEXT;
DROP INDEX campaign_recipients_one_per_address;
CREATE UNIQUE INDEX campaign_recipients_one_per_address ON campaign_recipients (campaign_id, email_norm, occasion);

CREATE TABLE automations (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL UNIQUE CHECK (kind IN ('welcome', 'birthday', 'winback', 'expiry', 'tier', 'thanks')),
    enabled     INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    -- JSON `AutomationConfig` of the kind (delays, windows, thresholds, held-out share).
    config      TEXT NOT NULL,
    -- Its outbox: a campaign of kind 'automation' holding the message.
    campaign_id INTEGER NOT NULL UNIQUE REFERENCES campaigns(id),
    -- Occasions due before this time are not made (turned on for new occasions only), or are
    -- spread until `backlog_until` (turned on with the backlog).
    enabled_at  TEXT,
    backlog_until TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE automation_occasions (
    id            INTEGER PRIMARY KEY,
    automation_id INTEGER NOT NULL REFERENCES automations(id),
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    -- birthday:2027, welcome, winback:2026-03-04, winback:2026-03-04:2, expiry:2027-01-31:30,
    -- tier:2:2027, tierloss:2:2027-12-31, thanks:<sale id>
    occasion_key  TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    valid_until   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN
                  ('pending', 'postponed', 'awaiting', 'queued', 'sent', 'failed', 'skipped', 'expired', 'held_out')),
    reason        TEXT,
    -- What the message says (points expiring, the date, the tier), JSON.
    data          TEXT NOT NULL DEFAULT '{}',
    recipient_id  INTEGER REFERENCES campaign_recipients(id),
    voucher_id    INTEGER REFERENCES vouchers(id),
    decided_at    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (automation_id, customer_id, occasion_key)
) STRICT;
CREATE INDEX automation_occasions_open ON automation_occasions (state, due_at) WHERE state IN ('pending', 'postponed', 'awaiting', 'queued');
CREATE INDEX automation_occasions_by_customer ON automation_occasions (customer_id, decided_at);
CREATE INDEX automation_occasions_by_recipient ON automation_occasions (recipient_id) WHERE recipient_id IS NOT NULL;
CREATE TRIGGER automation_occasions_never_deleted BEFORE DELETE ON automation_occasions
BEGIN SELECT RAISE(ABORT, 'an occasion is never deleted'); END;
CREATE TRIGGER automation_occasions_key_fixed BEFORE UPDATE OF automation_id, occasion_key ON automation_occasions
BEGIN SELECT RAISE(ABORT, 'an occasion keeps its key'); END;
-- A message that left is final.
CREATE TRIGGER automation_occasions_sent_final BEFORE UPDATE OF state ON automation_occasions
WHEN old.state = 'sent'
BEGIN SELECT RAISE(ABORT, 'a sent occasion is final'); END;

CREATE TABLE automation_journal (
    id            INTEGER PRIMARY KEY,
    occasion_id   INTEGER NOT NULL REFERENCES automation_occasions(id),
    automation_id INTEGER NOT NULL REFERENCES automations(id),
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    at            TEXT NOT NULL,
    state         TEXT NOT NULL,
    reason        TEXT
) STRICT;
CREATE INDEX automation_journal_by_automation ON automation_journal (automation_id, id);
CREATE INDEX automation_journal_by_customer ON automation_journal (customer_id, id);
CREATE TRIGGER automation_journal_append_only_u BEFORE UPDATE OF occasion_id, automation_id, at, state, reason ON automation_journal
BEGIN SELECT RAISE(ABORT, 'the automation journal is append-only'); END;
CREATE TRIGGER automation_journal_append_only_d BEFORE DELETE ON automation_journal
BEGIN SELECT RAISE(ABORT, 'the automation journal is append-only'); END;

-- The checks read these ranges.
CREATE INDEX customers_by_birthday ON customers (birthday_month, birthday_day) WHERE birthday_month IS NOT NULL;
CREATE INDEX customers_by_created ON customers (created_at);
CREATE INDEX tier_events_by_reached ON tier_events (reached_at);
CREATE INDEX tier_events_by_kept ON tier_events (kept_until);

-- A stamp milestone claimed on a sale names the sale; a full refund gives the claim back.
-- (Claims made before this version name no sale.)
CREATE TABLE stamp_claim_returns (
    id          INTEGER PRIMARY KEY,
    -- the `redeem` row of stamps_ledger given back
    claim_id    INTEGER NOT NULL UNIQUE REFERENCES stamps_ledger(id),
    purchase_id INTEGER NOT NULL REFERENCES purchases(id),
    at          TEXT NOT NULL
) STRICT;
CREATE TRIGGER stamp_claim_returns_append_only_u BEFORE UPDATE ON stamp_claim_returns
BEGIN SELECT RAISE(ABORT, 'stamp claim returns are append-only'); END;
CREATE TRIGGER stamp_claim_returns_append_only_d BEFORE DELETE ON stamp_claim_returns
BEGIN SELECT RAISE(ABORT, 'stamp claim returns are append-only'); END;

-- A tier lost when its kept period ended (and the tier held after it, if any).
CREATE TABLE tier_downgrades (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    -- the tier event whose kept period ended
    tier_event_id INTEGER NOT NULL UNIQUE REFERENCES tier_events(id),
    from_index    INTEGER NOT NULL,
    from_name     TEXT NOT NULL,
    to_index      INTEGER,
    to_name       TEXT,
    at            TEXT NOT NULL
) STRICT;
CREATE INDEX tier_downgrades_by_customer ON tier_downgrades (customer_id, at);
CREATE TRIGGER tier_downgrades_append_only_u BEFORE UPDATE OF tier_event_id, from_index, from_name, to_index, to_name, at ON tier_downgrades
BEGIN SELECT RAISE(ABORT, 'tier downgrades are append-only'); END;
CREATE TRIGGER tier_downgrades_append_only_d BEFORE DELETE ON tier_downgrades
BEGIN SELECT RAISE(ABORT, 'tier downgrades are append-only'); END;

-- A sale may be recorded at zero when a voucher or a reward covers the whole ticket (a free
-- coffee); a refund is still a positive amount. SQLite cannot change a CHECK, so the table is
-- rebuilt as its documented 12-step procedure says (the runner turns foreign keys off around
-- the upgrade and checks them before committing): same columns, rows, ids, indexes and
-- append-only triggers.
CREATE TABLE purchases_v12 (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    kind         TEXT NOT NULL CHECK (kind IN ('sale', 'refund')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    occurred_at  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    note         TEXT,
    category     TEXT,
    refund_of    INTEGER REFERENCES purchases(id),
    CHECK ((kind = 'refund') = (refund_of IS NOT NULL))
) STRICT;
INSERT INTO purchases_v12 (id, customer_id, kind, amount_cents, occurred_at, recorded_at, note, category, refund_of)
    SELECT id, customer_id, kind, amount_cents, occurred_at, recorded_at, note, category, refund_of FROM purchases;
DROP TABLE purchases;
ALTER TABLE purchases_v12 RENAME TO purchases;
CREATE INDEX purchases_by_customer ON purchases (customer_id, occurred_at);
CREATE INDEX purchases_by_refund_of ON purchases (refund_of) WHERE refund_of IS NOT NULL;
CREATE INDEX purchases_by_date ON purchases (occurred_at);
CREATE INDEX purchases_by_recorded ON purchases (recorded_at);
CREATE TRIGGER purchases_append_only_u BEFORE UPDATE OF kind, amount_cents, occurred_at, recorded_at, refund_of ON purchases
BEGIN SELECT RAISE(ABORT, 'purchases are append-only'); END;
CREATE TRIGGER purchases_append_only_d BEFORE DELETE ON purchases
BEGIN SELECT RAISE(ABORT, 'purchases are append-only'); END;
-- A refund of zero only cancels a sale recorded at zero (rung up on the wrong customer): it
-- gives back what the sale used (a voucher, points, a milestone) like any full refund.
CREATE TRIGGER purchases_zero_refund BEFORE INSERT ON purchases
WHEN new.kind = 'refund' AND new.amount_cents = 0
     AND coalesce((SELECT amount_cents FROM purchases WHERE id = new.refund_of), 1) <> 0
BEGIN SELECT RAISE(ABORT, 'a refund of zero only cancels a sale recorded at zero'); END;

-- The usable balance of many customers at once (segments, the liability, the checks of the
-- expiring-points messages) reads each customer's credits with their dates from this index
-- alone.
CREATE INDEX points_ledger_balance ON points_ledger (customer_id, points, expires_at);

CREATE INDEX customers_by_updated ON customers (updated_at);
-- What every check reads over the whole shop, from the index alone (no row fetched): the
-- customers absent for a while (win-back), the sales of the last days (thank-you), the points
-- lots expiring soon (reminders).
CREATE INDEX customers_absence ON customers (last_purchase_at, first_purchase_at, visit_count)
    WHERE archived_at IS NULL AND merged_into IS NULL;
CREATE INDEX purchases_sales_by_date ON purchases (occurred_at, customer_id) WHERE kind = 'sale';
CREATE INDEX points_ledger_expiring ON points_ledger (expires_at, customer_id, points)
    WHERE points > 0 AND expires_at IS NOT NULL;
