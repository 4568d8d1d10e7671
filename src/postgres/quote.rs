//! The one place SQL identifiers and literals are escaped. Values go as bound parameters wherever
//! PostgreSQL takes them; these functions are for the places it does not (role, database and
//! extension names; the verifier in `ALTER ROLE … PASSWORD`).

/// The longest identifier PostgreSQL keeps (`NAMEDATALEN - 1` bytes); longer ones are silently
/// truncated by the server, so two different names could become the same role.
pub const MAX_IDENT_LEN: usize = 63;

/// Why a name or a value cannot be put into SQL text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    /// The identifier is empty.
    #[error("an SQL identifier may not be empty")]
    EmptyIdent,
    /// The identifier is longer than [`MAX_IDENT_LEN`] bytes.
    #[error("the SQL identifier {0:?} is longer than 63 bytes")]
    IdentTooLong(String),
    /// The identifier contains a NUL character.
    #[error("the SQL identifier {0:?} contains a NUL character")]
    NulInIdent(String),
    /// The literal contains a backslash or a NUL character. The value itself is not repeated in
    /// the message: literals may be secrets.
    #[error("a value for an SQL literal contains a backslash or a NUL character")]
    UnsafeLiteral,
}

/// `name` as a quoted identifier: wrapped in double quotes, inner double quotes doubled. Always
/// quoted, so keywords, capitals and punctuation (`uuid-ossp`) are safe. Check names with
/// [`check_ident`] first.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Accept `name` as an identifier: non-empty, at most [`MAX_IDENT_LEN`] bytes, no NUL.
pub fn check_ident(name: &str) -> Result<(), QuoteError> {
    if name.is_empty() {
        Err(QuoteError::EmptyIdent)
    } else if name.contains('\0') {
        Err(QuoteError::NulInIdent(name.to_owned()))
    } else if name.len() > MAX_IDENT_LEN {
        Err(QuoteError::IdentTooLong(name.to_owned()))
    } else {
        Ok(())
    }
}

/// `value` as a standard string literal: wrapped in single quotes, inner single quotes doubled.
/// Backslashes and NUL are refused rather than escaped, so the result means the same whatever
/// `standard_conforming_strings` is.
pub fn quote_literal(value: &str) -> Result<String, QuoteError> {
    if value.contains(['\\', '\0']) {
        return Err(QuoteError::UnsafeLiteral);
    }
    Ok(format!("'{}'", value.replace('\'', "''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted() {
        let cases = [
            ("operator", "\"operator\""),
            ("User", "\"User\""),
            ("uuid-ossp", "\"uuid-ossp\""),
            ("select", "\"select\""),
            ("a\"b", "\"a\"\"b\""),
            ("\"; DROP ROLE x; --", "\"\"\"; DROP ROLE x; --\""),
            ("it's", "\"it's\""),
            ("ünï", "\"ünï\""),
        ];
        for (name, quoted) in cases {
            assert_eq!(quote_ident(name), quoted);
            assert_eq!(check_ident(name), Ok(()));
        }
    }

    #[test]
    fn bad_identifiers_are_refused() {
        assert_eq!(check_ident(""), Err(QuoteError::EmptyIdent));
        assert!(matches!(
            check_ident("a\0b"),
            Err(QuoteError::NulInIdent(_))
        ));
        assert_eq!(check_ident(&"x".repeat(63)), Ok(()));
        assert!(matches!(
            check_ident(&"x".repeat(64)),
            Err(QuoteError::IdentTooLong(_))
        ));
        // 63 bytes, not 63 characters.
        assert!(check_ident(&"é".repeat(32)).is_err());
    }

    #[test]
    fn literals_double_quotes_and_refuse_backslashes() {
        assert_eq!(quote_literal("abc").unwrap(), "'abc'");
        assert_eq!(quote_literal("").unwrap(), "''");
        assert_eq!(quote_literal("it's").unwrap(), "'it''s'");
        assert_eq!(
            quote_literal("'; DROP ROLE x; --").unwrap(),
            "'''; DROP ROLE x; --'"
        );
        assert_eq!(quote_literal("$$x$$").unwrap(), "'$$x$$'");
        for bad in ["a\\b", "\\'", "a\0", "E'\\x27'"] {
            assert_eq!(quote_literal(bad), Err(QuoteError::UnsafeLiteral));
            assert!(!QuoteError::UnsafeLiteral.to_string().contains(bad));
        }
        let verifier = crate::postgres::scram_verifier("p'w\\\"", &[0xff; 16], 4096);
        assert_eq!(
            quote_literal(&verifier).unwrap(),
            format!("'{verifier}'"),
            "a verifier needs no escaping"
        );
    }
}
