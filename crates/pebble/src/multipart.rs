//! `multipart/form-data` encoding (file push) and decoding (file pull), as pure functions.

use std::hash::{BuildHasher, Hasher};

/// One decoded part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part<'a> {
    /// The `name` parameter of `Content-Disposition`.
    pub name: String,
    /// The `filename` parameter, if any.
    pub filename: Option<String>,
    /// The part's raw bytes.
    pub body: &'a [u8],
}

/// A fresh 48-character boundary. Pebble refuses boundaries shorter than 32 characters.
pub(crate) fn new_boundary() -> String {
    let state = std::collections::hash_map::RandomState::new();
    let mut boundary = String::with_capacity(48);
    for round in 0..3u64 {
        let mut hasher = state.build_hasher();
        hasher.write_u64(round);
        boundary.push_str(&format!("{:016x}", hasher.finish()));
    }
    boundary
}

/// A boundary that does not occur in `content` (so the encoding is unambiguous).
pub(crate) fn boundary_for(content: &[u8]) -> String {
    loop {
        let boundary = new_boundary();
        if find(content, boundary.as_bytes(), 0).is_none() {
            return boundary;
        }
    }
}

/// Quotes a `Content-Disposition` parameter value the way Go's `mime/multipart` does.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The body of a file push: a `request` part with the JSON metadata, then one `files` part
/// whose filename is the target path.
pub(crate) fn encode_push(boundary: &str, metadata: &[u8], path: &str, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + metadata.len() + 4 * boundary.len() + 256);
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    out.extend_from_slice(b"Content-Type: application/json\r\n");
    out.extend_from_slice(b"Content-Disposition: form-data; name=\"request\"\r\n\r\n");
    out.extend_from_slice(metadata);
    out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
    out.extend_from_slice(b"Content-Type: application/octet-stream\r\n");
    out.extend_from_slice(
        format!(
            "Content-Disposition: form-data; name=\"files\"; filename=\"{}\"\r\n\r\n",
            quote(path)
        )
        .as_bytes(),
    );
    out.extend_from_slice(content);
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(crate) fn boundary_from_content_type(content_type: &str) -> Option<String> {
    let (essence, params) = content_type.split_once(';')?;
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parameters(params)
        .into_iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value)
        .filter(|b| !b.is_empty())
}

/// Splits a multipart body into its parts.
pub(crate) fn decode<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    // The first delimiter starts the body or follows the preamble's line break.
    let mut pos = if body.starts_with(delimiter) {
        delimiter.len()
    } else {
        let crlf_delimiter = [b"\r\n", delimiter].concat();
        find(body, &crlf_delimiter, 0).ok_or("no multipart boundary found")? + crlf_delimiter.len()
    };
    let next_delimiter = [b"\r\n", delimiter].concat();
    let mut parts = Vec::new();
    loop {
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding after the delimiter, then the line break.
        let line_end = find(body, b"\r\n", pos).ok_or("truncated multipart body")?;
        if !body[pos..line_end]
            .iter()
            .all(|b| *b == b' ' || *b == b'\t')
        {
            return Err("malformed multipart delimiter".to_owned());
        }
        let headers_start = line_end + 2;
        let (headers_end, body_start) = if body[headers_start..].starts_with(b"\r\n") {
            (headers_start, headers_start + 2)
        } else {
            let end = find(body, b"\r\n\r\n", headers_start).ok_or("truncated part headers")?;
            (end, end + 4)
        };
        let headers = std::str::from_utf8(&body[headers_start..headers_end])
            .map_err(|_| "part headers are not UTF-8")?;
        let body_end = find(body, &next_delimiter, body_start).ok_or("unterminated part")?;
        let (name, filename) = disposition(headers)?;
        parts.push(Part {
            name,
            filename,
            body: &body[body_start..body_end],
        });
        pos = body_end + next_delimiter.len();
    }
}

/// `name` and `filename` from a part's `Content-Disposition` header.
fn disposition(headers: &str) -> Result<(String, Option<String>), String> {
    let value = headers
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("content-disposition"))
        .map(|(_, value)| value)
        .ok_or("part without Content-Disposition")?;
    let (_, params) = value.split_once(';').ok_or("part without a name")?;
    let params = parameters(params);
    let get = |wanted: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.clone())
    };
    let name = get("name").ok_or("part without a name")?;
    Ok((name, get("filename")))
}

/// Parses `; key=value; key="quoted \"value\""` parameter lists.
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ';' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ';' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => value.extend(chars.next()),
                        other => value.push(other),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ';' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((key.trim().to_owned(), value.trim_end().to_owned()));
    }
}

/// Position of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDARY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn push_body_exact_bytes() {
        let body = encode_push(
            BOUNDARY,
            br#"{"action":"write","files":[{"path":"/etc/pg \"x\".conf"}]}"#,
            "/etc/pg \"x\".conf",
            b"line1\nline2\n",
        );
        let want = concat!(
            "--0123456789abcdef0123456789abcdef\r\n",
            "Content-Type: application/json\r\n",
            "Content-Disposition: form-data; name=\"request\"\r\n",
            "\r\n",
            "{\"action\":\"write\",\"files\":[{\"path\":\"/etc/pg \\\"x\\\".conf\"}]}\r\n",
            "--0123456789abcdef0123456789abcdef\r\n",
            "Content-Type: application/octet-stream\r\n",
            "Content-Disposition: form-data; name=\"files\"; filename=\"/etc/pg \\\"x\\\".conf\"\r\n",
            "\r\n",
            "line1\nline2\n\r\n",
            "--0123456789abcdef0123456789abcdef--\r\n",
        );
        assert_eq!(String::from_utf8(body).unwrap(), want);
    }

    #[test]
    fn decode_round_trips_the_encoder() {
        let body = encode_push(BOUNDARY, b"{}", "/a\\b", b"\r\n--not-a-boundary\r\n");
        let parts = decode(&body, BOUNDARY).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "request");
        assert_eq!(parts[0].body, b"{}");
        assert_eq!(parts[1].filename.as_deref(), Some("/a\\b"));
        assert_eq!(parts[1].body, b"\r\n--not-a-boundary\r\n");
    }

    #[test]
    fn decode_handles_preamble_and_empty_headers() {
        let body = b"preamble\r\n--B\r\n\r\nno headers\r\n--B--\r\n";
        assert_eq!(
            decode(body, "B").unwrap_err(),
            "part without Content-Disposition"
        );
        let body = b"preamble\r\n--B  \r\nContent-Disposition: form-data; name=x\r\n\r\nv\r\n--B--";
        let parts = decode(body, "B").unwrap();
        assert_eq!(parts[0].name, "x");
        assert_eq!(parts[0].body, b"v");
    }

    #[test]
    fn decode_errors() {
        assert!(decode(b"nothing here", "B").is_err());
        assert!(
            decode(
                b"--B\r\nContent-Disposition: form-data; name=x\r\n\r\nunterminated",
                "B"
            )
            .is_err()
        );
    }

    #[test]
    fn boundary_parameter() {
        assert_eq!(
            boundary_from_content_type("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary_from_content_type("Multipart/Form-Data; charset=x; boundary=\"a b;c\"")
                .as_deref(),
            Some("a b;c")
        );
        assert_eq!(boundary_from_content_type("application/json"), None);
        assert_eq!(boundary_from_content_type("multipart/form-data"), None);
    }

    #[test]
    fn boundaries_are_long_and_avoid_the_content() {
        let a = new_boundary();
        assert_eq!(a.len(), 48);
        assert_ne!(a, new_boundary());
        let content = a.clone().into_bytes();
        assert_ne!(boundary_for(&content), a);
    }
}
