//! Secret ids, URIs, content arguments and the time values of `secret-add`/`secret-set`
//! (juju `core/secrets` and `jujuc/secret-add.go`).

use std::time::{SystemTime, UNIX_EPOCH};

use super::format::go_quote;
use crate::state::{ModelState, rfc3339};

const XID_ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// A new secret id as Juju makes them: an `xid` (12 bytes: time, machine, pid, counter) in 20
/// characters of lowercase base32hex (`[0-9a-v]`). The counter comes from the model's serial, so
/// ids are unique within the model.
pub fn new_secret_id(state: &mut ModelState) -> String {
    loop {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0) as u32;
        let machine = state.uuid.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ b as u32).wrapping_mul(0x0100_0193)
        });
        let counter = state.serial();
        let mut raw = [0u8; 12];
        raw[0..4].copy_from_slice(&secs.to_be_bytes());
        raw[4..7].copy_from_slice(&machine.to_be_bytes()[1..]);
        raw[7..9]
            .copy_from_slice(&((std::process::id() as u64 ^ (counter >> 24)) as u16).to_be_bytes());
        raw[9..12].copy_from_slice(&(counter as u32).to_be_bytes()[1..]);
        let id = base32hex(&raw);
        if !state.secrets.contains_key(&id) {
            return id;
        }
    }
}

fn base32hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | *b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(XID_ALPHABET[((acc >> bits) & 0x1f) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(XID_ALPHABET[((acc << (5 - bits)) & 0x1f) as usize] as char);
    }
    out
}

/// The id (xid) in a secret URI: `secret:<id>`, `secret://<model-uuid>/<id>` or a bare `<id>`
/// (`coresecrets.ParseURI`). The error is Juju's `secret URI "<s>" not valid`.
pub(crate) fn parse_secret_uri(s: &str) -> Result<String, String> {
    let invalid = || format!("secret URI {} not valid", go_quote(s));
    let rest = match s.split_once(':') {
        Some(("secret", rest)) => rest,
        Some((scheme, _)) => {
            return Err(format!("secret URI scheme {} not valid", go_quote(scheme)));
        }
        None => s,
    };
    let id = match rest.strip_prefix("//") {
        Some(hosted) => match hosted.split_once('/') {
            Some((uuid, id)) if !uuid.is_empty() => id,
            _ => return Err(invalid()),
        },
        None => rest,
    };
    let valid = id.len() == 20
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    if valid {
        Ok(id.to_string())
    } else {
        Err(invalid())
    }
}

/// A content key: `^([a-z](?:-?[a-z0-9]){2,})$`.
pub(crate) fn valid_content_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !key.ends_with('-')
        && !key.contains("--")
}

/// `secrets.CreateSecretData`: `key=value`, `key#base64=<b64>`, `key#file=<path>` (read now,
/// relative to `cwd`). Keys are checked; later keys override earlier ones. Values come back
/// decoded (non-UTF-8 bytes are replaced).
pub(crate) fn create_secret_data(
    args: &[String],
    call: &super::ToolCall,
) -> Result<Vec<(String, String)>, String> {
    let cwd = call.cwd.as_path();
    let mut data: Vec<(String, String)> = Vec::new();
    for val in args {
        // Juju strips base64 padding before looking for the `=`, so `key=` is not a pair.
        let stripped = val.trim_end_matches('=');
        let idx = match stripped.find('=') {
            Some(i) if i >= 1 => i,
            _ => return Err(format!("key value {} not valid", go_quote(val))),
        };
        let (mut key, value) = (val[..idx].to_string(), val[idx + 1..].to_string());
        let plain = if let Some(k) = key.strip_suffix("#base64") {
            key = k.to_string();
            decode_b64(&value)?
        } else if let Some(k) = key.strip_suffix("#file") {
            key = k.to_string();
            let path = cwd.join(&value);
            let bytes = call.read_file(&path).map_err(|e| {
                format!(
                    "reading content for secret key {}: {}",
                    go_quote(&key),
                    super::flags::go_io_error("open", &path, &e)
                )
            })?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            value
        };
        put(&mut data, key, plain);
    }
    check_keys(&data)?;
    Ok(data)
}

/// `secrets.ReadSecretData`: a YAML file of `key: value` (keys may end in `#base64`).
pub(crate) fn read_secret_file(
    call: &super::ToolCall,
    path: &std::path::Path,
) -> Result<Vec<(String, String)>, String> {
    let bytes = call
        .read_file(path)
        .map_err(|e| super::flags::go_io_error("open", path, &e))?;
    let pairs = super::relation::yaml_string_map(&bytes)?;
    let mut data = Vec::new();
    for (k, v) in pairs {
        match k.strip_suffix("#base64") {
            Some(k) => put(&mut data, k.to_string(), decode_b64(&v)?),
            None => put(&mut data, k, v),
        }
    }
    check_keys(&data)?;
    Ok(data)
}

fn put(data: &mut Vec<(String, String)>, key: String, value: String) {
    data.retain(|(k, _)| *k != key);
    data.push((key, value));
}

fn check_keys(data: &[(String, String)]) -> Result<(), String> {
    match data.iter().find(|(k, _)| !valid_content_key(k)) {
        Some((k, _)) => Err(format!("key {} not valid", go_quote(k))),
        None => Ok(()),
    }
}

/// Standard base64 (padding optional), as Go's `base64.StdEncoding` reads it.
pub(crate) fn decode_b64(s: &str) -> Result<String, String> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    let body = s.trim_end_matches('=');
    for (i, c) in body.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("illegal base64 data at input byte {i}")),
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if body.len() % 4 == 1 {
        return Err(format!("illegal base64 data at input byte {}", body.len()));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Standard base64 with padding.
pub(crate) fn encode_b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The rotate policies Juju accepts.
pub(crate) const ROTATE_POLICIES: [&str; 7] = [
    "never",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "quarterly",
    "yearly",
];

/// `--expire`: RFC 3339, `2006-01-02T15:04:05` (UTC), or a positive Go duration from now.
/// Returns RFC 3339 UTC; the error is Juju's `expire time or duration "x" not valid`.
pub(crate) fn parse_expire(spec: &str) -> Result<String, String> {
    if let Some(secs) = parse_rfc3339(spec) {
        return Ok(rfc3339(secs));
    }
    match parse_go_duration(spec) {
        Some(nanos) if nanos <= 0 => Err(format!(
            "negative expire duration {} not valid",
            go_quote(spec)
        )),
        Some(nanos) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as i128)
                .unwrap_or(0);
            Ok(rfc3339(((now + nanos) / 1_000_000_000) as u64))
        }
        None => Err(format!(
            "expire time or duration {} not valid",
            go_quote(spec)
        )),
    }
}

/// Seconds since the epoch of an RFC 3339 time (fraction dropped) or a zone-less one (UTC).
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let zoned = if s.len() >= 19 && s[19..].is_empty() {
        format!("{s}Z")
    } else {
        s.to_string()
    };
    crate::time::parse_rfc3339(&zoned)?
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// Go's `time.ParseDuration` in nanoseconds.
pub(crate) fn parse_go_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        let num = &rest[..num_len];
        if num.is_empty() || num == "." {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale: f64 = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    let nanos = total as i128;
    Some(if neg { -nanos } else { nanos })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_uris() {
        let mut state = ModelState {
            uuid: "u".into(),
            ..ModelState::default()
        };
        let id = new_secret_id(&mut state);
        assert_eq!(id.len(), 20);
        assert!(id.bytes().all(|b| XID_ALPHABET.contains(&b)));
        assert_ne!(id, new_secret_id(&mut state));
        assert_eq!(
            parse_secret_uri(&format!("secret://uuid/{id}")),
            Ok(id.clone())
        );
        assert_eq!(parse_secret_uri(&format!("secret:{id}")), Ok(id.clone()));
        assert_eq!(parse_secret_uri(&id), Ok(id));
        assert_eq!(
            parse_secret_uri("abc"),
            Err("secret URI \"abc\" not valid".into())
        );
    }

    #[test]
    fn content_and_times() {
        let call = super::super::ToolCall {
            context: String::new(),
            tool: "secret-add".into(),
            args: Vec::new(),
            stdin: Vec::new(),
            cwd: "/".into(),
            files: [("/sent/by/client".to_string(), b"from-client".to_vec())].into(),
        };
        let cwd = &call;
        assert_eq!(
            create_secret_data(&["tok#file=/sent/by/client".to_string()], cwd),
            Ok(vec![("tok".into(), "from-client".into())])
        );
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            create_secret_data(&args(&["pass=a=b", "tok#base64=aGk="]), cwd),
            Ok(vec![
                ("pass".into(), "a=b".into()),
                ("tok".into(), "hi".into())
            ])
        );
        assert_eq!(
            create_secret_data(&args(&["key="]), cwd),
            Err("key value \"key=\" not valid".into())
        );
        assert_eq!(
            create_secret_data(&args(&["Ab=1"]), cwd),
            Err("key \"Ab\" not valid".into())
        );
        assert_eq!(encode_b64(b"hi"), "aGk=");
        assert_eq!(
            parse_expire("2025-01-01T06:06:06"),
            Ok("2025-01-01T06:06:06Z".into())
        );
        assert_eq!(
            parse_expire("2025-01-01T06:06:06+01:00"),
            Ok("2025-01-01T05:06:06Z".into())
        );
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000_000_000));
        assert!(parse_expire("soon").is_err());
        assert!(parse_expire("-1h").unwrap_err().starts_with("negative"));
    }
}
