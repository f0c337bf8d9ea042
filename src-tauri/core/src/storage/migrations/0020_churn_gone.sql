-- Step 20: a fourth churn level, 'gone' (issue 11): a customer absent for a year and six of
-- their usual gaps has left, and is no longer counted among those to call back. The scores are
-- a snapshot the background recomputes, but every row is kept as it was: the table is rebuilt
-- with the wider check and its rows copied over, then its indexes made again.
CREATE TABLE customer_scores_v20 (
    customer_id       INTEGER PRIMARY KEY REFERENCES customers(id),
    recency_days      INTEGER NOT NULL,
    frequency         INTEGER NOT NULL,
    monetary_cents    INTEGER NOT NULL,
    r                 INTEGER NOT NULL CHECK (r BETWEEN 1 AND 5),
    f                 INTEGER NOT NULL CHECK (f BETWEEN 1 AND 5),
    m                 INTEGER NOT NULL CHECK (m BETWEEN 1 AND 5),
    segment           TEXT NOT NULL,
    prev_segment      TEXT,
    usual_gap_days    INTEGER NOT NULL,
    own_rhythm        INTEGER NOT NULL CHECK (own_rhythm IN (0, 1)),
    churn             TEXT NOT NULL CHECK (churn IN ('low', 'medium', 'high', 'gone')),
    clv_cents         INTEGER NOT NULL,
    clv_low_cents     INTEGER NOT NULL,
    clv_high_cents    INTEGER NOT NULL,
    p_alive_permille  INTEGER,
    kind              TEXT NOT NULL
) STRICT;
INSERT INTO customer_scores_v20 SELECT customer_id, recency_days, frequency, monetary_cents, r, f, m, segment,
    prev_segment, usual_gap_days, own_rhythm, churn, clv_cents, clv_low_cents, clv_high_cents, p_alive_permille, kind
    FROM customer_scores;
DROP TABLE customer_scores;
ALTER TABLE customer_scores_v20 RENAME TO customer_scores;
CREATE INDEX customer_scores_by_segment ON customer_scores (segment, prev_segment);
CREATE INDEX customer_scores_by_churn ON customer_scores (churn);
CREATE INDEX customer_scores_by_clv ON customer_scores (clv_cents);
CREATE INDEX customer_scores_by_kind ON customer_scores (kind);
-- The rules changed with this version (the new level, scores of tied customers): the scores are
-- computed again at the next background pass, even on a day they were already computed.
DELETE FROM analytics_state WHERE key = 'scores.inputs';
