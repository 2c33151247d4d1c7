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

use std::io::{self, BufRead};

const MAX_TOKEN: usize = 4096;

fn is_sep(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Reads commands (lists of words) from a byte stream.
pub struct ConfigStream<R: BufRead> {
    input: R,
    /// 1-based number of the line the last command started on.
    pub line: usize,
    next_line: usize,
}

impl<R: BufRead> ConfigStream<R> {
    pub fn new(input: R) -> Self {
        ConfigStream {
            input,
            line: 0,
            next_line: 1,
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.input.fill_buf()?.first().copied())
    }

    fn bump(&mut self) {
        self.input.consume(1);
    }

    /// The next line's words; `None` ends the restore (end of input, or a
    /// last line dropped as described in the module docs).
    pub fn next_command(&mut self) -> io::Result<Option<Vec<String>>> {
        self.line = self.next_line;
        let mut words: Vec<String> = Vec::new();
        let mut counted = 0usize;
        loop {
            let Some(c) = self.peek()? else {
                // fscanf hit end of input before reading anything.
                return Ok((counted > 0).then_some(words));
            };
            if is_sep(c) {
                // The token conversion fails: skip white space up to LF.
                loop {
                    match self.peek()? {
                        None => return Ok(None),
                        Some(b'\n') => {
                            self.bump();
                            self.next_line += 1;
                            return Ok(Some(words));
                        }
                        Some(b' ' | b'\t' | b'\r') => self.bump(),
                        Some(_) => break,
                    }
                }
                continue;
            }
            let mut token = Vec::new();
            while token.len() < MAX_TOKEN {
                match self.peek()? {
                    Some(b) if !is_sep(b) => {
                        token.push(b);
                        self.bump();
                    }
                    _ => break,
                }
            }
            let token = String::from_utf8_lossy(&token).into_owned();
            if token != "ipvsadm" {
                counted += 1;
                words.push(token);
            }
            // The one separator after the token.
            match self.peek()? {
                Some(b'\n') => {
                    self.bump();
                    self.next_line += 1;
                    return Ok(Some(words));
                }
                Some(b) if is_sep(b) => self.bump(),
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
        while let Some(w) = cs.next_command().unwrap() {
            out.push(w);
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
