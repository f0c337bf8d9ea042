-- Step 16: two indexes that no query reads, and that every sale wrote a page of (issue 11: a
-- durable sale wrote 23 pages to the log against one for a bare insert).
-- purchases_by_recorded: nothing filters or sorts purchases by the time they were recorded
-- (the timeline compares it with the sale's date, row by row).
-- idempotency_by_age: only the prune of keys older than 30 days read it, once as the app
-- opens; the prune now reads the table itself (about a month of keys).
-- Dropping an index loses no data.
DROP INDEX IF EXISTS purchases_by_recorded;
DROP INDEX IF EXISTS idempotency_by_age;
