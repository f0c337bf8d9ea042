//! Which backups to keep: every backup of today, then the newest of each of the 12 previous
//! days that have one, of each of the 10 weeks before those, and of each of the 9 months before
//! those. A merchant who opens the shop rarely keeps older copies rather than none. Pure.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone};

pub const DAILY: usize = 12;
pub const WEEKLY: usize = 10;
pub const MONTHLY: usize = 9;

/// Rule: given the backups' times (any order) and now, in the merchant's time zone, the
/// indexes of the backups to delete.
pub fn to_delete<Tz: TimeZone>(times: &[DateTime<Tz>], now: &DateTime<Tz>) -> Vec<usize> {
    let today = now.date_naive();
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| times[*b].cmp(&times[*a]));
    let mut days: Vec<NaiveDate> = Vec::new();
    let mut weeks: Vec<(i32, u32)> = Vec::new();
    let mut months: Vec<(i32, u32)> = Vec::new();
    let mut delete = Vec::new();
    for i in order {
        let d = times[i].date_naive();
        if d >= today {
            continue;
        }
        let week = (d.iso_week().year(), d.iso_week().week());
        let month = (d.year(), d.month());
        let keep = if days.contains(&d) || weeks.contains(&week) || months.contains(&month) {
            false
        } else if days.len() < DAILY {
            days.push(d);
            true
        } else if weeks.len() < WEEKLY {
            weeks.push(week);
            true
        } else if months.len() < MONTHLY {
            months.push(month);
            true
        } else {
            false
        };
        if !keep {
            delete.push(i);
        }
    }
    delete.sort_unstable();
    delete
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn at(days_ago: i64, hour: u32) -> DateTime<Utc> {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 18, 0, 0).unwrap();
        (now - Duration::days(days_ago)).date_naive().and_hms_opt(hour, 0, 0).unwrap().and_utc()
    }

    fn kept(times: &[DateTime<Utc>]) -> Vec<DateTime<Utc>> {
        let now = at(0, 18);
        let del = to_delete(times, &now);
        times.iter().enumerate().filter(|(i, _)| !del.contains(i)).map(|(_, t)| *t).collect()
    }

    #[test]
    fn every_backup_of_today_is_kept() {
        let today: Vec<_> = (8..18).map(|h| at(0, h)).collect();
        assert_eq!(kept(&today).len(), 10, "all of today");
    }

    #[test]
    fn the_newest_of_each_earlier_day_is_kept_for_twelve_days() {
        let mut t = Vec::new();
        for d in 1..=12 {
            t.push(at(d, 9));
            t.push(at(d, 17));
        }
        let k = kept(&t);
        assert_eq!(k.len(), 12, "one a day");
        assert!(k.iter().all(|x| x.format("%H").to_string() == "17"), "the newest of each day");
    }

    #[test]
    fn hourly_backups_for_a_year_thin_to_days_weeks_and_months() {
        let t: Vec<_> = (0..400).flat_map(|d| [at(d, 9), at(d, 12), at(d, 17)]).collect();
        let k = kept(&t);
        let today = 3;
        assert_eq!(k.len(), today + DAILY + WEEKLY + MONTHLY, "all of today, 12 days, 10 weeks, 9 months");
        assert!(k.iter().any(|x| *x == at(1, 17)), "yesterday's last is kept");
        let oldest = k.iter().min().unwrap();
        assert!(
            *oldest < at(200, 0) && *oldest > at(400, 0),
            "months reach back about 9 months past the weeks: {oldest}"
        );
    }

    #[test]
    fn a_rarely_opened_shop_keeps_its_few_backups() {
        let t = vec![at(3, 9), at(40, 9), at(300, 9), at(700, 9)];
        assert_eq!(kept(&t).len(), 4, "each is the only one of its day: nothing to thin");
    }
}
