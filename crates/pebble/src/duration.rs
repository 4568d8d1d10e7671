//! Go duration strings (`"1m30s"`, `"500ms"`), the form Pebble reads and prints.

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{00b5}s" | "\u{03bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3_600 * NANOS_PER_SEC,
        _ => return None,
    })
}

/// Parses a Go duration string (`time.ParseDuration` syntax: `"1h2m3.5s"`, `"500ms"`, `"0"`).
///
/// Negative durations are refused: nothing in a Pebble layer means anything with them.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {text:?}");
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.starts_with('-') {
        return Err(invalid());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (frac_part, after_number) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_number
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after_number.len());
        if unit_len == 0 {
            return Err(invalid());
        }
        let (unit, after_unit) = after_number.split_at(unit_len);
        let unit = unit_nanos(unit).ok_or_else(invalid)?;
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut value = whole.checked_mul(unit).ok_or_else(invalid)?;
        // Fractional digits beyond nanosecond precision cannot change the result.
        let frac_digits = &frac_part[..frac_part.len().min(18)];
        if !frac_digits.is_empty() {
            let numerator: u128 = frac_digits.parse().map_err(|_| invalid())?;
            let scale = 10u128.pow(frac_digits.len() as u32);
            value += numerator * unit / scale;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i64::MAX as u128 {
            return Err(invalid());
        }
        rest = after_unit;
    }
    let secs = (total / NANOS_PER_SEC) as u64;
    let nanos = (total % NANOS_PER_SEC) as u32;
    Ok(Duration::new(secs, nanos))
}

/// Formats a duration the way Go's `time.Duration.String` does (`"1m0s"`, `"1.5s"`, `"500ms"`),
/// which is how Pebble prints durations in a plan.
pub fn format_go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos().min(i64::MAX as u128) as u64;
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000_000_000 {
        return if nanos < 1_000 {
            format!("{nanos}ns")
        } else if nanos < 1_000_000 {
            format!("{}\u{00b5}s", with_fraction(nanos, 3))
        } else {
            format!("{}ms", with_fraction(nanos, 6))
        };
    }
    let seconds_text = with_fraction(nanos % 60_000_000_000, 9);
    let minutes = nanos / 60_000_000_000;
    if minutes == 0 {
        return format!("{seconds_text}s");
    }
    let hours = minutes / 60;
    if hours == 0 {
        format!("{minutes}m{seconds_text}s")
    } else {
        format!("{hours}h{}m{seconds_text}s", minutes % 60)
    }
}

/// `value / 10^precision` with the fraction printed without trailing zeros (Go's `fmtFrac`).
fn with_fraction(value: u64, precision: u32) -> String {
    let scale = 10u64.pow(precision);
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:0width$}", width = precision as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Seconds with millisecond precision (`"30.000s"`), the form ops sends in requests.
pub(crate) fn format_seconds(duration: Duration) -> String {
    format!("{}.{:03}s", duration.as_secs(), duration.subsec_millis())
}

/// Rewrites a Go duration string in Go's canonical form (`"60s"` -> `"1m0s"`), or returns it
/// unchanged when it does not parse (validation reports that separately).
pub(crate) fn canonical_go_duration(text: &str) -> String {
    parse_go_duration(text)
        .map(format_go_duration)
        .unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_syntax() {
        let cases = [
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("1s", Duration::from_secs(1)),
            ("+5s", Duration::from_secs(5)),
            ("1.5s", Duration::from_millis(1500)),
            ("30.000s", Duration::from_secs(30)),
            (".5s", Duration::from_millis(500)),
            ("1.s", Duration::from_secs(1)),
            ("500ms", Duration::from_millis(500)),
            ("10us", Duration::from_micros(10)),
            ("10\u{00b5}s", Duration::from_micros(10)),
            ("10\u{03bc}s", Duration::from_micros(10)),
            ("7ns", Duration::from_nanos(7)),
            ("1h2m3s", Duration::from_secs(3723)),
            ("1m0s", Duration::from_secs(60)),
            ("1.5h", Duration::from_secs(5400)),
            ("1h1h", Duration::from_secs(7200)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_go_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_bad_syntax() {
        for text in [
            "",
            "s",
            "1",
            "1x",
            "-1s",
            ".s",
            "1.2.3s",
            "abc",
            "5 s",
            "9999999999999h",
        ] {
            assert_eq!(
                parse_go_duration(text),
                Err(format!("invalid duration {text:?}")),
                "{text:?}"
            );
        }
    }

    #[test]
    fn formats_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(7), "7ns"),
            (Duration::from_micros(10), "10\u{00b5}s"),
            (Duration::from_nanos(1_500), "1.5\u{00b5}s"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_micros(1_500), "1.5ms"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(3723), "1h2m3s"),
            (Duration::new(61, 1), "1m1.000000001s"),
        ];
        for (duration, want) in cases {
            assert_eq!(format_go_duration(duration), want, "{duration:?}");
        }
    }

    #[test]
    fn canonical_form_and_request_form() {
        assert_eq!(canonical_go_duration("60s"), "1m0s");
        assert_eq!(canonical_go_duration("1000ms"), "1s");
        assert_eq!(canonical_go_duration("nonsense"), "nonsense");
        assert_eq!(format_seconds(Duration::from_millis(4000)), "4.000s");
        assert_eq!(format_seconds(Duration::from_millis(1234)), "1.234s");
    }
}
