-- Email safety, second part (from the review of the first).
--
-- * The outbox counts the provider's refusals of a message for a reason about the sender or
--   the message (the campaign paused, nobody failed): refused again after the merchant
--   resumed, or refused while others of the same batch passed, it fails that row instead of
--   pausing the campaign forever.
-- * The addresses whose latest consent record (in append order) is a refusal are put on the
--   suppression list, however the refusal was recorded (at the counter, on a form): the person
--   said no, and every record carrying the address must obey it.

ALTER TABLE campaign_recipients ADD COLUMN rejections INTEGER NOT NULL DEFAULT 0;

INSERT INTO suppressions (email_norm, action, reason, source, detail, customer_id, campaign_id, at)
SELECT c.email_norm, 'suppress', 'unsubscribed', 'migration', 'consent refused', min(c.id), NULL, max(k.recorded_at)
FROM customers c JOIN consents k
  ON k.id = (SELECT max(x.id) FROM consents x WHERE x.customer_id = c.id AND x.channel = 'email')
WHERE k.granted = 0 AND c.email_norm IS NOT NULL AND c.email_norm <> ''
  AND NOT EXISTS (
      SELECT 1 FROM suppressions s
      WHERE s.email_norm = c.email_norm
        AND s.id = (SELECT max(y.id) FROM suppressions y WHERE y.email_norm = c.email_norm)
        AND s.action = 'suppress'
  )
GROUP BY c.email_norm
ORDER BY min(c.id);
