//! Shared pieces of ward's fuzz targets: compiling and scanning whatever loaded,
//! a byte reader that turns fuzz input into choices, a generator of small
//! signature sets and haystacks, a naive reference matcher for the
//! `differential` target, and unpacking containers with checks on what comes
//! out.

use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use ward::unpack::{Caps, Found, Kind, Scratch, detect, unpack};

use ward::sig::{Node, Offset, Tok};
use ward::{Database, Scanner, SignatureSet};

/// Compile `db` (when it compiles) and scan each haystack in first-match and
/// all-matches mode. Errors are fine; panics are what the fuzzers look for.
pub fn compile_and_scan(db: &Database, hays: &[&[u8]]) {
    let _ = (db.len(), db.is_empty());
    let set = match SignatureSet::compile(db) {
        Ok(set) => set,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = (set.info().total(), set.len());
    let mut first = Scanner::new(&set);
    let mut all = Scanner::new(&set);
    all.all_matches(true);
    for hay in hays {
        let a = first.scan_bytes(hay);
        let b = all.scan_bytes(hay);
        assert_eq!(
            a.is_empty(),
            b.is_empty(),
            "first-match and all-matches disagree"
        );
        for m in &a {
            assert!(b.contains(m), "{m:?} found first but not among all {b:?}");
        }
    }
}

/// Unpack `data` as `kind`, a format whose members are stored in place:
/// every member must be a slice of `data` no longer than `caps.member`.
/// Returns how many members came out.
pub fn unpack_in_place(kind: Kind, data: &[u8], caps: &Caps) -> usize {
    let whole = data.as_ptr_range();
    let mut members = 0;
    unpack(kind, data, caps, &mut Scratch::default(), &mut |found| {
        if let Found::Member { name, data: m, cut } = found {
            members += 1;
            assert!(
                m.len() as u64 <= caps.member,
                "{} bytes past the cap",
                m.len()
            );
            let r = m.as_ptr_range();
            assert!(
                m.is_empty() || (whole.start <= r.start && r.end <= whole.end),
                "member {name:?} ({cut:?}) is not a slice of the container"
            );
        }
        ControlFlow::Continue(())
    });
    members
}

/// The container layer as the scanner drives it: `detect`, then `unpack`,
/// and each member again, `depth` levels down at most, under caps of a few
/// MiB and a deadline of a second from now. Every member must be within the
/// cap, and it all must end soon after the deadline.
pub fn unpack_nested(data: &[u8], depth: usize) {
    let start = Instant::now();
    let caps = Caps {
        member: 4 << 20,
        memory: 1 << 20,
        ratio: 100,
        deadline: Some(start + Duration::from_secs(1)),
    };
    let mut scratch: Vec<Scratch> = (0..=depth).map(|_| Scratch::default()).collect();
    let mut members = 0;
    nested(data, &caps, &mut scratch, &mut members);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "unpacking took {took:?}");
}

/// Members the nested walk takes out in all, at most (the scanner's
/// default `max_files`).
const MAX_MEMBERS: usize = 10_000;

fn nested(data: &[u8], caps: &Caps, scratch: &mut [Scratch], members: &mut usize) {
    let Some(kind) = detect(data) else {
        return;
    };
    let _ = kind.name();
    let Some((mine, deeper)) = scratch.split_first_mut() else {
        return;
    };
    unpack(kind, data, caps, mine, &mut |found| {
        if let Found::Member { data: m, .. } = found {
            assert!(
                m.len() as u64 <= caps.member,
                "{} bytes past the cap",
                m.len()
            );
            *members += 1;
            if *members >= MAX_MEMBERS {
                return ControlFlow::Break(());
            }
            nested(m, caps, deeper, members);
        }
        ControlFlow::Continue(())
    });
}

/// Reads choices from fuzz input; yields zeros once the input runs out.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Read from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// Next byte, 0 at the end.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        let v = u16::from(self.u8()) << 8 | u16::from(self.u8());
        v as usize % n
    }

    /// Whether the input is used up.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// A generated body signature: the pattern as ward's nodes (the oracle's view),
/// and its offset.
#[derive(Clone, Debug)]
pub struct GenSig {
    /// Pattern nodes (adjacent gaps not merged).
    pub nodes: Vec<Node>,
    /// Where the match must start.
    pub offset: Offset,
}

/// A small alphabet makes partial and full matches likely.
fn byte(r: &mut Reader) -> u8 {
    let b = r.u8();
    if b < 224 {
        b"abcd"[usize::from(b % 4)]
    } else {
        b
    }
}

fn tok(r: &mut Reader) -> Tok {
    let b = byte(r);
    match r.u8() % 10 {
        0 => Tok {
            value: b & 0xf0,
            mask: 0xf0,
        },
        1 => Tok {
            value: b & 0x0f,
            mask: 0x0f,
        },
        2 => Tok { value: 0, mask: 0 },
        _ => Tok::exact(b),
    }
}

fn toks(r: &mut Reader, len: usize) -> Vec<Tok> {
    (0..len).map(|_| tok(r)).collect()
}

fn node(r: &mut Reader) -> Node {
    match r.u8() % 10 {
        0..=5 => Node::Tok(tok(r)),
        6 => {
            let min = u32::from(r.u8() % 6);
            let max = match r.u8() % 6 {
                0 => None,
                k => Some(min + u32::from(k - 1) * u32::from(r.u8() % 4)),
            };
            Node::Gap { min, max }
        }
        7 | 8 => {
            let alts = (0..2 + r.below(3))
                .map(|_| {
                    let len = 1 + r.below(3);
                    toks(r, len)
                })
                .collect::<Vec<_>>();
            Node::Alt {
                alts: Box::new(alts),
                negated: false,
            }
        }
        _ => {
            let len = 1 + r.below(2);
            let alts = (0..1 + r.below(3)).map(|_| toks(r, len)).collect::<Vec<_>>();
            Node::Alt {
                alts: Box::new(alts),
                negated: true,
            }
        }
    }
}

/// A valid pattern: 1 to 8 nodes, no gap first or last, and at least one exact
/// byte outside alternations (ward rejects patterns without one).
fn pattern(r: &mut Reader) -> Vec<Node> {
    let mut nodes: Vec<Node> = (0..1 + r.below(8)).map(|_| node(r)).collect();
    while matches!(nodes.first(), Some(Node::Gap { .. })) {
        nodes.remove(0);
    }
    while matches!(nodes.last(), Some(Node::Gap { .. })) {
        nodes.pop();
    }
    if !nodes
        .iter()
        .any(|n| matches!(n, Node::Tok(t) if t.is_exact()))
    {
        let at = r.below(nodes.len() + 1);
        nodes.insert(at, Node::Tok(Tok::exact(byte(r))));
    }
    nodes
}

fn offset(r: &mut Reader) -> Offset {
    match r.u8() % 6 {
        0 => Offset::FromStart {
            at: u64::from(r.u8() % 24),
            shift: 0,
        },
        1 => Offset::FromStart {
            at: u64::from(r.u8() % 24),
            shift: u64::from(r.u8() % 40),
        },
        2 => Offset::FromEnd {
            back: u64::from(r.u8() % 48),
            shift: u64::from(r.u8() % 40),
        },
        _ => Offset::Any,
    }
}

/// Bytes that the pattern (probably) matches; negated groups get random bytes.
fn realize(r: &mut Reader, nodes: &[Node], out: &mut Vec<u8>) {
    let put = |r: &mut Reader, t: &Tok, out: &mut Vec<u8>| out.push(t.value | (byte(r) & !t.mask));
    for n in nodes {
        match n {
            Node::Tok(t) => put(r, t, out),
            Node::Gap { min, max } => {
                let span = max.map_or(4, |m| m - min);
                let len = *min as usize + r.below(span as usize + 1);
                out.extend((0..len).map(|_| byte(r)));
            }
            Node::Alt {
                alts,
                negated: false,
            } => {
                for t in &alts[r.below(alts.len())] {
                    put(r, t, out);
                }
            }
            Node::Alt {
                alts,
                negated: true,
            } => out.extend((0..alts[0].len()).map(|_| byte(r))),
        }
    }
}

/// A generated case: signatures and a haystack made of random bytes and
/// (near-)instances of the signatures.
pub fn case(data: &[u8]) -> (Vec<GenSig>, Vec<u8>) {
    let mut r = Reader::new(data);
    let sigs: Vec<GenSig> = (0..1 + r.below(4))
        .map(|_| GenSig {
            nodes: pattern(&mut r),
            offset: offset(&mut r),
        })
        .collect();
    let mut hay = Vec::new();
    while !r.is_empty() && hay.len() < 2048 {
        match r.u8() % 4 {
            0 => {
                let s = &sigs[r.below(sigs.len())];
                realize(&mut r, &s.nodes, &mut hay);
            }
            1 => hay.extend(std::iter::repeat_n(byte(&mut r), r.below(8))),
            _ => hay.push(byte(&mut r)),
        }
    }
    (sigs, hay)
}

fn tok_hex(t: &Tok, out: &mut String) {
    match t.mask {
        0xff => write!(out, "{:02x}", t.value),
        0xf0 => write!(out, "{:x}?", t.value >> 4),
        0x0f => write!(out, "?{:x}", t.value),
        _ => write!(out, "??"),
    }
    .unwrap();
}

/// The pattern in ClamAV hex syntax; the bits of `style` pick among equivalent
/// gap spellings (`*` / `{0-}`, `{-n}` / `{0-n}`, `{n}` / `{n-n}`, `[n-m]`).
pub fn hex(nodes: &[Node], style: u8) -> String {
    let (star, dash, exact, square) = (
        style & 1 == 0,
        style & 2 == 0,
        style & 4 == 0,
        style & 8 == 0,
    );
    let mut out = String::new();
    for n in nodes {
        match n {
            Node::Tok(t) => tok_hex(t, &mut out),
            Node::Gap { min: 0, max: None } if star => out.push('*'),
            Node::Gap { min, max: None } => write!(out, "{{{min}-}}").unwrap(),
            Node::Gap { min, max: Some(m) } if min == m && exact => {
                write!(out, "{{{min}}}").unwrap()
            }
            Node::Gap {
                min: 0,
                max: Some(m),
            } if dash => write!(out, "{{-{m}}}").unwrap(),
            Node::Gap { min, max: Some(m) } if square => write!(out, "[{min}-{m}]").unwrap(),
            Node::Gap { min, max: Some(m) } => write!(out, "{{{min}-{m}}}").unwrap(),
            Node::Alt { alts, negated } => {
                out.push_str(if *negated { "!(" } else { "(" });
                for (i, a) in alts.iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    a.iter().for_each(|t| tok_hex(t, &mut out));
                }
                out.push(')');
            }
        }
    }
    out
}

/// The `.ndb` offset field.
pub fn offset_field(o: Offset) -> String {
    match o {
        Offset::Any => "*".into(),
        Offset::FromStart { at, shift: 0 } => at.to_string(),
        Offset::FromStart { at, shift } => format!("{at},{shift}"),
        Offset::FromEnd { back, shift: 0 } => format!("EOF-{back}"),
        Offset::FromEnd { back, shift } => format!("EOF-{back},{shift}"),
    }
}

/// The oracle: every start offset at which the pattern matches `hay` and which
/// the offset allows, by dynamic programming over (node, position) from the end.
pub fn reference_starts(sig: &GenSig, hay: &[u8]) -> Vec<usize> {
    let n = hay.len();
    // ok[p]: the nodes after this one match starting at p (ending anywhere).
    let mut ok = vec![true; n + 1];
    for node in sig.nodes.iter().rev() {
        // later[q]: how many of ok[q..=n] hold, so a gap is one subtraction.
        let mut later = vec![0usize; n + 2];
        for q in (0..=n).rev() {
            later[q] = later[q + 1] + usize::from(ok[q]);
        }
        let next = |p: usize| p <= n && ok[p];
        ok = (0..=n)
            .map(|p| match node {
                Node::Tok(t) => p < n && t.matches(hay[p]) && next(p + 1),
                Node::Alt {
                    alts,
                    negated: false,
                } => alts.iter().any(|a| fits(a, &hay[p..]) && next(p + a.len())),
                Node::Alt {
                    alts,
                    negated: true,
                } => {
                    let len = alts[0].len();
                    next(p + len) && !alts.iter().any(|a| fits(a, &hay[p..]))
                }
                Node::Gap { min, max } => {
                    let lo = p + *min as usize;
                    let hi = max.map_or(n, |m| (p + m as usize).min(n));
                    lo <= hi && later[lo] > later[hi + 1]
                }
            })
            .collect();
    }
    let (lo, hi) = match sig.offset {
        Offset::Any => (0, n),
        Offset::FromStart { at, shift } => (at as usize, at as usize + shift as usize),
        Offset::FromEnd { back, shift } if back as usize <= n => {
            (n - back as usize, n - back as usize + shift as usize)
        }
        _ => return Vec::new(),
    };
    (lo..=hi.min(n)).filter(|&p| ok[p]).collect()
}

/// Whether `toks` match at the start of `rest`.
fn fits(toks: &[Tok], rest: &[u8]) -> bool {
    toks.len() <= rest.len() && toks.iter().zip(rest).all(|(t, &b)| t.matches(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward::sig::hexpat::parse;

    fn sig(text: &str, offset: Offset) -> GenSig {
        GenSig {
            nodes: parse(text).unwrap(),
            offset,
        }
    }

    #[test]
    fn oracle_basics() {
        let hay = b"xxabcdyyab";
        assert_eq!(reference_starts(&sig("6162", Offset::Any), hay), vec![2, 8]);
        assert_eq!(
            reference_starts(&sig("61{1-2}64", Offset::Any), hay),
            vec![2]
        );
        assert_eq!(
            reference_starts(&sig("61*62", Offset::Any), hay),
            vec![2, 8]
        );
        assert_eq!(reference_starts(&sig("61*64", Offset::Any), hay), vec![2]);
        assert_eq!(
            reference_starts(&sig("(78|7979)61", Offset::Any), hay),
            vec![1, 6]
        );
        assert_eq!(
            reference_starts(&sig("!(78)6162", Offset::Any), hay),
            vec![7]
        );
        assert_eq!(
            reference_starts(&sig("6162", Offset::FromEnd { back: 2, shift: 0 }), hay),
            vec![8]
        );
        assert!(
            reference_starts(&sig("6162", Offset::FromStart { at: 3, shift: 4 }), hay).is_empty()
        );
        assert_eq!(reference_starts(&sig("6?62", Offset::Any), hay), vec![2, 8]);
    }

    /// Deterministic pseudo-random inputs.
    fn inputs() -> impl Iterator<Item = Vec<u8>> {
        (0..2000u64).map(|seed| {
            let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            (0..160)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        })
    }

    #[test]
    fn hex_round_trips() {
        for data in inputs() {
            for s in case(&data).0 {
                for style in 0..16 {
                    let text = hex(&s.nodes, style);
                    assert!(parse(&text).is_ok(), "{text}");
                }
            }
        }
    }

    /// The oracle is not vacuous: generated cases match often, but not always.
    #[test]
    fn cases_match_sometimes() {
        let (mut sigs, mut matched) = (0, 0);
        for data in inputs() {
            let (gen_sigs, hay) = case(&data);
            for s in &gen_sigs {
                sigs += 1;
                matched += usize::from(!reference_starts(s, &hay).is_empty());
            }
        }
        eprintln!("{matched} of {sigs} generated signatures match");
        assert!(
            matched * 5 > sigs && matched * 5 < sigs * 4,
            "{matched} of {sigs}"
        );
    }
}

/// Take every member out of `data` as a container of `kind`, under small
/// caps and a deadline of one second, touching each member's bytes. Errors
/// and cut members are fine; panics, hangs and runaway memory are what the
/// fuzzers look for.
pub fn unpack_all(kind: ward::unpack::Kind, data: &[u8]) {
    use std::ops::ControlFlow;
    use ward::unpack::{Caps, Found, unpack};

    let caps = Caps {
        member: 1 << 20,
        memory: 256 << 10,
        ratio: 100,
        deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(1)),
    };
    let mut scratch = Scratch::default();
    let mut sum = 0u64;
    unpack(kind, data, &caps, &mut scratch, &mut |found| {
        match found {
            Found::Member { name, data, .. } => {
                sum = data
                    .iter()
                    .chain(name)
                    .fold(sum, |s, &b| s.wrapping_add(u64::from(b)));
            }
            Found::Encrypted { name } => sum = sum.wrapping_add(name.len() as u64),
            _ => {}
        }
        ControlFlow::Continue(())
    });
    std::hint::black_box(sum);
}
