-- Comptoir schema, version 13: an import undo may remove the automatic-message occasions of a
-- customer the import created, when none of them ever reached the outbox.
--
-- * An occasion is still never deleted, except inside an import undo's transaction, for the
--   one customer being removed (`comptoir_unlocked('import_undo', customer)`, see
--   `storage/unlock.rs`), and only one that never had an outbox row or a voucher (the undo
--   checks that too: such a customer counts as touched and is kept).
-- * Their journal lines go with them, under the same exception.

DROP TRIGGER automation_occasions_never_deleted;
CREATE TRIGGER automation_occasions_never_deleted BEFORE DELETE ON automation_occasions
WHEN NOT (comptoir_unlocked('import_undo', old.customer_id) AND old.recipient_id IS NULL AND old.voucher_id IS NULL
          AND old.state NOT IN ('queued', 'sent', 'failed', 'held_out'))
BEGIN SELECT RAISE(ABORT, 'an occasion is never deleted'); END;

DROP TRIGGER automation_journal_append_only_d;
CREATE TRIGGER automation_journal_append_only_d BEFORE DELETE ON automation_journal
WHEN NOT comptoir_unlocked('import_undo', old.customer_id)
BEGIN SELECT RAISE(ABORT, 'the automation journal is append-only'); END;

-- Tier events say where they come from: 'reached' by the customer's own spend or points (an
-- upgrade, which a refund that takes the spend back below the tier's threshold ends at once),
-- or 'renewed' at the end of a kept period from the period that ended (which a refund of this
-- period never ends). Renewals already recorded are found by their shape: they start exactly
-- when an earlier event of the customer ended.
ALTER TABLE tier_events ADD COLUMN origin TEXT NOT NULL DEFAULT 'reached' CHECK (origin IN ('reached', 'renewed'));
UPDATE tier_events SET origin = 'renewed'
WHERE EXISTS (SELECT 1 FROM tier_events p WHERE p.customer_id = tier_events.customer_id AND p.id < tier_events.id
              AND p.kept_until = tier_events.reached_at);
