-- Comptoir schema, version 2: the loyalty programme. Points, stamps and vouchers live in
-- append-only ledgers; balances are derived from them. Only the owner of a row may change,
-- when two customers are merged.

-- Every version of the programme the merchant saved; the latest is in force.
CREATE TABLE loyalty_programmes (
    id         INTEGER PRIMARY KEY,
    document   TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- What each sale earned, as computed when it was recorded (the explanation of its points).
CREATE TABLE loyalty_sales (
    purchase_id       INTEGER PRIMARY KEY REFERENCES purchases(id),
    customer_id       INTEGER NOT NULL REFERENCES customers(id),
    points            INTEGER NOT NULL CHECK (points >= 0),
    stamps            INTEGER NOT NULL CHECK (stamps >= 0),
    carry_after_cents INTEGER NOT NULL CHECK (carry_after_cents >= 0),
    discount_cents    INTEGER NOT NULL DEFAULT 0 CHECK (discount_cents >= 0),
    lines             TEXT NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX loyalty_sales_by_customer ON loyalty_sales (customer_id, purchase_id);

CREATE TABLE rewards (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('fixed_discount', 'percent_discount', 'free_product', 'voucher', 'experience', 'partner')),
    points_cost        INTEGER NOT NULL CHECK (points_cost > 0),
    -- cents for a fixed discount or a voucher, whole percent for a percentage discount
    value              INTEGER NOT NULL DEFAULT 0 CHECK (value >= 0),
    stock              INTEGER CHECK (stock >= 0),
    per_customer_limit INTEGER CHECK (per_customer_limit > 0),
    valid_from         TEXT,
    valid_to           TEXT,
    voucher_days       INTEGER NOT NULL DEFAULT 90 CHECK (voucher_days > 0),
    active             INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) STRICT;

CREATE TABLE redemptions (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    -- NULL when points were spent as a discount rather than on a catalogue reward
    reward_id   INTEGER REFERENCES rewards(id),
    points      INTEGER NOT NULL CHECK (points > 0),
    purchase_id INTEGER REFERENCES purchases(id),
    voucher_id  INTEGER REFERENCES vouchers(id),
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX redemptions_by_customer ON redemptions (customer_id, reward_id);
CREATE INDEX redemptions_by_reward ON redemptions (reward_id);

CREATE TABLE points_ledger (
    id                INTEGER PRIMARY KEY,
    customer_id       INTEGER NOT NULL REFERENCES customers(id),
    at                TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('earn', 'reverse', 'redeem', 'restore', 'expire', 'adjust', 'action', 'tier_entry')),
    points            INTEGER NOT NULL CHECK (points <> 0),
    expires_at        TEXT,
    purchase_id       INTEGER REFERENCES purchases(id),
    redemption_id     INTEGER REFERENCES redemptions(id),
    action            TEXT,
    reason            TEXT,
    staff             TEXT
) STRICT;
CREATE INDEX points_ledger_by_customer ON points_ledger (customer_id, id);
CREATE INDEX points_ledger_by_purchase ON points_ledger (purchase_id) WHERE purchase_id IS NOT NULL;
CREATE INDEX points_ledger_by_day ON points_ledger (at);
CREATE TRIGGER points_ledger_append_only_u BEFORE UPDATE OF at, kind, points, expires_at, purchase_id, redemption_id, reason, staff ON points_ledger
BEGIN SELECT RAISE(ABORT, 'the points ledger is append-only'); END;
CREATE TRIGGER points_ledger_append_only_d BEFORE DELETE ON points_ledger
BEGIN SELECT RAISE(ABORT, 'the points ledger is append-only'); END;

CREATE TABLE stamps_ledger (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('earn', 'reverse', 'redeem', 'adjust')),
    -- a claim of an intermediate milestone takes no stamps (0); the last one takes the card
    stamps      INTEGER NOT NULL CHECK (stamps <> 0 OR kind = 'redeem'),
    purchase_id INTEGER REFERENCES purchases(id),
    milestone   INTEGER,
    reason      TEXT,
    staff       TEXT
) STRICT;
CREATE INDEX stamps_ledger_by_customer ON stamps_ledger (customer_id, id);
CREATE TRIGGER stamps_ledger_append_only_u BEFORE UPDATE OF at, kind, stamps, purchase_id, milestone, reason, staff ON stamps_ledger
BEGIN SELECT RAISE(ABORT, 'the stamps ledger is append-only'); END;
CREATE TRIGGER stamps_ledger_append_only_d BEFORE DELETE ON stamps_ledger
BEGIN SELECT RAISE(ABORT, 'the stamps ledger is append-only'); END;

-- Vouchers (bons d'achat): immutable once issued; their use is a separate append-only log.
CREATE TABLE vouchers (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    customer_id INTEGER REFERENCES customers(id),
    kind        TEXT NOT NULL CHECK (kind IN ('amount', 'percent')),
    value       INTEGER NOT NULL CHECK (value > 0),
    expires_at  TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    source      TEXT NOT NULL,
    reason      TEXT,
    staff       TEXT
) STRICT;
CREATE INDEX vouchers_by_customer ON vouchers (customer_id);
CREATE TRIGGER vouchers_immutable BEFORE UPDATE OF code, kind, value, expires_at, issued_at, source, reason, staff ON vouchers
BEGIN SELECT RAISE(ABORT, 'a voucher is never edited'); END;
CREATE TRIGGER vouchers_never_deleted BEFORE DELETE ON vouchers
BEGIN SELECT RAISE(ABORT, 'a voucher is never deleted'); END;

CREATE TABLE voucher_uses (
    id          INTEGER PRIMARY KEY,
    voucher_id  INTEGER NOT NULL REFERENCES vouchers(id),
    kind        TEXT NOT NULL CHECK (kind IN ('use', 'undo')),
    purchase_id INTEGER REFERENCES purchases(id),
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX voucher_uses_by_voucher ON voucher_uses (voucher_id, id);
CREATE TRIGGER voucher_uses_append_only_u BEFORE UPDATE ON voucher_uses
BEGIN SELECT RAISE(ABORT, 'voucher uses are append-only'); END;
CREATE TRIGGER voucher_uses_append_only_d BEFORE DELETE ON voucher_uses
BEGIN SELECT RAISE(ABORT, 'voucher uses are append-only'); END;

-- Tiers reached (upgrades at once; a tier is kept until `kept_until`).
CREATE TABLE tier_events (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    tier_index  INTEGER NOT NULL,
    tier_name   TEXT NOT NULL,
    reached_at  TEXT NOT NULL,
    kept_until  TEXT NOT NULL
) STRICT;
CREATE INDEX tier_events_by_customer ON tier_events (customer_id, kept_until);
