//! Go's `path.Match` shell patterns: `*`, `?`, `[...]` classes (with ranges and `^`), and `\`
//! escapes. A malformed pattern is an error (`syntax error in pattern`).

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    AnyChar,
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Go's `path.ErrBadPattern` text.
pub const BAD_PATTERN: &str = "syntax error in pattern";

fn parse(pattern: &str) -> Result<Vec<Token>, &'static str> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => tokens.push(Token::AnyRun),
            '?' => tokens.push(Token::AnyChar),
            '\\' => tokens.push(Token::Literal(chars.next().ok_or(BAD_PATTERN)?)),
            '[' => {
                let negated = chars.next_if_eq(&'^').is_some();
                let mut ranges = Vec::new();
                loop {
                    match chars.peek() {
                        None => return Err(BAD_PATTERN),
                        Some(']') if !ranges.is_empty() => {
                            chars.next();
                            break;
                        }
                        _ => {}
                    }
                    let lo = class_char(&mut chars)?;
                    let hi = if chars.next_if_eq(&'-').is_some() {
                        class_char(&mut chars)?
                    } else {
                        lo
                    };
                    ranges.push((lo, hi));
                }
                tokens.push(Token::Class { negated, ranges });
            }
            other => tokens.push(Token::Literal(other)),
        }
    }
    Ok(tokens)
}

fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<char, &'static str> {
    match chars.next() {
        None | Some('-') | Some(']') => Err(BAD_PATTERN),
        Some('\\') => chars.next().ok_or(BAD_PATTERN),
        Some(c) => Ok(c),
    }
}

fn matches_tokens(tokens: &[Token], name: &[char]) -> bool {
    match tokens.split_first() {
        None => name.is_empty(),
        Some((Token::AnyRun, rest)) => (0..=name.len())
            .take_while(|&i| i == 0 || name[i - 1] != '/')
            .any(|i| matches_tokens(rest, &name[i..])),
        Some((token, rest)) => {
            let Some((&c, tail)) = name.split_first() else {
                return false;
            };
            let ok = match token {
                Token::Literal(l) => *l == c,
                Token::AnyChar => c != '/',
                Token::Class { negated, ranges } => {
                    ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
                }
                Token::AnyRun => false,
            };
            ok && matches_tokens(rest, tail)
        }
    }
}

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> Result<bool, &'static str> {
    let tokens = parse(pattern)?;
    let chars: Vec<char> = name.chars().collect();
    Ok(matches_tokens(&tokens, &chars))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_match_cases() {
        let cases = [
            ("*.conf", "pg.conf", true),
            ("*.conf", "pg.yaml", false),
            ("a?c", "abc", true),
            ("[a-c]x", "bx", true),
            ("[^a-c]x", "bx", false),
            ("\\*", "*", true),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*/b", "a/b", true),
            ("a*", "a/b", false),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(matches(pattern, name), Ok(want), "{pattern} {name}");
        }
        for bad in ["[", "[]", "[a-", "\\", "[-a]"] {
            assert_eq!(matches(bad, "x"), Err(BAD_PATTERN), "{bad}");
        }
    }
}
