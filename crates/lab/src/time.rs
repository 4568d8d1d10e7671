//! Time as Juju and Pebble print and read it: RFC 3339 in UTC, with nanoseconds in Pebble API
//! objects and whole seconds elsewhere (Go's `RFC3339Nano` and `RFC3339` layouts). One
//! implementation for the whole lab.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current wall-clock time.
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// `2025-01-07T10:11:12.123456789Z`, trailing zeros of the fraction dropped (Go `RFC3339Nano`).
pub fn rfc3339_nano(time: SystemTime) -> String {
    let (secs, nanos) = split(time);
    let mut text = format_seconds(secs);
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// `2025-01-07T10:11:12Z` (Go `RFC3339`).
pub fn rfc3339(time: SystemTime) -> String {
    let (secs, _) = split(time);
    format!("{}Z", format_seconds(secs))
}

/// Parses an RFC 3339 timestamp (`Z` or a `±hh:mm` offset, optional fraction).
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' {
        return None;
    }
    if !matches!(bytes[10], b'T' | b't') || bytes[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos: u64 = 0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let fraction = &after_dot[..digits];
        let padded = format!("{:0<9}", &fraction[..fraction.len().min(9)]);
        nanos = padded.parse().ok()?;
        rest = &after_dot[digits..];
    }
    let offset_secs: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let hours: i64 = rest[1..3].parse().ok()?;
            let minutes: i64 = rest[4..6].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos as u32))
    } else {
        let back = Duration::new(secs.unsigned_abs(), 0);
        UNIX_EPOCH
            .checked_sub(back)?
            .checked_add(Duration::from_nanos(nanos))
    }
}

fn split(time: SystemTime) -> (i64, u32) {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => (since.as_secs() as i64, since.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            let mut secs = -(before.as_secs() as i64);
            let mut nanos = before.subsec_nanos();
            if nanos > 0 {
                secs -= 1;
                nanos = 1_000_000_000 - nanos;
            }
            (secs, nanos)
        }
    }
}

fn format_seconds(secs: i64) -> String {
    juju::time::utc_date_time(secs)
}

/// A proleptic Gregorian date to days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let t = UNIX_EPOCH + Duration::new(1_736_244_672, 123_450_000);
        assert_eq!(rfc3339_nano(t), "2025-01-07T10:11:12.12345Z");
        assert_eq!(rfc3339(t), "2025-01-07T10:11:12Z");
        assert_eq!(rfc3339_nano(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn parses_what_it_prints_and_offsets() {
        let t = UNIX_EPOCH + Duration::new(1_736_244_672, 123_456_789);
        assert_eq!(parse_rfc3339(&rfc3339_nano(t)), Some(t));
        assert_eq!(
            parse_rfc3339("2025-01-07T11:11:12.123456789+01:00"),
            Some(t)
        );
        assert_eq!(parse_rfc3339("2025-01-07"), None);
        assert_eq!(parse_rfc3339("2025-13-07T11:11:12Z"), None);
    }
}
