-- Step 19: a customer's balances read from indexes alone (issue 11). On a shop whose ledgers
-- no longer fit in memory (the 10x shop: points 470 MB, stamps 467 MB, purchases 831 MB), the
-- till's first look-up of a customer read about 37 table rows from the disk, spread over the
-- file because lines are written day by day for every customer together: the stamps' sum read
-- each line's stamps, the claimed milestones each line's kind, and the spend tier each sale's
-- kind and amount. These indexes hold what those reads need, in the order they read it:
-- - the stamps by customer carry the stamps (their sum, in the ledger's order as before);
-- - the claimed milestones have a small index of their own (redeem lines only, a few per card;
--   the kind is in it too, so that SQLite counts it as holding every column the query reads);
-- - the purchases by customer carry the kind and the amount (the spend over a period);
-- - the loyalty sales by customer carry the carry-over (the last one is read at each look-up).
-- Rebuilding or adding an index loses no data.
DROP INDEX IF EXISTS stamps_ledger_by_customer;
CREATE INDEX stamps_ledger_by_customer ON stamps_ledger (customer_id, id, stamps);
DROP INDEX IF EXISTS stamps_redeemed_by_customer;
CREATE INDEX stamps_redeemed_by_customer ON stamps_ledger (customer_id, milestone, kind) WHERE kind = 'redeem';
DROP INDEX IF EXISTS purchases_by_customer;
CREATE INDEX purchases_by_customer ON purchases (customer_id, occurred_at, kind, amount_cents);
DROP INDEX IF EXISTS loyalty_sales_by_customer;
CREATE INDEX loyalty_sales_by_customer ON loyalty_sales (customer_id, purchase_id, carry_after_cents);
