-- Step 18: the customers by postcode carry their folded names (issue 9). An import compares
-- each new customer's name with the customers of its postcode, and the customer form does the
-- same: with the names in the index, that comparison reads the index alone instead of one
-- table row per neighbour (a 100,000-row file from one town read 300 rows per imported row).
-- Ordered by name within the postcode, so a crowded postcode is searched around the new name.
-- `merged_into` is there so the look-up that leaves merged customers out needs no row either.
-- Rebuilding an index loses no data.
DROP INDEX IF EXISTS customers_by_postcode;
CREATE INDEX customers_by_postcode ON customers (postcode, last_fold, first_fold, merged_into);
