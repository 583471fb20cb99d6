//! Whether a JSON text is already what serde_json writes for the value it holds, so a publish
//! can store `data` as sent instead of reading it into a tree and writing it back.
//!
//! serde_json (with `preserve_order`, which the MongoDB driver turns on) writes a value with no
//! white space; object members in the order read, a repeated key once; strings with only `"`,
//! `\` and control characters escaped (`\b \f \n \r \t`, others `\u00XX`), everything else
//! as is; integers that fit `u64`/`i64` as digits and other numbers in their shortest
//! round-trip form. A text is compact when it is exactly that. Anything this check does not
//! recognise cheaply (a `\u` escape, a key repeated, deep nesting) counts as not compact and is
//! rewritten the slow way, so a wrong "no" costs time and never changes bytes.

use std::str::FromStr;

/// Deepest nesting checked here; deeper values take the slow way (which also applies
/// serde_json's own depth limit in context).
const MAX_DEPTH: usize = 32;
/// Most keys of the open objects compared for repeats; more take the slow way.
const MAX_KEYS: usize = 64;

/// `text` must be valid JSON (as a `RawValue` is). True when serde_json would write the value
/// it holds as exactly `text`.
pub(super) fn is_compact(text: &str) -> bool {
    Scan {
        bytes: text.as_bytes(),
        at: 0,
        keys: [(0, 0); MAX_KEYS],
        key_count: 0,
    }
    .all()
}

/// A recursive check over valid JSON; `None` means "not compact".
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Spans of the keys of the objects open now, outermost first.
    keys: [(usize, usize); MAX_KEYS],
    key_count: usize,
}

impl Scan<'_> {
    fn all(mut self) -> bool {
        self.value(0).is_some() && self.at == self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(|_| ()),
            b't' | b'n' => self.literal(4),
            b'f' => self.literal(5),
            _ => self.number(),
        }
    }

    fn literal(&mut self, len: usize) -> Option<()> {
        self.at += len;
        (self.at <= self.bytes.len()).then_some(())
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1;
        let first_key = self.key_count;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            let text = &self.bytes[key.0..key.1];
            let open = &self.keys[first_key..self.key_count];
            if open.iter().any(|&(s, e)| &self.bytes[s..e] == text) || self.key_count == MAX_KEYS {
                return None;
            }
            self.keys[self.key_count] = key;
            self.key_count += 1;
            if self.peek()? != b':' {
                return None;
            }
            self.at += 1;
            self.value(depth)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    self.key_count = first_key;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1;
        if self.peek()? == b']' {
            self.at += 1;
            return Some(());
        }
        loop {
            self.value(depth)?;
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string whose escapes are the ones serde_json writes; its span inside the quotes.
    fn string(&mut self) -> Option<(usize, usize)> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at + 1;
        let mut at = start;
        loop {
            match *self.bytes.get(at)? {
                b'"' => break,
                b'\\' => match *self.bytes.get(at + 1)? {
                    b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                    // `\/`, and `\u` (which serde_json writes only for some control
                    // characters): the slow way.
                    _ => return None,
                },
                // Raw control characters are not valid JSON; valid input never has them.
                byte if byte < 0x20 => return None,
                _ => at += 1,
            }
        }
        self.at = at + 1;
        Some((start, at))
    }

    /// A number as serde_json writes it back: checked by reading it as serde_json does.
    fn number(&mut self) -> Option<()> {
        let start = self.at;
        let mut integer = true;
        while let Some(b) = self.peek() {
            match b {
                b'0'..=b'9' | b'-' => {}
                b'+' | b'.' | b'e' | b'E' => integer = false,
                _ => break,
            }
            self.at += 1;
        }
        let bytes = &self.bytes[start..self.at];
        if bytes.is_empty() {
            return None; // white space where a value starts
        }
        if integer && bytes.len() < 20 && !bytes.starts_with(b"-0") {
            // Fits in i64/u64 (at most 19 digits) and has no sign on a zero: written back as
            // read (a leading zero on anything but `0` is not valid JSON).
            return Some(());
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let number = serde_json::Number::from_str(text).ok()?;
        let mut written = Stack::default();
        // Written as a `Value` writes it (its `Display` spells exponents differently).
        serde_json::to_writer(&mut written, &number).ok()?;
        (written.as_bytes() == bytes).then_some(())
    }
}

/// A few bytes on the stack for one number's text (the longest `f64` serde_json writes is 24
/// bytes, `u64`/`i64` 20).
#[derive(Default)]
struct Stack {
    bytes: [u8; 32],
    len: usize,
}

impl Stack {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::io::Write for Stack {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let end = self.len + bytes.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(std::io::ErrorKind::WriteZero)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use proptest::prelude::*;

    use super::is_compact;

    /// What the publish path stored before this check existed: the value read and written back.
    fn rewritten(text: &str) -> String {
        serde_json::from_str::<serde_json::Value>(text)
            .unwrap()
            .to_string()
    }

    #[test]
    fn compact_texts_are_recognised() {
        for text in [
            r#"{"t":1,"p":2,"n":3}"#,
            r#"{"b":1,"a":[true,false,null],"c":{"d":"e\"f\\g\nh\ti"}}"#,
            r#""only for tab-2""#,
            "42.5",
            "1.0",
            "-1",
            "0",
            "18446744073709551615",
            "-9223372036854775808",
            "1e+20",
            "[]",
            "{}",
            "\"été 😀 \u{7f}\"",
        ] {
            assert_eq!(rewritten(text), text);
            assert!(is_compact(text), "{text}");
        }
    }

    #[test]
    fn other_spellings_are_not() {
        for text in [
            "{\"a\": 1}",
            "{\n  \"a\": 1\n}",
            "[1 ,2]",
            r#"{"a":1,"a":2}"#,
            r#""\u0041""#,
            r#""\/""#,
            r#""\u001f""#,
            "1E2",
            "1e2",
            "1e20",
            "100.00",
            "-0",
            "-0.0e0",
            "0.1e-400",
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678901234567890",
            &format!("{}1{}", "[".repeat(40), "]".repeat(40)),
        ] {
            assert!(!is_compact(text), "{text}");
        }
    }

    /// JSON texts in many spellings: white space, escapes, number forms, repeated keys.
    pub(in crate::node) fn json_text() -> impl Strategy<Value = String> {
        let space = prop_oneof![Just(""), Just(""), Just(" "), Just("\n  ")];
        let number = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::to_string(&f).unwrap()),
            (any::<i32>(), 0u32..1000, -30i32..30).prop_map(|(i, f, e)| format!("{i}.{f}e{e}")),
            (0u32..100).prop_map(|n| format!("{n}.0")),
            "-?[1-9][0-9]{18,24}",
            Just("-0".to_owned()),
        ];
        let string = prop::collection::vec(
            prop_oneof![
                "[a-z ]{1,3}",
                Just("\\\"".to_owned()),
                Just("\\\\".to_owned()),
                Just("\\n".to_owned()),
                Just("\\/".to_owned()),
                Just("\\u00e9".to_owned()),
                Just("\\u001F".to_owned()),
                Just("\\ud83d\\ude00".to_owned()),
                Just("é😀\u{7f}".to_owned()),
            ],
            0..4,
        )
        .prop_map(|parts| format!("\"{}\"", parts.concat()));
        let leaf = prop_oneof![
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("null".to_owned()),
            number,
            string,
        ];
        leaf.prop_recursive(4, 32, 4, move |inner| {
            let space = space.clone();
            prop_oneof![
                (prop::collection::vec(inner.clone(), 0..4), space.clone())
                    .prop_map(|(items, s)| format!("[{s}{}]", items.join(","))),
                (prop::collection::vec(("[abc]{1,2}", inner), 0..4), space).prop_map(
                    |(members, s)| {
                        let members: Vec<String> = members
                            .into_iter()
                            .map(|(k, v)| format!("\"{k}\":{s}{v}"))
                            .collect();
                        format!("{{{}}}", members.join(","))
                    }
                ),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The one rule: a text counted compact is exactly what the rewrite would store.
        #[test]
        fn compact_means_unchanged_by_a_rewrite(text in json_text()) {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                // Out of range or a lone surrogate: never counted compact.
                prop_assert!(!is_compact(&text));
                return Ok(());
            };
            let written = value.to_string();
            prop_assert_eq!(is_compact(&text), written == text, "{}", text);
            // What serde_json writes is compact unless reading it back moves a float (its
            // parser is not exact) or it holds a `\u00XX` escape, which the check leaves to
            // the slow way.
            if rewritten(&written) == written && !written.contains("\\u") {
                prop_assert!(is_compact(&written), "{}", written);
            }
        }
    }
}
