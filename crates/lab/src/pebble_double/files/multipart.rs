//! `multipart/form-data` as the files API uses it: parsing a push body, writing a pull answer.

use super::super::random;

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The `name` of its `Content-Disposition`.
    pub name: String,
    /// The `filename`, if any.
    pub filename: Option<String>,
    /// Raw content.
    pub body: &'a [u8],
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| &haystack[i..i + needle.len()] == needle)
}

/// The parameters of a header value such as `form-data; name="files"; filename="/x"`.
pub fn parameters(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value.split_once(';').map_or("", |(_, r)| r);
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            break;
        }
        let Some(eq) = rest.find('=') else {
            break;
        };
        let key = rest[..eq].trim().to_ascii_lowercase();
        rest = &rest[eq + 1..];
        let mut value = String::new();
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    other => value.push(other),
                }
            }
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        out.push((key, value));
    }
    out
}

/// Splits `body` into parts. Errors read like Go's (`multipart: NextPart: EOF`).
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut at = find(body, delimiter, 0).ok_or("multipart: NextPart: EOF")?;
    let mut parts = Vec::new();
    loop {
        let after = at + delimiter.len();
        if body[after..].starts_with(b"--") {
            return Ok(parts);
        }
        let header_start = find(body, b"\r\n", after).ok_or("multipart: NextPart: EOF")? + 2;
        let header_end = find(body, b"\r\n\r\n", header_start - 2)
            .ok_or("multipart: NextPart: malformed MIME header")?;
        let headers = if header_end > header_start {
            String::from_utf8_lossy(&body[header_start..header_end]).into_owned()
        } else {
            String::new()
        };
        let content_start = header_end + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(delimiter);
        let next = find(body, &closing, content_start).ok_or("multipart: NextPart: EOF")?;
        let content = &body[content_start..next];
        let mut name = String::new();
        let mut filename = None;
        for line in headers.split("\r\n") {
            if let Some((key, value)) = line.split_once(':')
                && key.trim().eq_ignore_ascii_case("content-disposition")
            {
                for (param, value) in parameters(value.trim()) {
                    match param.as_str() {
                        "name" => name = value,
                        "filename" => filename = Some(value),
                        _ => {}
                    }
                }
            }
        }
        parts.push(Part {
            name,
            filename,
            body: content,
        });
        at = next + 2;
    }
}

fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Builds a pull answer: one `files` part per file, then the `response` part. Returns the
/// content type (with its boundary) and the body.
pub fn encode_read(files: &[(String, Vec<u8>)], response: &[u8]) -> (String, Vec<u8>) {
    let boundary = random::hex(60);
    let mut out = Vec::new();
    let mut first = true;
    let mut open = |out: &mut Vec<u8>| {
        if first {
            out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            first = false;
        } else {
            out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
        }
    };
    for (path, content) in files {
        open(&mut out);
        out.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"files\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                quote(path)
            )
            .as_bytes(),
        );
        out.extend_from_slice(content);
    }
    open(&mut out);
    out.extend_from_slice(
        b"Content-Disposition: form-data; name=\"response\"\r\nContent-Type: application/json\r\n\r\n",
    );
    out.extend_from_slice(response);
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (content_type, body) =
            encode_read(&[("/a \"b\"".to_owned(), b"x\r\ny".to_vec())], b"{}\n");
        let boundary = content_type.split_once("boundary=").unwrap().1;
        let parts = parse(&body, boundary).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].filename.as_deref(), Some("/a \"b\""));
        assert_eq!(parts[0].body, b"x\r\ny");
        assert_eq!(parts[1].name, "response");
        assert_eq!(parts[1].body, b"{}\n");
        assert!(parse(b"garbage", "abc").is_err());
    }

    #[test]
    fn header_parameters() {
        assert_eq!(
            parameters("form-data; name=\"files\"; filename=\"/x\\\"y\""),
            vec![
                ("name".to_owned(), "files".to_owned()),
                ("filename".to_owned(), "/x\"y".to_owned())
            ]
        );
        assert_eq!(
            parameters("multipart/form-data; boundary=abc"),
            vec![("boundary".to_owned(), "abc".to_owned())]
        );
    }
}
