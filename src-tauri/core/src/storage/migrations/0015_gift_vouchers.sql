-- Step 15: gift vouchers (bons cadeaux). A referral reward may be a gift of the loyalty
-- catalogue (a free product, an experience, a partner's gift) rather than money off: it is
-- held as a voucher of kind 'gift' that names the catalogue reward and its name at the time,
-- single use, with an expiry, used at the till or from the customer page without taking any
-- money off. Its `value` is what the gift costs the shop (the merchant's estimate, in cents),
-- counted against the referral budget; it is never a discount.
--
-- SQLite cannot change a CHECK, so the table is rebuilt as its documented 12-step procedure
-- says (the runner turns foreign keys off around the upgrade and checks them before
-- committing): same columns, rows, ids, index and append-only triggers, plus the two columns
-- of a gift.
CREATE TABLE vouchers_v15 (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    customer_id INTEGER REFERENCES customers(id),
    kind        TEXT NOT NULL CHECK (kind IN ('amount', 'percent', 'gift')),
    value       INTEGER NOT NULL CHECK (value > 0),
    expires_at  TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    source      TEXT NOT NULL,
    reason      TEXT,
    staff       TEXT,
    -- A gift: the catalogue reward it gives and its name when the voucher was issued.
    reward_id   INTEGER REFERENCES rewards(id),
    label       TEXT,
    CHECK ((kind = 'gift') = (label IS NOT NULL AND reward_id IS NOT NULL))
) STRICT;
INSERT INTO vouchers_v15 (id, code, customer_id, kind, value, expires_at, issued_at, source, reason, staff)
    SELECT id, code, customer_id, kind, value, expires_at, issued_at, source, reason, staff FROM vouchers;
DROP TABLE vouchers;
ALTER TABLE vouchers_v15 RENAME TO vouchers;
CREATE INDEX vouchers_by_customer ON vouchers (customer_id);
-- The stock of a catalogue reward counts the gifts promised or handed over.
CREATE INDEX vouchers_by_reward ON vouchers (reward_id) WHERE reward_id IS NOT NULL;
CREATE TRIGGER vouchers_immutable
BEFORE UPDATE OF code, kind, value, expires_at, issued_at, source, reason, staff, reward_id, label ON vouchers
BEGIN SELECT RAISE(ABORT, 'a voucher is never edited'); END;
CREATE TRIGGER vouchers_never_deleted BEFORE DELETE ON vouchers
BEGIN SELECT RAISE(ABORT, 'a voucher is never deleted'); END;

-- Who handed a gift over from the customer page (a use without a sale).
ALTER TABLE voucher_uses ADD COLUMN staff TEXT;
