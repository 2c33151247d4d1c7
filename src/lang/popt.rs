//! A tokenizer with popt's semantics over the flag table, so that every
//! command line means what it means to ipvsadm 1.31:
//!
//! * `--name` matches a long name exactly; `--name=value` gives a value;
//! * `-abc` is a bundle of short flags; a flag that takes a value takes the
//!   rest of the bundle (a leading `=` is skipped) or else the next word —
//!   even one starting with `-` — unless its value is optional, in which
//!   case a next word starting with `-` is not taken;
//! * `--` ends the flags; `-` alone and any word not starting with `-` are
//!   positional ("leftovers"), collected wherever they appear;
//! * errors name the whole word in which they occurred, as
//!   `poptBadOption` does.

use super::flags::{by_long, by_short, ArgKind, FlagDef};

/// popt's error kinds, with `poptStrerror`'s text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoptError {
    BadOpt,
    NoArg,
    UnwantedArg,
}

impl PoptError {
    pub fn text(self) -> &'static str {
        match self {
            PoptError::BadOpt => "unknown option",
            PoptError::NoArg => "missing argument",
            PoptError::UnwantedArg => "option does not take an argument",
        }
    }
}

/// One flag occurrence; values and words borrow from the argv.
#[derive(Clone, Debug)]
pub struct Occurrence<'a> {
    pub def: &'static FlagDef,
    pub value: Option<&'a str>,
    /// The argv word it came from (for messages).
    pub word: &'a str,
}

/// A popt error and the argv word it occurred in.
pub type PoptFailure<'a> = (PoptError, &'a str);

/// Iterates over the flags of an argv (without argv[0]).
pub struct Popt<'a, S: AsRef<str>> {
    args: &'a [S],
    next: usize,
    /// A short-flag bundle in progress: its word and the byte offset of the
    /// next flag letter in it.
    bundle: Option<(usize, usize)>,
    rest_leftover: bool,
    leftovers: Vec<&'a str>,
    taken: usize,
}

impl<'a, S: AsRef<str>> Popt<'a, S> {
    pub fn new(args: &'a [S]) -> Self {
        Popt {
            args,
            next: 0,
            bundle: None,
            rest_leftover: false,
            leftovers: Vec::new(),
            taken: 0,
        }
    }

    /// The next flag; `Ok(None)` at the end; `Err((kind, word))` on a popt
    /// error.
    pub fn next_opt(&mut self) -> Result<Option<Occurrence<'a>>, PoptFailure<'a>> {
        loop {
            if let Some((word_idx, at)) = self.bundle.take() {
                return self.short(word_idx, at).map(Some);
            }
            let Some(word) = self.args.get(self.next).map(AsRef::as_ref) else {
                return Ok(None);
            };
            let idx = self.next;
            self.next += 1;
            if self.rest_leftover || !word.starts_with('-') || word == "-" {
                self.leftovers.push(word);
                continue;
            }
            if word == "--" {
                self.rest_leftover = true;
                continue;
            }
            if let Some(body) = word.strip_prefix("--") {
                let (name, inline) = match body.find('=') {
                    Some(i) => (&body[..i], Some(&body[i + 1..])),
                    None => (body, None),
                };
                let def = by_long(name).ok_or((PoptError::BadOpt, word))?;
                return self.with_value(def, inline, word).map(Some);
            }
            // A single dash: popt would try ONEDASH long names, of which
            // ipvsadm has none, so this is a bundle of short flags.
            return self.short(idx, 1).map(Some);
        }
    }

    fn short(&mut self, word_idx: usize, at: usize) -> Result<Occurrence<'a>, PoptFailure<'a>> {
        let word: &'a str = self.args[word_idx].as_ref();
        let rest = &word[at..];
        let c = rest.chars().next().ok_or((PoptError::BadOpt, word))?;
        let def = by_short(c).ok_or((PoptError::BadOpt, word))?;
        let after = at + c.len_utf8();
        let remaining = &word[after..];
        if def.arg == ArgKind::None {
            if remaining.starts_with('=') {
                return Err((PoptError::UnwantedArg, word));
            }
            if !remaining.is_empty() {
                self.bundle = Some((word_idx, after));
            }
            return Ok(Occurrence {
                def,
                value: None,
                word,
            });
        }
        let inline =
            (!remaining.is_empty()).then(|| remaining.strip_prefix('=').unwrap_or(remaining));
        self.with_value(def, inline, word)
    }

    fn with_value(
        &mut self,
        def: &'static FlagDef,
        inline: Option<&'a str>,
        word: &'a str,
    ) -> Result<Occurrence<'a>, PoptFailure<'a>> {
        if def.arg == ArgKind::None {
            if inline.is_some() {
                return Err((PoptError::UnwantedArg, word));
            }
            return Ok(Occurrence {
                def,
                value: None,
                word,
            });
        }
        let value = match inline {
            Some(v) => Some(v),
            None => match self.args.get(self.next).map(AsRef::as_ref) {
                None if def.arg == ArgKind::Required => return Err((PoptError::NoArg, word)),
                None => None,
                Some(n) if def.arg == ArgKind::Optional && n.starts_with('-') => None,
                Some(n) => {
                    self.next += 1;
                    Some(n)
                }
            },
        };
        Ok(Occurrence { def, value, word })
    }

    /// popt's `poptGetArg`: the leftovers in order.
    pub fn take_leftover(&mut self) -> Option<&'a str> {
        let l = self.leftovers.get(self.taken).copied();
        self.taken += usize::from(l.is_some());
        l
    }

    /// Leftover words not taken yet.
    pub fn leftovers(&self) -> &[&'a str] {
        &self.leftovers[self.taken..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::flags::Tag;

    type Run = (
        Vec<(Tag, Option<String>)>,
        Vec<String>,
        Option<(PoptError, String)>,
    );

    fn run(args: &[&str]) -> Run {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut p = Popt::new(&v);
        let mut out = Vec::new();
        let err = loop {
            match p.next_opt() {
                Ok(Some(o)) => out.push((o.def.tag, o.value.map(str::to_string))),
                Ok(None) => break None,
                Err((k, w)) => break Some((k, w.to_string())),
            }
        };
        let left = p.leftovers().iter().map(|s| s.to_string()).collect();
        (out, left, err)
    }

    #[test]
    fn bundles_and_values() {
        let (o, l, e) = run(&["-Ln", "-At10.0.0.1:80", "-p10", "-s=rr"]);
        assert!(e.is_none());
        assert_eq!(
            o,
            vec![
                (Tag::List, None),
                (Tag::Numeric, None),
                (Tag::Add, None),
                (Tag::TcpService, Some("10.0.0.1:80".into())),
                (Tag::Persistent, Some("10".into())),
                (Tag::Scheduler, Some("rr".into())),
            ]
        );
        assert!(l.is_empty());
    }

    #[test]
    fn optional_value_and_required_dash_value() {
        let (o, _, _) = run(&["-A", "-p", "-t", "x", "-s", "-p"]);
        assert_eq!(
            o,
            vec![
                (Tag::Add, None),
                (Tag::Persistent, None),
                (Tag::TcpService, Some("x".into())),
                (Tag::Scheduler, Some("-p".into())),
            ]
        );
        let (o, _, _) = run(&["--persistent=20", "--persistent", "30"]);
        assert_eq!(o[0].1.as_deref(), Some("20"));
        assert_eq!(o[1].1.as_deref(), Some("30"));
    }

    #[test]
    fn errors_name_the_word() {
        assert_eq!(run(&["-A", "-s"]).2, Some((PoptError::NoArg, "-s".into())));
        assert_eq!(run(&["--foo"]).2, Some((PoptError::BadOpt, "--foo".into())));
        assert_eq!(run(&["-Lq"]).2, Some((PoptError::BadOpt, "-Lq".into())));
        assert_eq!(
            run(&["--set", "-1", "0", "0"]).2,
            Some((PoptError::BadOpt, "-1".into()))
        );
        assert_eq!(
            run(&["--list=x"]).2,
            Some((PoptError::UnwantedArg, "--list=x".into()))
        );
        assert_eq!(
            run(&["-L=x"]).2,
            Some((PoptError::UnwantedArg, "-L=x".into()))
        );
        assert_eq!(
            run(&["--tcp-servic", "x"]).2,
            Some((PoptError::BadOpt, "--tcp-servic".into()))
        );
    }

    #[test]
    fn leftovers_anywhere_and_double_dash() {
        let (o, l, e) = run(&["--set", "1", "2", "-", "--", "-L", "3"]);
        assert!(e.is_none());
        assert_eq!(o, vec![(Tag::Set, None)]);
        assert_eq!(l, vec!["1", "2", "-", "-L", "3"]);
    }
}
