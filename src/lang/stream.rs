//! The `-R` input reader: ipvsadm 1.31's `config_stream_read`, token for
//! token.
//!
//! * Tokens are separated by space, tab, CR and LF only (no quoting).
//! * Every token equal to `ipvsadm` is dropped, wherever it stands.
//! * A line ends at LF, so CRLF input works; blank lines yield no command.
//! * At end of input, a last line without LF still counts — unless white
//!   space was being skipped (two or more blanks after its last token), in
//!   which case that line is dropped, as in ipvsadm.
//! * Tokens are at most 4096 bytes; a longer word is split.
//! * `#` has no special meaning (ipvsadm never implemented comments).

use std::borrow::Cow;

const MAX_TOKEN: usize = 4096;

fn is_sep(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Reads commands (lists of words) from the bytes of the input.
pub struct ConfigStream<'a> {
    input: &'a [u8],
    /// `input` as text when it is valid UTF-8 (the usual case), so that
    /// words are borrowed without checking each one.
    text: Option<&'a str>,
    pos: usize,
    /// 1-based number of the line the last command started on.
    pub line: usize,
    next_line: usize,
}

impl<'a> ConfigStream<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        ConfigStream {
            input,
            text: std::str::from_utf8(input).ok(),
            pos: 0,
            line: 0,
            next_line: 1,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// The next line's words; `None` ends the restore (end of input, or a
    /// last line dropped as described in the module docs).
    pub fn next_command(&mut self) -> Option<Vec<Cow<'a, str>>> {
        self.line = self.next_line;
        let mut words: Vec<Cow<'a, str>> = Vec::with_capacity(16);
        loop {
            let Some(c) = self.peek() else {
                // End of input after a token and one separator: the line
                // still counts.
                return (!words.is_empty()).then_some(words);
            };
            if is_sep(c) {
                // The token conversion fails: skip white space up to LF;
                // end of input here drops the line.
                loop {
                    match self.peek()? {
                        b'\n' => {
                            self.pos += 1;
                            self.next_line += 1;
                            return Some(words);
                        }
                        b' ' | b'\t' | b'\r' => self.pos += 1,
                        _ => break,
                    }
                }
                continue;
            }
            let start = self.pos;
            let limit = (start + MAX_TOKEN).min(self.input.len());
            let mut end = start;
            while end < limit && !is_sep(self.input[end]) {
                end += 1;
            }
            self.pos = end;
            let token = &self.input[start..end];
            if token != b"ipvsadm" {
                words.push(match self.text.and_then(|t| t.get(start..end)) {
                    Some(t) => Cow::Borrowed(t),
                    None => String::from_utf8_lossy(token),
                });
            }
            // The one separator after the token.
            match self.peek() {
                Some(b'\n') => {
                    self.pos += 1;
                    self.next_line += 1;
                    return Some(words);
                }
                Some(b) if is_sep(b) => self.pos += 1,
                // End of input right after a token: the line counts (unless
                // it held nothing but `ipvsadm` words).
                None => return (!words.is_empty()).then_some(words),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str) -> Vec<Vec<String>> {
        let mut cs = ConfigStream::new(input.as_bytes());
        let mut out = Vec::new();
        while let Some(w) = cs.next_command() {
            out.push(w.into_iter().map(|c| c.into_owned()).collect());
        }
        out
    }

    #[test]
    fn splits_and_drops_ipvsadm() {
        assert_eq!(
            lines("ipvsadm -A -t 1.2.3.4:80\n-C\r\n\n  -L\t-n \n"),
            vec![
                vec!["-A", "-t", "1.2.3.4:80"],
                vec!["-C"],
                vec![],
                vec!["-L", "-n"],
            ]
        );
    }

    #[test]
    fn last_line_without_newline() {
        assert_eq!(lines("-C\n-L"), vec![vec!["-C"], vec!["-L"]]);
        assert_eq!(lines("-C\n-L "), vec![vec!["-C"], vec!["-L"]]);
        // Two trailing blanks without a newline: dropped, as in ipvsadm.
        assert_eq!(lines("-C\n-L  "), vec![vec!["-C"]]);
        assert_eq!(lines("ipvsadm"), Vec::<Vec<String>>::new());
        assert_eq!(lines(""), Vec::<Vec<String>>::new());
    }

    #[test]
    fn comments_are_plain_words() {
        assert_eq!(lines("# x\n"), vec![vec!["#", "x"]]);
    }
}
