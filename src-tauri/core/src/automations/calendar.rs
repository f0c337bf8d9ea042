//! The shop's calendar, as pure functions: local dates and times in the shop's time zone
//! (daylight-saving days included, through the IANA database of `chrono-tz`), the sending
//! hours, and the public holidays of France and Québec (Easter-based ones computed).

use super::AutomationSettings;
use crate::types::Country;
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// The computer's time zone, or Paris when it cannot be read or is not a known name.
pub fn system_time_zone() -> String {
    match iana_time_zone::get_timezone() {
        Ok(name) if name.parse::<Tz>().is_ok() => name,
        _ => "Europe/Paris".to_string(),
    }
}

/// The shop's zone from its name (Paris when unknown: a setting damaged by hand must not stop
/// the checks).
pub fn zone(name: &str) -> Tz {
    name.parse::<Tz>().unwrap_or(chrono_tz::Europe::Paris)
}

/// Rule: the local date of an instant in the shop's zone.
pub fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Rule: the instant a local date and time happens in the shop's zone. On the day clocks go
/// forward a time that does not exist is moved past the gap; on the day they go back, the
/// first of the two instants is taken.
pub fn at_local(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            // In the gap: an hour later exists in every zone the product meets.
            let later = naive + Duration::hours(1);
            tz.from_local_datetime(&later)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
        }
    }
}

/// The instant the local day `date` starts.
pub fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    at_local(tz, date, NaiveTime::MIN)
}

/// Rule: Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm, "computus").
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a valid date")
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a fixed holiday is a valid date")
}

/// The `n`-th (1-based) `weekday` of a month.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n as u8).expect("the n-th weekday exists")
}

/// The last `weekday` strictly before `date`.
fn weekday_before(date: NaiveDate, weekday: Weekday) -> NaiveDate {
    let mut d = date - Duration::days(1);
    while d.weekday() != weekday {
        d -= Duration::days(1);
    }
    d
}

/// Rule: the eleven public holidays of metropolitan France: 1 January, Easter Monday, 1 May,
/// 8 May, Ascension (Easter + 39), Whit Monday (Easter + 50), 14 July, 15 August, 1 November,
/// 11 November, 25 December.
pub fn french_holidays(year: i32) -> Vec<NaiveDate> {
    let e = easter(year);
    let mut v = vec![
        ymd(year, 1, 1),
        e + Duration::days(1),
        ymd(year, 5, 1),
        ymd(year, 5, 8),
        e + Duration::days(39),
        e + Duration::days(50),
        ymd(year, 7, 14),
        ymd(year, 8, 15),
        ymd(year, 11, 1),
        ymd(year, 11, 11),
        ymd(year, 12, 25),
    ];
    v.sort();
    v
}

/// Rule: Québec's statutory holidays: 1 January, Good Friday (Easter − 2), Easter Monday,
/// National Patriots' Day (the Monday before 25 May), Fête nationale (24 June), Canada Day
/// (1 July), Labour Day (first Monday of September), Thanksgiving (second Monday of October),
/// 25 December.
pub fn quebec_holidays(year: i32) -> Vec<NaiveDate> {
    let e = easter(year);
    let mut v = vec![
        ymd(year, 1, 1),
        e - Duration::days(2),
        e + Duration::days(1),
        weekday_before(ymd(year, 5, 25), Weekday::Mon),
        ymd(year, 6, 24),
        ymd(year, 7, 1),
        nth_weekday(year, 9, Weekday::Mon, 1),
        nth_weekday(year, 10, Weekday::Mon, 2),
        ymd(year, 12, 25),
    ];
    v.sort();
    v
}

pub fn is_holiday(country: Country, date: NaiveDate) -> bool {
    match country {
        Country::FR => french_holidays(date.year()).contains(&date),
        Country::CA => quebec_holidays(date.year()).contains(&date),
    }
}

fn day_allowed(s: &AutomationSettings, country: Country, date: NaiveDate) -> bool {
    !((s.quiet_sundays && date.weekday() == Weekday::Sun) || (s.quiet_holidays && is_holiday(country, date)))
}

fn minute_time(m: u16) -> NaiveTime {
    NaiveTime::from_num_seconds_from_midnight_opt(u32::from(m.min(1439)) * 60, 0).expect("a minute of the day")
}

/// Rule: messages leave only within the sending hours of the shop's local day (9:00–19:30 by
/// default), and not on Sundays or public holidays when the merchant says so. `Ok` now, or
/// `Err` with the next instant they may.
pub fn sending_window(s: &AutomationSettings, country: Country, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
    let tz = zone(&s.time_zone);
    let today = local_date(tz, now);
    let (from, until) = (s.send_from_minute.min(1439), s.send_until_minute.min(1440));
    for offset in 0..30 {
        let date = today + Duration::days(offset);
        if !day_allowed(s, country, date) {
            continue;
        }
        let start = at_local(tz, date, minute_time(from));
        let end = if until >= 1440 {
            day_start(tz, date + Duration::days(1))
        } else {
            at_local(tz, date, minute_time(until))
        };
        if now < start {
            return Err(start);
        }
        if now < end {
            return Ok(());
        }
    }
    // No allowed day within a month (every day quiet): wait a day and look again.
    Err(now + Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_falls_on_the_known_sundays() {
        for (year, m, d) in [(2024, 3, 31), (2025, 4, 20), (2026, 4, 5), (2027, 3, 28), (2038, 4, 25), (2285, 3, 22)] {
            assert_eq!(easter(year), ymd(year, m, d), "Easter {year}");
        }
    }

    #[test]
    fn french_and_quebec_holidays_of_2026() {
        let fr = french_holidays(2026);
        assert_eq!(fr.len(), 11, "France has eleven public holidays");
        for (m, d, name) in [(4, 6, "Easter Monday"), (5, 14, "Ascension"), (5, 25, "Whit Monday"), (7, 14, "14 July")]
        {
            assert!(fr.contains(&ymd(2026, m, d)), "{name} 2026 is a French holiday");
        }
        let qc = quebec_holidays(2026);
        for (m, d, name) in [
            (4, 3, "Good Friday"),
            (5, 18, "Journée nationale des patriotes (Monday before 25 May)"),
            (6, 24, "Fête nationale"),
            (9, 7, "Labour Day"),
            (10, 12, "Thanksgiving"),
        ] {
            assert!(qc.contains(&ymd(2026, m, d)), "{name} 2026 is a Québec holiday");
        }
        assert!(!qc.contains(&ymd(2026, 7, 14)), "14 July is not a Québec holiday");
        assert_eq!(
            weekday_before(ymd(2025, 5, 25), Weekday::Mon),
            ymd(2025, 5, 19),
            "25 May 2025 is a Sunday: the Monday before is the 19th"
        );
    }

    fn settings(tz: &str) -> AutomationSettings {
        AutomationSettings { time_zone: tz.into(), ..AutomationSettings::default() }
    }

    #[test]
    fn sending_hours_follow_the_shops_zone_across_daylight_saving_days() {
        let paris = settings("Europe/Paris");
        // 29 March 2026: clocks go forward in Paris (UTC+1 → UTC+2). 9:00 local is 07:00 UTC.
        let before = Utc.with_ymd_and_hms(2026, 3, 29, 6, 59, 0).unwrap();
        assert_eq!(
            sending_window(&paris, Country::FR, before),
            Err(Utc.with_ymd_and_hms(2026, 3, 29, 7, 0, 0).unwrap()),
            "on the spring-forward day, 9:00 in Paris is 07:00 UTC"
        );
        // 25 October 2026: clocks go back (UTC+2 → UTC+1): 9:00 local is 08:00 UTC.
        let early = Utc.with_ymd_and_hms(2026, 10, 25, 7, 30, 0).unwrap();
        assert_eq!(
            sending_window(&paris, Country::FR, early),
            Err(Utc.with_ymd_and_hms(2026, 10, 25, 8, 0, 0).unwrap()),
            "on the fall-back day, 9:00 in Paris is 08:00 UTC"
        );
        // Toronto in winter is UTC−5: 19:30 local is 00:30 UTC the next day.
        let toronto = settings("America/Toronto");
        let evening = Utc.with_ymd_and_hms(2026, 12, 2, 0, 15, 0).unwrap();
        assert_eq!(sending_window(&toronto, Country::CA, evening), Ok(()), "19:15 in Toronto is within the hours");
        let late = Utc.with_ymd_and_hms(2026, 12, 2, 0, 31, 0).unwrap();
        assert_eq!(
            sending_window(&toronto, Country::CA, late),
            Err(Utc.with_ymd_and_hms(2026, 12, 2, 14, 0, 0).unwrap()),
            "after 19:30 in Toronto, the next window opens at 9:00 local (14:00 UTC)"
        );
    }

    #[test]
    fn quiet_sundays_and_holidays_move_the_window_when_asked() {
        let mut s = settings("Europe/Paris");
        let sunday = Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap();
        assert_eq!(sending_window(&s, Country::FR, sunday), Ok(()), "Sundays are allowed by default");
        s.quiet_sundays = true;
        assert_eq!(
            sending_window(&s, Country::FR, sunday),
            Err(Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap()),
            "with quiet Sundays, Monday 9:00 is next"
        );
        s.quiet_holidays = true;
        let christmas = Utc.with_ymd_and_hms(2026, 12, 25, 10, 0, 0).unwrap();
        assert_eq!(
            sending_window(&s, Country::FR, christmas),
            Err(Utc.with_ymd_and_hms(2026, 12, 26, 8, 0, 0).unwrap()),
            "25 December is a holiday: the 26th is next"
        );
        let fete = Utc.with_ymd_and_hms(2026, 6, 24, 15, 0, 0).unwrap();
        assert!(sending_window(&s, Country::CA, fete).is_err(), "24 June is quiet in Québec");
        assert!(sending_window(&s, Country::FR, fete).is_ok(), "24 June is an ordinary day in France");
    }

    #[test]
    fn a_local_time_in_the_spring_gap_is_moved_past_it() {
        let tz = zone("Europe/Paris");
        let t = at_local(tz, ymd(2026, 3, 29), NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap(), "02:30 does not exist: 03:30 local");
        assert_eq!(zone("Not/AZone"), chrono_tz::Europe::Paris, "an unknown zone falls back to Paris");
    }
}
