//! PEM (RFC 7468) in and out: split text into labelled blocks, and write DER back as PEM with
//! 64-character lines. Also the base64 both directions need.
//!
//! Own code rather than `rustls_pki_types::pem` because the key parser must see what that reader
//! skips silently: the label of every block (to say "this is a certificate, not a private key"),
//! blocks it does not know (`ENCRYPTED PRIVATE KEY`, `EC PARAMETERS`) and the RFC 1421 headers
//! (`Proc-Type: 4,ENCRYPTED`) of legacy encrypted keys. Decoding is lenient (whitespace anywhere,
//! missing padding) and wipes what it decoded; encoding is the crate's `base64`.

use crate::base64::ALPHABET;

/// Bytes overwritten with zeros when dropped: decoded private-key material. Best effort (no
/// `unsafe`, no volatile write): `black_box` keeps the compiler from proving the zeros unused.
pub(crate) struct Wiped(pub(crate) Vec<u8>);

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

impl std::ops::Deref for Wiped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// One `-----BEGIN <label>-----` … `-----END <label>-----` block.
pub(crate) struct Block {
    /// The label, e.g. `PRIVATE KEY`. Input text: match it, never print it.
    pub(crate) label: String,
    /// The block had RFC 1421 headers marking it encrypted (`Proc-Type: 4,ENCRYPTED`).
    pub(crate) encrypted: bool,
    /// The decoded body (wiped on drop: it may be a private key).
    pub(crate) der: Wiped,
}

/// The text is not well-formed PEM. Carries no data, so no input can leak through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PemError;

/// Every PEM block in `text`, in order. Text outside blocks (comments, `openssl -text` output,
/// `Bag Attributes`) is ignored; CRLF line ends and spaces around lines are tolerated. A block
/// that does not end, ends with another label, or whose body is not base64 is an error.
pub(crate) fn parse_blocks(text: &str) -> Result<Vec<Block>, PemError> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, bool, Wiped)> = None; // label, encrypted, base64 body
    for line in text.lines().map(str::trim) {
        match open.take() {
            None => {
                if let Some(label) = marker(line, "BEGIN") {
                    open = Some((label.to_string(), false, Wiped(Vec::new())));
                }
            }
            Some((label, mut encrypted, mut body)) => {
                if let Some(end) = marker(line, "END") {
                    if end != label {
                        return Err(PemError);
                    }
                    let der = decode(&body).ok_or(PemError)?;
                    blocks.push(Block {
                        label,
                        encrypted,
                        der,
                    });
                    continue;
                }
                if marker(line, "BEGIN").is_some() {
                    return Err(PemError);
                }
                if let Some((name, value)) = line.split_once(':') {
                    // RFC 1421 header such as `Proc-Type: 4,ENCRYPTED` or `DEK-Info: …`.
                    if name.trim().eq_ignore_ascii_case("Proc-Type")
                        && value.to_ascii_uppercase().contains("ENCRYPTED")
                    {
                        encrypted = true;
                    }
                } else {
                    body.0.extend_from_slice(line.as_bytes());
                }
                open = Some((label, encrypted, body));
            }
        }
    }
    match open {
        Some(_) => Err(PemError),
        None => Ok(blocks),
    }
}

/// The label of a `-----BEGIN <label>-----` (or END) line.
fn marker<'a>(line: &'a str, which: &str) -> Option<&'a str> {
    line.strip_prefix("-----")?
        .strip_prefix(which)?
        .strip_prefix(' ')?
        .strip_suffix("-----")
}

/// `der` as PEM with `label`: 64-character base64 lines, `\n` line ends, trailing newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = encode_base64(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.extend(chunk.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    drop(Wiped(body.into_bytes())); // the base64 of a private key is as secret as the key
    out
}

/// Standard padded base64 of `data`.
pub(crate) fn encode_base64(data: &[u8]) -> String {
    crate::base64::encode(data)
}

/// Decode standard base64, ignoring ASCII whitespace anywhere and accepting missing padding.
/// `None` for any other character, padding in the middle, or a length no encoder produces.
pub(crate) fn decode(text: &[u8]) -> Option<Wiped> {
    let mut out = Wiped(Vec::with_capacity(text.len() / 4 * 3));
    let mut acc = 0u32;
    let mut count = 0usize; // sextets in the current quantum
    let mut padding = 0usize;
    for &c in text.iter().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return None; // data after padding
        }
        let sextet = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = acc << 6 | sextet;
        count += 1;
        if count == 4 {
            out.0.extend_from_slice(&acc.to_be_bytes()[1..]);
            acc = 0;
            count = 0;
        }
    }
    match (count, padding) {
        (0, 0) => {}
        (2, 0 | 2) => out.0.push((acc >> 4) as u8),
        (3, 0 | 1) => out.0.extend_from_slice(&((acc >> 2) as u16).to_be_bytes()),
        _ => return None,
    }
    Some(out)
}

/// PEM text in a canonical form for comparison: every line trimmed, CRLF line ends as LF, no
/// leading or trailing blank lines. Providers re-serialise the PEM we send them.
pub(crate) fn normalise_text(text: &str) -> String {
    text.trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_tail_length() {
        for len in 0..70usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = encode_base64(&data);
            assert_eq!(text.len() % 4, 0);
            assert_eq!(decode(text.as_bytes()).as_deref(), Some(&data[..]), "{len}");
            let unpadded = text.trim_end_matches('=');
            assert_eq!(decode(unpadded.as_bytes()).as_deref(), Some(&data[..]));
        }
        assert_eq!(encode_base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode_base64(b"fo"), "Zm8=");
        assert_eq!(decode(b" Zm9v\nYmE=\r\n").as_deref(), Some(&b"fooba"[..]));
    }

    #[test]
    fn base64_refuses_bad_input() {
        for bad in [
            "Zm9v!",
            "Zm=9v",
            "Z",
            "Zm9vY",
            "Zm9vYmE==",
            "Zm8===",
            "-_-_",
        ] {
            assert!(decode(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    #[test]
    fn splits_blocks_and_ignores_text_around_them() {
        let text = "Bag Attributes\r\n-----BEGIN A-----\r\nZm9v\r\n-----END A-----\r\n\
                    junk\n  -----BEGIN B C-----  \nZm9v\nYmFy\n-----END B C-----\n";
        let blocks = parse_blocks(text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "A");
        assert_eq!(&*blocks[0].der, b"foo");
        assert_eq!(blocks[1].label, "B C");
        assert_eq!(&*blocks[1].der, b"foobar");
        assert!(!blocks[1].encrypted);
        assert!(parse_blocks("no pem here").unwrap().is_empty());
    }

    #[test]
    fn notices_legacy_encryption_headers() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                    DEK-Info: AES-256-CBC,00\n\nZm9v\n-----END RSA PRIVATE KEY-----\n";
        assert!(parse_blocks(text).unwrap()[0].encrypted);
    }

    #[test]
    fn refuses_broken_blocks() {
        for bad in [
            "-----BEGIN A-----\nZm9v\n",
            "-----BEGIN A-----\nZm9v\n-----END B-----\n",
            "-----BEGIN A-----\n-----BEGIN A-----\nZm9v\n-----END A-----\n",
            "-----BEGIN A-----\nZm9v!\n-----END A-----\n",
        ] {
            assert!(parse_blocks(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn encodes_64_character_lines_that_parse_back() {
        let der: Vec<u8> = (0..100u8).collect();
        let pem = encode("CERTIFICATE", &der);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
        assert!(pem.ends_with("-----\n"));
        assert_eq!(&*parse_blocks(&pem).unwrap()[0].der, &der[..]);
    }

    #[test]
    fn normalises_line_ends_and_spaces() {
        assert_eq!(normalise_text("  a \r\n b\t\r\nc\n\n"), "a\nb\nc");
    }
}
