-- Emails in Unicode NFC (issue 9). An address typed with a decomposed accent (NFD, as macOS
-- sends it) and the same one precomposed are one address: the app now normalises every email
-- to NFC on the way in and compares the NFC, lower-case form (`text::normalize_email`). This
-- step brings the stored ones in line, with the app's own rule registered on the connection
-- for the upgrade (`comptoir_nfc`, `comptoir_email_norm`).
--
-- * Customers: the email rewritten in NFC (the same text otherwise) and its normalised form
--   computed again. Nothing is merged: two customers whose addresses become equal stay two,
--   and the duplicates screen shows them (it pairs customers by normalised email).
-- * The suppression list is append-only: its events whose address changes form are written
--   again under the NFC form, in the order they were recorded; where two spellings meet, the
--   address ends suppressed if either spelling was.
-- * The outbox and the mailbox keep what they recorded (history; a sent message is final).

UPDATE customers
SET email = comptoir_nfc(email), email_norm = comptoir_email_norm(email)
WHERE email IS NOT NULL
  AND (email IS NOT comptoir_nfc(email) OR email_norm IS NOT comptoir_email_norm(email));

CREATE TEMP TABLE migration_14_before AS SELECT coalesce(max(id), 0) AS last_id FROM suppressions;

-- Copied in the order they were recorded (the list's latest event is the one with the highest
-- id, whatever its date: a computer's clock can have been wrong, a restore re-appends old ones).
INSERT INTO suppressions (email_norm, action, reason, source, detail, customer_id, campaign_id, at)
SELECT comptoir_email_norm(email_norm), action, reason, source, detail, customer_id, campaign_id, at
FROM suppressions
WHERE email_norm IS NOT comptoir_email_norm(email_norm)
ORDER BY id;

-- Two spellings of one address become one: if either was suppressed (its own latest event a
-- "suppress"), the address ends suppressed — a lift that answered a bounce on one spelling
-- never lifts an unsubscribe made on the other. The most recent such suppression is written
-- once more where the merged history would otherwise end on a lift.
INSERT INTO suppressions (email_norm, action, reason, source, detail, customer_id, campaign_id, at)
SELECT t.n, t.action, t.reason, t.source, t.detail, t.customer_id, t.campaign_id, t.at
FROM (
    SELECT comptoir_email_norm(s.email_norm) AS n, s.*,
           row_number() OVER (PARTITION BY comptoir_email_norm(s.email_norm) ORDER BY s.id DESC) AS k
    FROM suppressions s
    WHERE s.id <= (SELECT last_id FROM migration_14_before)
      AND s.action = 'suppress'
      AND s.id = (SELECT max(o.id) FROM suppressions o
                  WHERE o.email_norm = s.email_norm AND o.id <= (SELECT last_id FROM migration_14_before))
) t
WHERE t.k = 1
  AND t.n IN (SELECT email_norm FROM suppressions WHERE id > (SELECT last_id FROM migration_14_before))
  AND (SELECT l.action FROM suppressions l WHERE l.email_norm = t.n ORDER BY l.id DESC LIMIT 1) IS NOT 'suppress';

DROP TABLE migration_14_before;
