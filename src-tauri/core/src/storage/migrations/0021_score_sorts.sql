-- Step 21: the customer list sorts by churn risk and by RFM segment (issue 11), a page at a
-- time like its other orders. Each order is one integer per customer, computed from the stored
-- scores; an index on that expression keeps a page a short walk instead of a sort of the file.
-- The expressions are the sort keys of `analytics::scores` (RISK_KEY, SEGMENT_KEY, in scores_store.rs): the
-- list's queries must spell them exactly so for SQLite to use these indexes.
-- Risk: high, medium, low, then gone (left: no longer among those to call back); within a
-- level, the highest expected value first (the customers at risk most worth a call).
CREATE INDEX customer_scores_by_risk ON customer_scores (
    (CASE churn WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END) * 10000000000000
        + min(max(clv_cents, 0), 9999999999999));
-- Segment: Champions first, Lost last, in the order the dashboard's grid names them; within a
-- segment, the highest expected value first (the list's "expected spend" column).
CREATE INDEX customer_scores_by_rank ON customer_scores (
    (CASE segment WHEN 'champions' THEN 10 WHEN 'loyal' THEN 9 WHEN 'potential_loyal' THEN 8 WHEN 'new' THEN 7
        WHEN 'promising' THEN 6 WHEN 'need_attention' THEN 5 WHEN 'about_to_sleep' THEN 4 WHEN 'at_risk' THEN 3
        WHEN 'cannot_lose' THEN 2 WHEN 'hibernating' THEN 1 ELSE 0 END) * 10000000000000
        + min(max(clv_cents, 0), 9999999999999));
