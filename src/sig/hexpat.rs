//! The ClamAV hex pattern language, parsed into a flat list of [`Node`]s.
//!
//! Supported, with ClamAV's meaning:
//!
//! | text | node |
//! |---|---|
//! | `4d` | exact byte |
//! | `??`, `a?`, `?a` | any byte, high nibble fixed, low nibble fixed |
//! | `*` | gap of any length |
//! | `{n}` `{-n}` `{n-}` `{n-m}` `[n-m]` | gap of `n`, `0..=n`, `n..`, `n..=m` bytes |
//! | `(aa\|bbcc\|d?)` | one of several byte strings (lengths may differ) |
//! | `!(aa\|bb)` | a window of the alternatives' (common) length matching none of them |
//!
//! Adjacent gaps are merged; a pattern may not begin or end with a gap.

use std::fmt;

/// One byte compared under a mask: `byte & mask == value`.
///
/// `mask` is `0xff` for an exact byte, `0xf0`/`0x0f` for a nibble, `0` for `??`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tok {
    /// Expected bits (already masked).
    pub value: u8,
    /// Which bits are compared.
    pub mask: u8,
}

impl Tok {
    /// An exact byte.
    pub const fn exact(b: u8) -> Tok {
        Tok {
            value: b,
            mask: 0xff,
        }
    }

    /// Whether `b` satisfies this token.
    #[inline]
    pub fn matches(self, b: u8) -> bool {
        b & self.mask == self.value
    }

    /// Whether this token is a fully known byte.
    #[inline]
    pub fn is_exact(self) -> bool {
        self.mask == 0xff
    }
}

/// One element of a parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A single (possibly masked) byte.
    Tok(Tok),
    /// One of several byte strings; with `negated`, any window of their common
    /// length that matches none of them.
    Alt {
        /// The alternatives, each a non-empty token string. (Boxed: every
        /// byte of every signature is a node, and a bare `Vec` here would
        /// make each of them twice the size.)
        alts: Box<Vec<Vec<Tok>>>,
        /// `!( … )`.
        negated: bool,
    },
    /// Skip between `min` and `max` bytes (`None`: no upper bound).
    Gap {
        /// Fewest bytes skipped.
        min: u32,
        /// Most bytes skipped, `None` for unbounded (`*`, `{n-}`).
        max: Option<u32>,
    },
}

impl Node {
    /// Shortest and longest number of bytes this node consumes (`None`: unbounded).
    pub fn width(&self) -> (u64, Option<u64>) {
        match self {
            Node::Tok(_) => (1, Some(1)),
            Node::Alt { alts, .. } => {
                let lens = alts.iter().map(|a| a.len() as u64);
                (lens.clone().min().unwrap_or(0), lens.max())
            }
            Node::Gap { min, max } => (u64::from(*min), max.map(u64::from)),
        }
    }
}

/// Limits that keep a hostile pattern from costing unbounded time or memory.
pub const MAX_BRANCH_NODES: usize = 256;
/// Most alternatives in one `( … )` group.
pub const MAX_ALTERNATIVES: usize = 4096;

/// Why a pattern could not be parsed; `column` is 0-based within the pattern text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    /// 0-based byte column in the pattern text.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column + 1, self.reason)
    }
}

fn err<T>(column: usize, reason: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError {
        column,
        reason: reason.into(),
    })
}

/// Parse a ClamAV hex pattern into nodes.
pub fn parse(text: &str) -> Result<Vec<Node>, PatternError> {
    Parser {
        s: text.as_bytes(),
        i: 0,
    }
    .pattern()
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn nibble(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

impl Parser<'_> {
    fn pattern(&mut self) -> Result<Vec<Node>, PatternError> {
        // At most one node per two characters: reserving that once (and shrinking
        // at the end) costs less than growing, which dominated loading large sets.
        let mut nodes: Vec<Node> = Vec::with_capacity(self.s.len() / 2);
        let mut branches = 0usize;
        while self.i < self.s.len() {
            let start = self.i;
            let node = match self.s[self.i] {
                b'*' => {
                    self.i += 1;
                    Node::Gap { min: 0, max: None }
                }
                b'{' => self.gap(b'}')?,
                b'[' => self.gap(b']')?,
                b'(' => self.alt(false)?,
                b'!' => {
                    if self.s.get(self.i + 1) != Some(&b'(') {
                        return err(self.i, "'!' must be followed by '('");
                    }
                    self.i += 1;
                    self.alt(true)?
                }
                _ => Node::Tok(self.tok()?),
            };
            if !matches!(node, Node::Tok(_)) {
                branches += 1;
                if branches > MAX_BRANCH_NODES {
                    return err(
                        start,
                        format!("more than {MAX_BRANCH_NODES} gaps and alternations"),
                    );
                }
            }
            push_merged(&mut nodes, node, start)?;
        }
        match (nodes.first(), nodes.last()) {
            (None, _) => err(0, "empty pattern"),
            (Some(Node::Gap { .. }), _) => err(0, "pattern starts with a wildcard gap"),
            (_, Some(Node::Gap { .. })) => {
                err(self.s.len() - 1, "pattern ends with a wildcard gap")
            }
            _ => {
                nodes.shrink_to_fit();
                Ok(nodes)
            }
        }
    }

    fn tok(&mut self) -> Result<Tok, PatternError> {
        let Some(&[hi, lo]) = self.s.get(self.i..self.i + 2) else {
            return err(self.i, "incomplete byte: hex digits come in pairs");
        };
        let t = match (hi, lo) {
            (b'?', b'?') => Tok { value: 0, mask: 0 },
            (b'?', _) => match nibble(lo) {
                Some(n) => Tok {
                    value: n,
                    mask: 0x0f,
                },
                None => return err(self.i + 1, format!("'{}' is not a hex digit", lo as char)),
            },
            (_, b'?') => match nibble(hi) {
                Some(n) => Tok {
                    value: n << 4,
                    mask: 0xf0,
                },
                None => return err(self.i, format!("'{}' is not a hex digit", hi as char)),
            },
            _ => match (nibble(hi), nibble(lo)) {
                (Some(h), Some(l)) => Tok::exact(h << 4 | l),
                (None, _) => {
                    return err(
                        self.i,
                        format!("'{}' is not a hex digit", hi.escape_ascii()),
                    );
                }
                (_, None) => {
                    return err(
                        self.i + 1,
                        format!("'{}' is not a hex digit", lo.escape_ascii()),
                    );
                }
            },
        };
        self.i += 2;
        Ok(t)
    }

    fn number(&mut self) -> Result<Option<u32>, PatternError> {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if start == self.i {
            return Ok(None);
        }
        let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        match digits.parse::<u32>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => err(start, format!("gap length {digits} is too large")),
        }
    }

    /// `{n}`, `{-n}`, `{n-}`, `{n-m}` (and `[n-m]`).
    fn gap(&mut self, close: u8) -> Result<Node, PatternError> {
        let open = self.i;
        self.i += 1;
        let min = self.number()?;
        let dash = self.s.get(self.i) == Some(&b'-');
        if dash {
            self.i += 1;
        }
        let max = self.number()?;
        if self.s.get(self.i) != Some(&close) {
            return err(
                self.i,
                format!(
                    "expected '{}' to close the gap opened at column {}",
                    close as char,
                    open + 1
                ),
            );
        }
        self.i += 1;
        let node = match (min, dash, max) {
            (Some(n), false, None) => Node::Gap {
                min: n,
                max: Some(n),
            },
            (None, true, Some(m)) => Node::Gap {
                min: 0,
                max: Some(m),
            },
            (Some(n), true, None) if close == b'}' => Node::Gap { min: n, max: None },
            (Some(n), true, Some(m)) if n <= m => Node::Gap {
                min: n,
                max: Some(m),
            },
            (Some(n), true, Some(m)) => {
                return err(open, format!("gap range {n}-{m} runs backwards"));
            }
            _ => return err(open, "malformed gap: expected {n}, {-n}, {n-} or {n-m}"),
        };
        Ok(node)
    }

    fn alt(&mut self, negated: bool) -> Result<Node, PatternError> {
        let open = self.i;
        self.i += 1;
        let mut alts = vec![Vec::new()];
        loop {
            match self.s.get(self.i) {
                None => return err(open, "unclosed '('"),
                Some(b')') => {
                    self.i += 1;
                    break;
                }
                Some(b'|') => {
                    self.i += 1;
                    alts.push(Vec::new());
                    if alts.len() > MAX_ALTERNATIVES {
                        return err(self.i, format!("more than {MAX_ALTERNATIVES} alternatives"));
                    }
                }
                // Only a whole group `(B)`, `(L)` or `(W)` is a marker (as in
                // ClamAV); `(B7|1A)` is upper-case hex.
                Some(b'B' | b'L' | b'W')
                    if alts.len() == 1
                        && alts[0].is_empty()
                        && self.s.get(self.i + 1) == Some(&b')') =>
                {
                    return err(self.i, "boundary markers (B), (L), (W) are not supported");
                }
                Some(b'*' | b'{' | b'[' | b'(' | b'!') => {
                    return err(
                        self.i,
                        "gaps and nested groups inside an alternation are not supported",
                    );
                }
                Some(_) => {
                    let t = self.tok()?;
                    if let Some(last) = alts.last_mut() {
                        last.push(t);
                    }
                }
            }
        }
        if alts.iter().any(Vec::is_empty) {
            return err(open, "empty alternative");
        }
        if alts.len() < 2 && !negated {
            return err(open, "an alternation needs at least two alternatives");
        }
        if negated && alts.iter().any(|a| a.len() != alts[0].len()) {
            return err(open, "negated alternatives must all have the same length");
        }
        Ok(Node::Alt {
            alts: Box::new(alts),
            negated,
        })
    }
}

/// Push `node`, merging adjacent gaps so the matcher never sees two in a row.
fn push_merged(nodes: &mut Vec<Node>, node: Node, column: usize) -> Result<(), PatternError> {
    if let (Some(Node::Gap { min: a, max: am }), Node::Gap { min: b, max: bm }) =
        (nodes.last_mut(), &node)
    {
        let Some(min) = a.checked_add(*b) else {
            return err(column, "gap too large");
        };
        *a = min;
        *am = match (*am, bm) {
            (Some(x), Some(y)) => match x.checked_add(*y) {
                Some(m) => Some(m),
                None => return err(column, "gap too large"),
            },
            _ => None,
        };
        return Ok(());
    }
    nodes.push(node);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_feature() {
        let n = parse("4d5a??a??b*{2}{-3}{4-}{5-6}[1-2](aa|bbcc)!(01|02)").unwrap();
        assert_eq!(n[0], Node::Tok(Tok::exact(0x4d)));
        assert_eq!(n[2], Node::Tok(Tok { value: 0, mask: 0 }));
        assert_eq!(
            n[3],
            Node::Tok(Tok {
                value: 0xa0,
                mask: 0xf0
            })
        );
        assert_eq!(
            n[4],
            Node::Tok(Tok {
                value: 0x0b,
                mask: 0x0f
            })
        );
        // * {2} {-3} {4-} {5-6} [1-2] merge into one unbounded gap of at least 12.
        assert_eq!(n[5], Node::Gap { min: 12, max: None });
        assert!(
            matches!(&n[6], Node::Alt { alts, negated: false } if alts.len() == 2 && alts[1].len() == 2)
        );
        assert!(matches!(&n[7], Node::Alt { negated: true, .. }));
        assert_eq!(n.len(), 8);
    }

    #[test]
    fn upper_case_b_is_hex_not_a_marker() {
        let n = parse("(B7|1A)!(BB)4D").unwrap();
        assert!(
            matches!(&n[0], Node::Alt { alts, negated: false } if alts[0] == [Tok::exact(0xb7)])
        );
        assert!(
            matches!(&n[1], Node::Alt { alts, negated: true } if alts[0] == [Tok::exact(0xbb)])
        );
        for marker in ["4d(B)4d", "4d!(L)4d", "4d(W)4d"] {
            assert!(
                parse(marker).unwrap_err().reason.contains("boundary"),
                "{marker}"
            );
        }
    }

    #[test]
    fn rejects_with_column() {
        for (text, col) in [
            ("4d5", 2),
            ("4dzz", 2),
            ("*4d", 0),
            ("4d{3-1}4d", 2),
            ("4d(aa|bb", 2),
            ("4d!(aa|bbcc)4d", 3),
            ("4d{99999999999}4d", 3),
            ("", 0),
            ("4d{2}", 4),
            ("4d(B)4d", 3),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.column, col, "{text}: {e}");
        }
    }
}
