-- Step 22: the customers the programme's before/after comparison compared (issue 11), so
-- that each bar of its chart opens exactly the customers it averages: the members compared
-- (member = 1) and the customers without a card matched to them (member = 0). Derived data,
-- rewritten with the programme's figures by the background; no foreign key: a customer
-- removed since (an import undone) simply no longer matches a list.
CREATE TABLE programme_comparison (
    customer_id INTEGER PRIMARY KEY,
    member      INTEGER NOT NULL CHECK (member IN (0, 1))
) STRICT;
