//! Pebble's command-line syntax for service and exec-check commands: shell-like words (no shell
//! is run) with an optional trailing `[ default args ]` group.

/// Splits a command line into words the way Pebble does (Go `shlex`): blanks separate words,
/// `'...'` is literal, `"..."` honours backslash escapes, a backslash outside quotes escapes the
/// next character, and `#` at the start of a word comments out the rest of the line.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Start,
        Word,
        Single,
        Double,
        Comment,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Start;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Comment => {
                if c == '\n' {
                    state = State::Start;
                }
            }
            State::Start | State::Word => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    if state == State::Word {
                        words.push(std::mem::take(&mut word));
                        state = State::Start;
                    }
                }
                '#' if state == State::Start => state = State::Comment,
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => {
                    let escaped = chars.next().ok_or("EOF found after escape character")?;
                    word.push(escaped);
                    state = State::Word;
                }
                other => {
                    word.push(other);
                    state = State::Word;
                }
            },
            State::Single => match c {
                '\'' => state = State::Word,
                other => word.push(other),
            },
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => word.push(chars.next().ok_or("EOF found after escape character")?),
                other => word.push(other),
            },
        }
    }
    match state {
        State::Single | State::Double => Err("EOF found when expecting closing quote".to_owned()),
        State::Word => {
            words.push(word);
            Ok(words)
        }
        State::Start | State::Comment => Ok(words),
    }
}

/// Splits a service command into its base words and its default arguments (the words inside an
/// optional trailing `[ ... ]` group), with Pebble's rules: one group, not first, nothing after.
pub fn parse_service_command(command: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let mut base = Vec::new();
    let mut extra = Vec::new();
    let mut in_group = false;
    let mut had_group = false;
    for (index, word) in split_command(command)?.into_iter().enumerate() {
        if in_group {
            match word.as_str() {
                "[" => return Err("cannot nest [ ... ] groups".to_owned()),
                "]" => in_group = false,
                _ => extra.push(word),
            }
            continue;
        }
        if had_group {
            return Err("cannot have any arguments after [ ... ] group".to_owned());
        }
        match word.as_str() {
            "[" if index == 0 => {
                return Err("cannot start command with [ ... ] group".to_owned());
            }
            "[" => {
                in_group = true;
                had_group = true;
            }
            "]" => return Err("cannot have ] outside of [ ... ] group".to_owned()),
            _ => base.push(word),
        }
    }
    Ok((base, extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_command(line).unwrap()
    }

    #[test]
    fn splits_like_shlex() {
        assert_eq!(words("  a  b\tc "), ["a", "b", "c"]);
        assert_eq!(words("echo 'a b' \"c d\""), ["echo", "a b", "c d"]);
        assert_eq!(words(r#"x "a \"q\" \\ b""#), ["x", r#"a "q" \ b"#]);
        assert_eq!(words(r"a\ b c"), ["a b", "c"]);
        assert_eq!(words("a'b'\"c\"d"), ["abcd"]);
        assert_eq!(words("a '' b"), ["a", "", "b"]);
        assert_eq!(words("a # comment\nb"), ["a", "b"]);
        assert_eq!(words("a#b"), ["a#b"]);
        assert!(words("").is_empty());
    }

    #[test]
    fn split_errors() {
        assert_eq!(
            split_command("a 'b"),
            Err("EOF found when expecting closing quote".to_owned())
        );
        assert_eq!(
            split_command("a \"b"),
            Err("EOF found when expecting closing quote".to_owned())
        );
        assert_eq!(
            split_command("a \\"),
            Err("EOF found after escape character".to_owned())
        );
    }

    #[test]
    fn default_argument_groups() {
        assert_eq!(
            parse_service_command("postgres -D /data [ -c x=1 ]").unwrap(),
            (
                vec!["postgres".to_owned(), "-D".to_owned(), "/data".to_owned()],
                vec!["-c".to_owned(), "x=1".to_owned()]
            )
        );
        let cases = [
            ("[ a ] b", "cannot start command with [ ... ] group"),
            ("a [ b ] c", "cannot have any arguments after [ ... ] group"),
            ("a [ b [ c ] ]", "cannot nest [ ... ] groups"),
            ("a ] b", "cannot have ] outside of [ ... ] group"),
        ];
        for (command, want) in cases {
            assert_eq!(
                parse_service_command(command),
                Err(want.to_owned()),
                "{command}"
            );
        }
    }
}
