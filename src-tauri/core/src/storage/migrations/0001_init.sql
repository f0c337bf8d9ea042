-- Comptoir schema, version 1: settings, customers, consent, notes, tags, cards, purchases,
-- the timeline's own events, the search index and idempotency keys.
-- Times are UTC text ('YYYY-MM-DD HH:MM:SS.fff+00:00'); money is integer cents.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE customers (
    id               INTEGER PRIMARY KEY,
    first_name       TEXT NOT NULL DEFAULT '',
    last_name        TEXT NOT NULL DEFAULT '',
    -- accent- and case-folded names for sorting and 1-2 character prefix search
    first_fold       TEXT NOT NULL DEFAULT '',
    last_fold        TEXT NOT NULL DEFAULT '',
    email            TEXT,
    email_norm       TEXT,
    phone_e164       TEXT,
    -- national and international digits, e.g. '0612345678 33612345678'
    phone_digits     TEXT NOT NULL DEFAULT '',
    address_line1    TEXT,
    address_line2    TEXT,
    postcode         TEXT,
    city             TEXT,
    country          TEXT NOT NULL DEFAULT 'FR' CHECK (country IN ('FR', 'CA')),
    birthday_day     INTEGER CHECK (birthday_day BETWEEN 1 AND 31),
    birthday_month   INTEGER CHECK (birthday_month BETWEEN 1 AND 12),
    birthday_year    INTEGER,
    language         TEXT NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en')),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    archived_at      TEXT,
    merged_into      INTEGER REFERENCES customers(id),
    -- Figures derived from purchases; recomputed from them in the same transaction as every
    -- purchase write (purchases::refresh_figures), never edited on their own.
    visit_count       INTEGER NOT NULL DEFAULT 0,
    total_spent_cents INTEGER NOT NULL DEFAULT 0,
    first_purchase_at TEXT,
    last_purchase_at  TEXT
) STRICT;

CREATE INDEX customers_by_name ON customers (last_fold, first_fold, id);
CREATE INDEX customers_by_first_name ON customers (first_fold);
CREATE INDEX customers_by_email ON customers (email_norm);
CREATE INDEX customers_by_phone ON customers (phone_e164);
CREATE INDEX customers_by_phone_digits ON customers (phone_digits);
CREATE INDEX customers_by_postcode ON customers (postcode);
CREATE INDEX customers_by_last_visit ON customers (last_purchase_at, id);
CREATE INDEX customers_by_total_spent ON customers (total_spent_cents, id);

CREATE TABLE customer_tags (
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    tag         TEXT NOT NULL,
    tag_fold    TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag_fold)
) STRICT, WITHOUT ROWID;
CREATE INDEX customer_tags_by_tag ON customer_tags (tag_fold);

-- Email marketing consent: append-only, the latest record is the customer's current state.
CREATE TABLE consents (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    channel     TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email')),
    granted     INTEGER NOT NULL CHECK (granted IN (0, 1)),
    basis       TEXT NOT NULL,
    source      TEXT NOT NULL,
    wording     TEXT,
    recorded_at TEXT NOT NULL
) STRICT;
CREATE INDEX consents_by_customer ON consents (customer_id, recorded_at, id);
CREATE TRIGGER consents_append_only_u BEFORE UPDATE OF granted, basis, source, wording, recorded_at ON consents
BEGIN SELECT RAISE(ABORT, 'consents are append-only'); END;
CREATE TRIGGER consents_append_only_d BEFORE DELETE ON consents
BEGIN SELECT RAISE(ABORT, 'consents are append-only'); END;

CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX notes_by_customer ON notes (customer_id, created_at);

CREATE TABLE cards (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    number      TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'replaced', 'blocked')),
    issued_at   TEXT NOT NULL
) STRICT;
CREATE INDEX cards_by_customer ON cards (customer_id);

-- Sales and refunds: append-only. A refund is a new row pointing at its sale; amounts and
-- dates never change. Only the owner may change, when two customers are merged.
CREATE TABLE purchases (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    kind         TEXT NOT NULL CHECK (kind IN ('sale', 'refund')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    occurred_at  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    note         TEXT,
    category     TEXT,
    refund_of    INTEGER REFERENCES purchases(id),
    CHECK ((kind = 'refund') = (refund_of IS NOT NULL))
) STRICT;
CREATE INDEX purchases_by_customer ON purchases (customer_id, occurred_at);
CREATE INDEX purchases_by_refund_of ON purchases (refund_of) WHERE refund_of IS NOT NULL;
CREATE INDEX purchases_by_date ON purchases (occurred_at);
CREATE TRIGGER purchases_append_only_u BEFORE UPDATE OF kind, amount_cents, occurred_at, recorded_at, refund_of ON purchases
BEGIN SELECT RAISE(ABORT, 'purchases are append-only'); END;
CREATE TRIGGER purchases_append_only_d BEFORE DELETE ON purchases
BEGIN SELECT RAISE(ABORT, 'purchases are append-only'); END;

-- Timeline events that no other table records (created, edited, archived, restored, merged).
CREATE TABLE customer_events (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX customer_events_by_customer ON customer_events (customer_id, at);

-- Search: trigram full-text index, accent- and case-insensitive, kept in step by triggers.
CREATE VIRTUAL TABLE customers_fts USING fts5 (
    name, email, phone, card,
    tokenize = 'trigram remove_diacritics 1'
);
CREATE TRIGGER customers_fts_ai AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (rowid, name, email, phone, card)
    VALUES (new.id, new.first_name || ' ' || new.last_name, coalesce(new.email, ''), new.phone_digits, '');
END;
CREATE TRIGGER customers_fts_au AFTER UPDATE OF first_name, last_name, email, phone_digits ON customers BEGIN
    UPDATE customers_fts
    SET name = new.first_name || ' ' || new.last_name, email = coalesce(new.email, ''), phone = new.phone_digits
    WHERE rowid = new.id;
END;
CREATE TRIGGER customers_fts_ad AFTER DELETE ON customers BEGIN
    DELETE FROM customers_fts WHERE rowid = old.id;
END;
CREATE TRIGGER cards_fts_ai AFTER INSERT ON cards BEGIN
    UPDATE customers_fts
    SET card = coalesce((SELECT group_concat(number, ' ') FROM cards WHERE customer_id = new.customer_id AND status = 'active'), '')
    WHERE rowid = new.customer_id;
END;
CREATE TRIGGER cards_fts_au AFTER UPDATE ON cards BEGIN
    UPDATE customers_fts
    SET card = coalesce((SELECT group_concat(number, ' ') FROM cards WHERE customer_id = old.customer_id AND status = 'active'), '')
    WHERE rowid = old.customer_id;
    UPDATE customers_fts
    SET card = coalesce((SELECT group_concat(number, ' ') FROM cards WHERE customer_id = new.customer_id AND status = 'active'), '')
    WHERE rowid = new.customer_id;
END;

CREATE TABLE idempotency (
    key        TEXT PRIMARY KEY,
    op         TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
