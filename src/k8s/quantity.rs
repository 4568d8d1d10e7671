//! Kubernetes resource quantities (`3920m`, `16264940Ki`, `2Gi`, `1.5`) as numbers, and the
//! resources available to PostgreSQL: the node's allocatable CPU and memory, reduced to the
//! container's limits when those are lower (reference §2.2 "Available resources").

use std::collections::BTreeMap;

use super::{Error, Result};

/// CPU and memory available to PostgreSQL, the input of the production memory tuning and of
/// `max_connections` (reference §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// Whole CPU cores, rounded down (`3920m` is 3, as the reference charm computes it).
    pub cpu_cores: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
}

/// The resources available to a container: the node's `allocatable` `cpu` and `memory`, each
/// reduced to the container's limit when it has a lower one.
///
/// # Errors
/// [`Error::Quantity`] when the node lacks `cpu` or `memory` or a quantity does not parse.
pub fn available_resources(
    allocatable: &BTreeMap<String, String>,
    limits: &BTreeMap<String, String>,
) -> Result<Resources> {
    let pick = |name: &str, parse: fn(&str) -> Result<u64>| -> Result<u64> {
        let node = allocatable.get(name).ok_or_else(|| Error::Quantity {
            value: String::new(),
            reason: format!("the node has no allocatable {name}"),
        })?;
        let node = parse(node)?;
        match limits.get(name) {
            Some(limit) => Ok(node.min(parse(limit)?)),
            None => Ok(node),
        }
    };
    Ok(Resources {
        cpu_cores: pick("cpu", parse_cpu_cores)?,
        memory_bytes: pick("memory", parse_memory_bytes)?,
    })
}

/// A CPU quantity in whole cores, rounded down: `4` → 4, `3920m` → 3, `500m` → 0, `1.5` → 1.
///
/// # Errors
/// [`Error::Quantity`] for anything that is not a non-negative Kubernetes quantity.
pub fn parse_cpu_cores(value: &str) -> Result<u64> {
    parse_quantity(value)
}

/// A memory quantity in bytes, rounded down. Binary suffixes `Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`
/// (powers of 1024), decimal `k`/`K`, `M`, `G`, `T`, `P`, `E` (powers of 1000), exponents
/// (`1e9`), fractions (`1.5Gi`), and plain bytes.
///
/// # Errors
/// [`Error::Quantity`] for anything that is not a non-negative Kubernetes quantity, or one too
/// large for 64 bits.
pub fn parse_memory_bytes(value: &str) -> Result<u64> {
    parse_quantity(value)
}

/// Parses `<digits>[.<digits>]<suffix>` exactly, in integers, and rounds down.
fn parse_quantity(value: &str) -> Result<u64> {
    let invalid = |reason: &str| Error::Quantity {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let text = value.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(invalid("expected a non-negative number"));
    }
    if fraction.contains('.') {
        return Err(invalid("more than one decimal point"));
    }
    if whole.len() + fraction.len() > 30 {
        return Err(invalid("too many digits"));
    }
    let (multiplier, divisor) = suffix_factor(suffix).ok_or_else(|| {
        invalid("unknown suffix (expected m, k, K, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or eN)")
    })?;
    let digits = |s: &str| -> u128 { s.parse().unwrap_or(0) };
    // At most 30 digits: the mantissa and 10^fraction digits fit in u128.
    let scale = 10u128.pow(u32::try_from(fraction.len()).unwrap_or(30));
    let mantissa = digits(whole) * scale + digits(fraction);
    let scaled = mantissa
        .checked_mul(multiplier)
        .ok_or_else(|| invalid("too large"))?;
    u64::try_from(scaled / (divisor * scale)).map_err(|_| invalid("too large"))
}

/// `(multiplier, divisor)` of a quantity suffix.
fn suffix_factor(suffix: &str) -> Option<(u128, u128)> {
    let decimal = |exponent: u32| 10u128.checked_pow(exponent).map(|m| (m, 1));
    let binary = |shift: u32| Some((1u128 << shift, 1));
    match suffix {
        "" => Some((1, 1)),
        "m" => Some((1, 1000)),
        "k" | "K" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?.trim_start_matches('+');
            if exponent.is_empty() || exponent.len() > 2 {
                return None;
            }
            decimal(exponent.parse().ok()?)
        }
    }
}
