-- Comptoir schema, version 10: the numbers (dashboard figures, customer scores) and
-- satisfaction answers (NPS).
--
-- The analytics tables hold figures derived from the purchases, rebuilt by the analytics module
-- (never typed by anyone, never the only copy of anything): they can be emptied and rebuilt at
-- any time. The NPS tables hold what customers answered: append-only.

-- The figures of each local day. `buyers` is the set of customers who bought that day (a
-- compressed bitmap of customer ids), so distinct customers over any range of days are exact.
CREATE TABLE analytics_days (
    day               TEXT PRIMARY KEY,      -- local date, YYYY-MM-DD
    sales             INTEGER NOT NULL,
    refunds           INTEGER NOT NULL,
    sales_cents       INTEGER NOT NULL,
    refunds_cents     INTEGER NOT NULL,
    -- sales less refunds of customers who held a loyalty card on that day
    member_net_cents  INTEGER NOT NULL,
    -- customers whose first sale ever was that day
    new_buyers        INTEGER NOT NULL,
    buyers            BLOB NOT NULL
) STRICT;

-- Watermarks of the derived figures (the last purchase and customer event taken into account,
-- the time zone the days were cut in) and the state of the scores.
CREATE TABLE analytics_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Each customer's scores, as of `analytics_state['scores']`: RFM over the chosen period,
-- the rhythm of visits and the churn risk, the lifetime value estimate, the loyalty type.
-- One row per customer who bought at least once (not archived, not merged).
CREATE TABLE customer_scores (
    customer_id       INTEGER PRIMARY KEY REFERENCES customers(id),
    recency_days      INTEGER NOT NULL,
    frequency         INTEGER NOT NULL,      -- sales in the period
    monetary_cents    INTEGER NOT NULL,      -- sales less refunds in the period
    r                 INTEGER NOT NULL CHECK (r BETWEEN 1 AND 5),
    f                 INTEGER NOT NULL CHECK (f BETWEEN 1 AND 5),
    m                 INTEGER NOT NULL CHECK (m BETWEEN 1 AND 5),
    segment           TEXT NOT NULL,
    -- the segment a month earlier; NULL when the customer had not bought yet
    prev_segment      TEXT,
    usual_gap_days    INTEGER NOT NULL,
    own_rhythm        INTEGER NOT NULL CHECK (own_rhythm IN (0, 1)),
    churn             TEXT NOT NULL CHECK (churn IN ('low', 'medium', 'high')),
    clv_cents         INTEGER NOT NULL,      -- expected spend over the next 12 months
    clv_low_cents     INTEGER NOT NULL,
    clv_high_cents    INTEGER NOT NULL,
    p_alive_permille  INTEGER,               -- only with the BG/NBD model
    kind              TEXT NOT NULL
) STRICT;
CREATE INDEX customer_scores_by_segment ON customer_scores (segment, prev_segment);
CREATE INDEX customer_scores_by_churn ON customer_scores (churn);
CREATE INDEX customer_scores_by_clv ON customer_scores (clv_cents);
CREATE INDEX customer_scores_by_kind ON customer_scores (kind);

-- The points expiry run looks only at the dates reached since its last run.
CREATE INDEX points_ledger_by_expiry ON points_ledger (expires_at) WHERE expires_at IS NOT NULL;

-- New customers per period are read from the first purchase.
CREATE INDEX customers_by_first_purchase ON customers (first_purchase_at);

-- Satisfaction answers (NPS): a 0-10 score and an optional comment, given at the till, typed
-- from a paper form or sent back by email. Append-only: only the owner may change, when two
-- customers are merged.
CREATE TABLE nps_answers (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER REFERENCES customers(id),   -- NULL: an anonymous paper form
    score        INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment      TEXT,
    channel      TEXT NOT NULL CHECK (channel IN ('till', 'paper', 'email')),
    answered_at  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    -- the emailed survey it answers, and the address the answer came from
    token        TEXT UNIQUE,
    reply_from   TEXT
) STRICT;
CREATE INDEX nps_answers_by_customer ON nps_answers (customer_id, answered_at);
CREATE INDEX nps_answers_by_date ON nps_answers (answered_at);
CREATE TRIGGER nps_answers_append_only_u BEFORE UPDATE OF score, comment, channel, answered_at, recorded_at, token, reply_from ON nps_answers
BEGIN SELECT RAISE(ABORT, 'satisfaction answers are append-only'); END;
CREATE TRIGGER nps_answers_append_only_d BEFORE DELETE ON nps_answers
BEGIN SELECT RAISE(ABORT, 'satisfaction answers are append-only'); END;

-- Each time the question was put to a customer (at the till, even if they declined, or in
-- an email with its token), so nobody is asked twice within 90 days.
CREATE TABLE nps_invitations (
    id           INTEGER PRIMARY KEY,
    token        TEXT UNIQUE,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    channel      TEXT NOT NULL CHECK (channel IN ('till', 'email')),
    campaign_id  INTEGER REFERENCES campaigns(id),
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX nps_invitations_by_customer ON nps_invitations (customer_id, created_at);
CREATE TRIGGER nps_invitations_append_only_u BEFORE UPDATE OF token, channel, campaign_id, created_at ON nps_invitations
BEGIN SELECT RAISE(ABORT, 'survey invitations are append-only'); END;
CREATE TRIGGER nps_invitations_append_only_d BEFORE DELETE ON nps_invitations
BEGIN SELECT RAISE(ABORT, 'survey invitations are append-only'); END;

-- A low score calls for a follow-up, shown on the customer page until the merchant marks it
-- done (with what was done).
CREATE TABLE nps_followups (
    id           INTEGER PRIMARY KEY,
    answer_id    INTEGER NOT NULL UNIQUE REFERENCES nps_answers(id),
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    created_at   TEXT NOT NULL,
    done_at      TEXT,
    done_note    TEXT
) STRICT;
CREATE INDEX nps_followups_open ON nps_followups (customer_id) WHERE done_at IS NULL;
CREATE TRIGGER nps_followups_done_once BEFORE UPDATE OF done_at, done_note ON nps_followups
WHEN old.done_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a follow-up done stays done'); END;
CREATE TRIGGER nps_followups_never_deleted BEFORE DELETE ON nps_followups
BEGIN SELECT RAISE(ABORT, 'follow-ups are never deleted'); END;

-- One place for satisfaction answers: the answers the mailbox reader kept in `survey_replies`
-- (version 7) become answers here (the latest per token, as that table's rule said; without a
-- customer when none was recognised), with the follow-up of a known customer's low score.
-- From now on the reader writes here; `survey_replies` stays as it was (append-only) and is
-- no longer written.
INSERT INTO nps_answers (customer_id, score, comment, channel, answered_at, recorded_at, token, reply_from)
SELECT coalesce(c.merged_into, r.customer_id), r.score, r.comment, 'email', r.answered_at, r.answered_at, r.token, r.email_norm
FROM survey_replies r LEFT JOIN customers c ON c.id = r.customer_id
WHERE r.id = (SELECT max(x.id) FROM survey_replies x WHERE x.token = r.token);
INSERT INTO nps_followups (answer_id, customer_id, created_at)
SELECT a.id, a.customer_id, a.recorded_at FROM nps_answers a WHERE a.channel = 'email' AND a.score <= 6 AND a.customer_id IS NOT NULL;
