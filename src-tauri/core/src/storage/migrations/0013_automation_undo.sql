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
