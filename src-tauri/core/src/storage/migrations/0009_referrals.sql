-- Comptoir schema, version 8: referrals (parrainage). The offer is a versioned document; a
-- referral keeps the version it was made under. Every status change is an append-only event
-- with its reason; rewards go through the loyalty ledgers (points, vouchers) and are recorded
-- here once, never edited; taking one back is a new row.

-- Every version of the offer the merchant saved; the latest is in force.
CREATE TABLE referral_offers (
    id         INTEGER PRIMARY KEY,
    document   TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE TRIGGER referral_offers_append_only_u BEFORE UPDATE ON referral_offers
BEGIN SELECT RAISE(ABORT, 'an offer version is never edited'); END;
CREATE TRIGGER referral_offers_append_only_d BEFORE DELETE ON referral_offers
BEGIN SELECT RAISE(ABORT, 'an offer version is never deleted'); END;

-- One row per referred customer (the friend): who referred them and where the referral
-- stands now. The history of every change is in `referral_events`.
CREATE TABLE referrals (
    id              INTEGER PRIMARY KEY,
    referrer_id     INTEGER NOT NULL REFERENCES customers(id),
    friend_id       INTEGER NOT NULL UNIQUE REFERENCES customers(id),
    -- NULL: made while no offer was running (recorded, never rewarded)
    offer_version   INTEGER REFERENCES referral_offers(id),
    created_at      TEXT NOT NULL,
    via             TEXT NOT NULL CHECK (via IN ('code', 'card', 'customer')),
    staff           TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'qualified', 'approved', 'voided', 'rejected', 'outside_offer')),
    review          TEXT NOT NULL DEFAULT 'none' CHECK (review IN ('none', 'flagged', 'cleared')),
    -- JSON list of fraud flags with their details
    flags           TEXT NOT NULL DEFAULT '[]',
    first_purchase  INTEGER REFERENCES purchases(id),
    second_purchase INTEGER REFERENCES purchases(id),
    qualified_at    TEXT,
    hold_until      TEXT,
    approved_at     TEXT,
    ended_at        TEXT,
    end_reason      TEXT,
    CHECK (referrer_id <> friend_id)
) STRICT;
CREATE INDEX referrals_by_referrer ON referrals (referrer_id, status, created_at);
CREATE INDEX referrals_due ON referrals (hold_until) WHERE status = 'qualified';
CREATE INDEX referrals_pending ON referrals (created_at) WHERE status = 'pending';
CREATE INDEX referrals_review ON referrals (created_at) WHERE review = 'flagged';
CREATE INDEX referrals_by_first_purchase ON referrals (first_purchase) WHERE first_purchase IS NOT NULL;
CREATE INDEX referrals_by_second_purchase ON referrals (second_purchase) WHERE second_purchase IS NOT NULL;
CREATE INDEX referrals_by_staff ON referrals (staff, created_at);

-- Everything that happened to a referral, with its reason: append-only. `referrer_id` and
-- `friend_id` are those of the moment, so both timelines show it. A milestone reward has no
-- referral and no friend.
CREATE TABLE referral_events (
    id          INTEGER PRIMARY KEY,
    referral_id INTEGER REFERENCES referrals(id),
    referrer_id INTEGER NOT NULL REFERENCES customers(id),
    friend_id   INTEGER REFERENCES customers(id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('referred', 'link_changed', 'link_removed', 'flagged', 'cleared',
                    'first_purchase', 'qualified', 'approved', 'voided', 'rejected', 'reward_issued',
                    'reward_taken_back', 'reward_refused')),
    reason      TEXT,
    note        TEXT,
    staff       TEXT,
    data        TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX referral_events_by_referral ON referral_events (referral_id, id);
CREATE INDEX referral_events_by_referrer ON referral_events (referrer_id, id);
CREATE INDEX referral_events_by_friend ON referral_events (friend_id, id) WHERE friend_id IS NOT NULL;
CREATE TRIGGER referral_events_append_only_u BEFORE UPDATE OF referral_id, at, kind, reason, note, staff, data ON referral_events
BEGIN SELECT RAISE(ABORT, 'referral events are append-only'); END;
CREATE TRIGGER referral_events_append_only_d BEFORE DELETE ON referral_events
BEGIN SELECT RAISE(ABORT, 'referral events are append-only'); END;

-- Each reward given under the offer, as recorded in the loyalty ledgers: never edited.
-- `period` is the offer's start date: slots and the budget are counted within one period.
CREATE TABLE referral_rewards (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    role          TEXT NOT NULL CHECK (role IN ('referrer', 'friend', 'milestone')),
    referral_id   INTEGER REFERENCES referrals(id),
    milestone_key INTEGER,
    offer_version INTEGER NOT NULL REFERENCES referral_offers(id),
    period        TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('points', 'voucher')),
    points        INTEGER CHECK (points > 0),
    points_entry  INTEGER REFERENCES points_ledger(id),
    voucher_id    INTEGER REFERENCES vouchers(id),
    cost_cents    INTEGER NOT NULL CHECK (cost_cents >= 0),
    label         TEXT NOT NULL,
    granted_at    TEXT NOT NULL,
    CHECK ((role = 'milestone') = (milestone_key IS NOT NULL)),
    CHECK ((role = 'milestone') = (referral_id IS NULL)),
    CHECK ((kind = 'points') = (points_entry IS NOT NULL AND voucher_id IS NULL)),
    CHECK ((kind = 'voucher') = (voucher_id IS NOT NULL AND points_entry IS NULL))
) STRICT;
-- A referral rewards its referrer once and its friend once.
CREATE UNIQUE INDEX referral_rewards_once ON referral_rewards (referral_id, role) WHERE referral_id IS NOT NULL;
CREATE INDEX referral_rewards_by_period ON referral_rewards (period, role, milestone_key);
CREATE INDEX referral_rewards_by_customer ON referral_rewards (customer_id, period);
-- Only the owner may change, when two customers are merged.
CREATE TRIGGER referral_rewards_immutable BEFORE UPDATE OF role, referral_id, milestone_key, offer_version, period, kind,
    points, points_entry, voucher_id, cost_cents, label, granted_at ON referral_rewards
BEGIN SELECT RAISE(ABORT, 'a referral reward is never edited'); END;
CREATE TRIGGER referral_rewards_never_deleted BEFORE DELETE ON referral_rewards
BEGIN SELECT RAISE(ABORT, 'a referral reward is never deleted'); END;

-- What the rewards of each period cost, net of what came back: derived from the two tables
-- around it and updated in the same transaction as each of their rows (so the budget check
-- reads one row instead of summing every reward).
CREATE TABLE referral_periods (
    period          TEXT PRIMARY KEY,
    committed_cents INTEGER NOT NULL DEFAULT 0 CHECK (committed_cents >= 0)
) STRICT;

-- A reward taken back (a refund, a milestone no longer reached): what came back through the
-- ledgers and what had been spent already (a loss). Once per reward, never edited.
CREATE TABLE referral_reward_ends (
    reward_id          INTEGER PRIMARY KEY REFERENCES referral_rewards(id),
    at                 TEXT NOT NULL,
    reason             TEXT NOT NULL,
    taken_back_cents   INTEGER NOT NULL CHECK (taken_back_cents >= 0),
    loss_cents         INTEGER NOT NULL CHECK (loss_cents >= 0),
    points_taken_back  INTEGER NOT NULL DEFAULT 0 CHECK (points_taken_back >= 0)
) STRICT;
CREATE TRIGGER referral_reward_ends_append_only_u BEFORE UPDATE ON referral_reward_ends
BEGIN SELECT RAISE(ABORT, 'referral reward ends are append-only'); END;
CREATE TRIGGER referral_reward_ends_append_only_d BEFORE DELETE ON referral_reward_ends
BEGIN SELECT RAISE(ABORT, 'referral reward ends are append-only'); END;

-- A voucher withdrawn before it was used (a referral reward taken back): it can no longer be
-- used. The voucher itself is never edited.
CREATE TABLE voucher_cancellations (
    voucher_id INTEGER PRIMARY KEY REFERENCES vouchers(id),
    at         TEXT NOT NULL,
    reason     TEXT NOT NULL
) STRICT;
CREATE TRIGGER voucher_cancellations_append_only_u BEFORE UPDATE ON voucher_cancellations
BEGIN SELECT RAISE(ABORT, 'voucher cancellations are append-only'); END;
CREATE TRIGGER voucher_cancellations_append_only_d BEFORE DELETE ON voucher_cancellations
BEGIN SELECT RAISE(ABORT, 'voucher cancellations are append-only'); END;
