//! A segment's filter checked (bounds of every value) and turned into SQL: fixed fragments,
//! every value bound as a parameter, so nothing typed by a user reaches SQL as text. Dates
//! are the shop's local days (`calendar::utc_bounds`); "the last N months" is
//! `calendar::months_back`, as the dashboard's figures count them.

use super::*;

const MAX_CONDITIONS: usize = 30;
const MAX_DAYS: u32 = 36_500;

pub fn validate(f: &SegmentFilter) -> Result<()> {
    if f.conditions.len() > MAX_CONDITIONS {
        return Err(Error::Validation(vec![FieldError::new("filter", "field.too_many").arg("max", MAX_CONDITIONS)]));
    }
    for c in &f.conditions {
        let ok = match c {
            Condition::HasTag { tag } | Condition::NotTag { tag } => {
                !tag.trim().is_empty() && tag.chars().count() <= 60
            }
            Condition::LastPurchaseOlderThan { days } | Condition::LastPurchaseWithin { days } => *days <= MAX_DAYS,
            Condition::SpentAtLeast { cents } | Condition::SpentAtMost { cents } => *cents >= 0,
            Condition::BirthdayMonth { month } => (1..=12).contains(month),
            Condition::RfmCell { r, fm } => (1..=5).contains(r) && (1..=5).contains(fm),
            Condition::NpsAnswer { within_months, .. } => within_months.is_none_or(|m| (1..=36).contains(&m)),
            Condition::RewardUsedWithin { months }
            | Condition::PointsExpiredWithin { months }
            | Condition::GiftReceivedWithin { months } => (1..=36).contains(months),
            Condition::TierAtLeast { index } => *index < 20,
            Condition::LifetimeValueAtLeast { cents } | Condition::LifetimeValueAtMost { cents } => *cents >= 0,
            Condition::BoughtBetween { from, to }
            | Condition::FirstPurchaseBetween { from, to }
            | Condition::NpsAnsweredBetween { from, to } => {
                from <= to && (2000..=2100).contains(&from.year()) && (2000..=2100).contains(&to.year())
            }
            Condition::ApprovedReferralsAtLeast { count } => *count <= 10_000,
            Condition::ReferredBy { customer_id } => *customer_id > 0,
            _ => true,
        };
        if !ok {
            return Err(Error::invalid("filter", "field.filter_invalid"));
        }
    }
    Ok(())
}

/// The WHERE clause for a filter (on `customers c`) and its bound values.
pub(crate) fn where_clause(f: &SegmentFilter, facts: &crate::loyalty::LoyaltyFacts) -> (String, Vec<Box<dyn ToSql>>) {
    let now = facts.now;
    let mut parts: Vec<String> = Vec::new();
    let mut values: Vec<Box<dyn ToSql>> = Vec::new();
    let days_ago = |d: u32| now - Duration::days(i64::from(d));
    // The usable balance, as the till shows it (points past their date do not count).
    let mut points_sql: Option<String> = None;
    const SCORES: &str = "EXISTS (SELECT 1 FROM customer_scores s WHERE s.customer_id = c.id AND";
    const IN_USE: &str = "c.archived_at IS NULL AND c.merged_into IS NULL";
    const CONSENT: &str = "(SELECT k.basis FROM consents k WHERE k.customer_id = c.id ORDER BY k.id DESC LIMIT 1)";
    for cond in &f.conditions {
        let mut bind = |v: Box<dyn ToSql>| {
            values.push(v);
            format!("?{}", values.len())
        };
        // Local dates, both included: `column` from the first day's local midnight to the one
        // after the last day.
        let mut between = |column: &str, from: NaiveDate, to: NaiveDate| {
            let (start, end) = calendar::utc_bounds(calendar::Period { from, to });
            let start = bind(Box::new(start));
            format!("{column} >= {start} AND {column} < {}", bind(Box::new(end)))
        };
        let sql = match cond {
            Condition::HasTag { tag } => format!(
                "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag_fold = {})",
                bind(Box::new(crate::text::fold(tag.trim())))
            ),
            Condition::NotTag { tag } => format!(
                "NOT EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag_fold = {})",
                bind(Box::new(crate::text::fold(tag.trim())))
            ),
            // The tier held now, as the till shows it: kept, or qualified for in this period.
            Condition::TierAtLeast { index } => facts.tier_at_least_sql("c.id", *index, &mut bind),
            // The last visit's index holds only the customers in use (a partial index, the
            // archived and merged ones apart), and in an "any of" filter SQLite looks at each
            // branch alone: the branch names the state, or the count reads the whole index.
            Condition::LastPurchaseOlderThan { days } => format!(
                "(c.last_purchase_at IS NOT NULL AND c.last_purchase_at < {} AND {IN_USE})",
                bind(Box::new(days_ago(*days)))
            ),
            Condition::LastPurchaseWithin { days } => {
                format!("(c.last_purchase_at >= {} AND {IN_USE})", bind(Box::new(days_ago(*days))))
            }
            Condition::NeverBought => format!("(c.last_purchase_at IS NULL AND {IN_USE})"),
            Condition::PurchasesAtLeast { count } => format!("c.visit_count >= {}", bind(Box::new(i64::from(*count)))),
            Condition::PurchasesAtMost { count } => format!("c.visit_count <= {}", bind(Box::new(i64::from(*count)))),
            Condition::SpentAtLeast { cents } => format!("c.total_spent_cents >= {}", bind(Box::new(*cents))),
            Condition::SpentAtMost { cents } => format!("c.total_spent_cents <= {}", bind(Box::new(*cents))),
            Condition::BirthdayMonth { month } => format!("c.birthday_month = {}", bind(Box::new(i64::from(*month)))),
            Condition::Language { lang } => format!("c.language = {}", bind(Box::new(lang.code()))),
            Condition::Country { country } => format!("c.country = {}", bind(Box::new(country.code()))),
            Condition::Consent { state } => match state {
                ConsentState::Unknown => format!("{CONSENT} IS NULL"),
                ConsentState::Express => format!("{CONSENT} = {}", bind(Box::new(ConsentChoice::Express.code()))),
                ConsentState::ExistingCustomer => {
                    format!("{CONSENT} = {}", bind(Box::new(ConsentChoice::ExistingCustomer.code())))
                }
                ConsentState::Refused => format!("{CONSENT} = {}", bind(Box::new(ConsentChoice::Refused.code()))),
            },
            Condition::PointsAtLeast { points } | Condition::PointsAtMost { points } => {
                let usable = match &points_sql {
                    Some(s) => s.clone(),
                    None => {
                        let s = facts.usable_points_sql("c.id", &mut bind);
                        points_sql = Some(s.clone());
                        s
                    }
                };
                let op = if matches!(cond, Condition::PointsAtLeast { .. }) { ">=" } else { "<=" };
                format!("{usable} {op} {}", bind(Box::new(*points)))
            }
            Condition::RfmSegment { segment } => format!("{SCORES} s.segment = {})", bind(Box::new(segment.code()))),
            Condition::RfmMove { from, to } => {
                let f = bind(Box::new(from.code()));
                format!("{SCORES} s.prev_segment = {f} AND s.segment = {})", bind(Box::new(to.code())))
            }
            Condition::RfmCell { r, fm } => {
                let r = bind(Box::new(i64::from(*r)));
                // rfm::fm in SQL: the mean of two integers rounded up.
                format!("{SCORES} s.r = {r} AND (s.f + s.m + 1) / 2 = {})", bind(Box::new(i64::from(*fm))))
            }
            Condition::ChurnRisk { risk } => format!("{SCORES} s.churn = {})", bind(Box::new(risk.code()))),
            Condition::LifetimeValueAtLeast { cents } => format!("{SCORES} s.clv_cents >= {})", bind(Box::new(*cents))),
            Condition::LifetimeValueAtMost { cents } => format!("{SCORES} s.clv_cents <= {})", bind(Box::new(*cents))),
            Condition::LoyaltyKind { kind } => format!("{SCORES} s.kind = {})", bind(Box::new(kind.code()))),
            Condition::NpsAnswer { group, within_months } => {
                let since = match within_months {
                    Some(m) => format!(" AND n.answered_at >= {}", bind(Box::new(calendar::months_back(now, *m)))),
                    None => String::new(),
                };
                match group {
                    None => format!("NOT EXISTS (SELECT 1 FROM nps_answers n WHERE n.customer_id = c.id{since})"),
                    Some(g) => {
                        let (lo, hi) = g.range();
                        let lo = bind(Box::new(i64::from(lo)));
                        format!(
                            "(SELECT n.score FROM nps_answers n WHERE n.customer_id = c.id{since} ORDER BY n.answered_at DESC, n.id DESC LIMIT 1) BETWEEN {lo} AND {}",
                            bind(Box::new(i64::from(hi)))
                        )
                    }
                }
            }
            // The period's rows first, by their date index, once for the whole list.
            Condition::RewardUsedWithin { months } => {
                let since = bind(Box::new(calendar::months_back(now, *months)));
                format!(
                    "c.id IN (SELECT s.customer_id FROM loyalty_sales s JOIN purchases p ON p.id = s.purchase_id
                              WHERE s.discount_cents > 0 AND p.occurred_at >= {since}
                              UNION SELECT r.customer_id FROM redemptions r WHERE r.at >= {since})"
                )
            }
            Condition::PointsExpiredWithin { months } => {
                let since = bind(Box::new(calendar::months_back(now, *months)));
                format!("c.id IN (SELECT l.customer_id FROM points_ledger l WHERE l.at >= {since} AND l.kind = 'expire')")
            }
            // The ledger read in order, as the programme's figure reads it: through the claims'
            // index (without the date) each claim would cost a read scattered over the file.
            Condition::GiftReceivedWithin { months } => {
                let since = bind(Box::new(calendar::months_back(now, *months)));
                format!(
                    "c.id IN (SELECT r.customer_id FROM redemptions r JOIN rewards w ON w.id = r.reward_id
                              WHERE r.at >= {since} AND w.kind IN ('free_product', 'experience', 'partner')
                              UNION SELECT l.customer_id FROM stamps_ledger l NOT INDEXED
                              WHERE l.at >= {since} AND l.kind = 'redeem' AND l.milestone IS NOT NULL)"
                )
            }
            Condition::BoughtBetween { from, to } => format!(
                "EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.id AND p.kind = 'sale' AND {})",
                between("p.occurred_at", *from, *to)
            ),
            Condition::NpsAnsweredBetween { from, to } => format!(
                "EXISTS (SELECT 1 FROM nps_answers n WHERE n.customer_id = c.id AND {})",
                between("n.answered_at", *from, *to)
            ),
            Condition::FirstPurchaseBetween { from, to } => format!("({})", between("c.first_purchase_at", *from, *to)),
            Condition::ProgrammeCompared { member } => format!(
                "c.id IN (SELECT pc.customer_id FROM programme_comparison pc WHERE pc.member = {})",
                bind(Box::new(*member))
            ),
            Condition::CardHolder { holder } => {
                format!(
                    "{}EXISTS (SELECT 1 FROM cards k WHERE k.customer_id = c.id)",
                    if *holder { "" } else { "NOT " }
                )
            }
            Condition::ApprovedReferralsAtLeast { count } => format!(
                "(SELECT count(*) FROM referrals rf WHERE rf.referrer_id = c.id AND rf.status = 'approved') >= {}",
                bind(Box::new(i64::from(*count)))
            ),
            Condition::WasReferred => {
                "EXISTS (SELECT 1 FROM referrals rf WHERE rf.friend_id = c.id AND rf.status NOT IN ('voided', 'rejected'))"
                    .to_string()
            }
            Condition::ReferredBy { customer_id } => format!(
                "EXISTS (SELECT 1 FROM referrals rf WHERE rf.friend_id = c.id AND rf.status NOT IN ('voided', 'rejected') AND rf.referrer_id = {})",
                bind(Box::new(*customer_id))
            ),
        };
        parts.push(sql);
    }
    let joined = match (parts.is_empty(), f.combine) {
        (true, _) => "1".to_string(),
        (false, Combine::All) => parts.join(" AND "),
        (false, Combine::Any) => parts.join(" OR "),
    };
    (format!("c.archived_at IS NULL AND c.merged_into IS NULL AND ({joined})"), values)
}
