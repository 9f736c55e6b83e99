//! ClamAV logical signatures (`.ldb`, `.ldu`):
//! `Name;TargetDescriptionBlock;LogicalExpression;Subsig0;Subsig1;…`.
//!
//! The target description block is `Key:Value` pairs, `Engine` first when
//! present. The expression combines subsignature indices with `&`, `|` and
//! parentheses, and counts: `X=N`, `X>N`, `X<N` on a subsignature (its number
//! of matches), `(…)=N,M`, `(…)>N,M`, `(…)<N,M` on a block (its total matches,
//! and at least `M` distinct subsignatures). Grouping is libclamav's
//! (`matcher-ac.c` `cli_ac_chklsig`): an expression splits at its first
//! operator outside parentheses, so `0&1|2` is `0&(1|2)`, but a parenthesised
//! block splits at its last, so `(0|1&2)` is `(0|1)&2`.
//!
//! Subsignatures are `.ndb` bodies, optionally after `offset:`, with the
//! modifiers `::i` (case-insensitive), `::w` (wide: each byte followed by a
//! NUL), `::a` (with `w`: ASCII as well). What ward cannot match with
//! ClamAV's meaning (entry-point and section offsets, `::f` full-word
//! matches, PCRE, byte-compare and macro subsignatures, file types that need
//! a normaliser, keys of the block ward does not evaluate) makes the
//! signature [`Parsed::Unsupported`]: skipped with a warning, never matched
//! differently.

use std::sync::Arc;

use super::hexpat::{self, Node, Tok};
use super::ndb::{FLEVEL, parse_offset};
use super::{LineError, Offset, TargetType};

/// At most this many subsignatures (libclamav `MAX_LDB_SUBSIGS`).
pub const MAX_SUBSIGS: usize = 64;

/// A logical signature ward can match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicalSig {
    /// Name, exactly as in the database.
    pub name: Arc<str>,
    /// The file type it applies to (`Target`).
    pub target: TargetType,
    /// Inclusive file size range (`FileSize`).
    pub file_size: Option<(u64, u64)>,
    /// The logical expression.
    pub expr: Expr,
    /// The subsignatures, by index.
    pub subsigs: Vec<SubSig>,
}

/// One subsignature: where it may start, and its pattern (two forms for
/// `::wa`, either of which counts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubSig {
    /// Where a match must start.
    pub offset: Offset,
    /// The pattern, and the wide form too for `::wa`.
    pub forms: Vec<Vec<Node>>,
    /// Whether the atom search ignores ASCII case (`::i`).
    pub nocase: bool,
}

/// A count condition: `=N`, `>N`, `<N`, with a distinct-subsignature minimum
/// for blocks (`,M`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    /// `=`, `>` or `<`.
    pub op: u8,
    /// N.
    pub n: u32,
    /// M (0: none).
    pub distinct: u32,
}

impl Count {
    fn holds(self, v: u32) -> bool {
        match self.op {
            b'=' => v == self.n,
            b'>' => v > self.n,
            _ => v < self.n,
        }
    }
}

/// A logical expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A subsignature, with an optional count.
    Sub(u8, Option<Count>),
    /// `&` (`and: true`) or `|` of two expressions.
    Op {
        /// Whether it is `&`.
        and: bool,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// A count on the parenthesised block.
        count: Option<Count>,
    },
}

impl Expr {
    /// Evaluate over per-subsignature match counts, as `cli_ac_chklsig`
    /// does: whether it holds, adding to `cnt` (matches) and `ids` (which
    /// subsignatures).
    pub fn eval(&self, counts: &[u32], cnt: &mut u32, ids: &mut u64) -> bool {
        match self {
            Expr::Sub(i, count) => {
                let v = counts.get(*i as usize).copied().unwrap_or(0);
                let ok = match count {
                    Some(c) => c.holds(v),
                    None => v > 0,
                };
                if ok {
                    *cnt = cnt.saturating_add(v);
                    *ids |= 1u64 << i;
                }
                ok
            }
            Expr::Op {
                and,
                left,
                right,
                count,
            } => {
                let (mut lc, mut li, mut rc, mut ri) = (0, 0, 0, 0);
                let l = left.eval(counts, &mut lc, &mut li);
                let r = right.eval(counts, &mut rc, &mut ri);
                let ok = if *and { l && r } else { l || r };
                match count {
                    None => {
                        if ok {
                            *cnt = cnt.saturating_add(lc + rc);
                            *ids |= li | ri;
                        }
                        ok
                    }
                    Some(c) => {
                        let (t, tids) = if ok { (lc + rc, li | ri) } else { (0, 0) };
                        if !c.holds(t) || tids.count_ones() < c.distinct {
                            return false;
                        }
                        *cnt = cnt.saturating_add(t);
                        true
                    }
                }
            }
        }
    }

    /// The highest subsignature index it names.
    fn max_index(&self) -> u8 {
        match self {
            Expr::Sub(i, _) => *i,
            Expr::Op { left, right, .. } => left.max_index().max(right.max_index()),
        }
    }
}

/// What a line turned into.
#[derive(Debug)]
pub enum Parsed {
    /// A signature ward will match.
    Sig(LogicalSig),
    /// A well-formed signature ward will not use, and why.
    Unsupported(String),
    /// A signature for a different engine level, dropped silently.
    OutOfLevel,
}

/// Parse one `.ldb` line (without its line ending).
pub fn parse_line(line: &str) -> Result<Parsed, LineError> {
    let fields: Vec<&str> = line.split(';').collect();
    let col = |idx: usize| fields[..idx].iter().map(|f| f.len() + 1).sum::<usize>();
    if fields.len() < 4 {
        return Err(LineError::new(
            0,
            format!(
                "expected Name;TargetDescription;Expression;Subsig…, found {} fields",
                fields.len()
            ),
        ));
    }
    if fields.len() - 3 > MAX_SUBSIGS {
        return Err(LineError::new(
            col(3 + MAX_SUBSIGS),
            format!("more than {MAX_SUBSIGS} subsignatures"),
        ));
    }
    if fields[0].is_empty() {
        return Err(LineError::new(0, "empty signature name"));
    }
    let tdb = match parse_tdb(fields[1]).map_err(|e| e.shifted(col(1)))? {
        Tdb::Ok(t) => t,
        Tdb::Unsupported(why) => return Ok(Parsed::Unsupported(why)),
        Tdb::OutOfLevel => return Ok(Parsed::OutOfLevel),
    };
    let expr = parse_expr(fields[2].as_bytes()).map_err(|e| e.shifted(col(2)))?;
    let n = fields.len() - 3;
    if expr.max_index() as usize >= n {
        return Err(LineError::new(
            col(2),
            format!("expression names subsignature {} of {n}", expr.max_index()),
        ));
    }
    let mut subsigs = Vec::with_capacity(n);
    for (k, text) in fields[3..].iter().enumerate() {
        match parse_subsig(text).map_err(|e| e.shifted(col(3 + k)))? {
            Ok(s) => subsigs.push(s),
            Err(why) => return Ok(Parsed::Unsupported(format!("subsignature {k}: {why}"))),
        }
    }
    Ok(Parsed::Sig(LogicalSig {
        name: fields[0].into(),
        target: tdb.target,
        file_size: tdb.file_size,
        expr,
        subsigs,
    }))
}

impl LineError {
    fn shifted(mut self, by: usize) -> LineError {
        self.column += by;
        self
    }
}

struct TargetDesc {
    target: TargetType,
    file_size: Option<(u64, u64)>,
}

enum Tdb {
    Ok(TargetDesc),
    Unsupported(String),
    OutOfLevel,
}

fn parse_tdb(text: &str) -> Result<Tdb, LineError> {
    let mut out = TargetDesc {
        target: TargetType::Any,
        file_size: None,
    };
    let mut at = 0;
    let mut engine_min = None;
    let mut newer_key = None;
    for (k, attr) in text.split(',').enumerate() {
        let col = at;
        at += attr.len() + 1;
        let (key, value) = attr
            .split_once(':')
            .ok_or_else(|| LineError::new(col, format!("'{attr}' is not Key:Value")))?;
        let range = || {
            parse_range(value).ok_or_else(|| {
                LineError::new(col + key.len() + 1, format!("'{value}' is not a range X-Y"))
            })
        };
        match key {
            "Engine" => {
                if k != 0 {
                    return Err(LineError::new(col, "Engine must come first"));
                }
                let (lo, hi) = range()?;
                if (FLEVEL as u64) < lo || (FLEVEL as u64) > hi {
                    return Ok(Tdb::OutOfLevel);
                }
                engine_min = Some(lo);
            }
            "Target" => {
                let t: u32 = super::decimal(value).ok_or_else(|| {
                    LineError::new(col + 7, format!("target '{value}' is not a number"))
                })?;
                out.target = match t {
                    0 => TargetType::Any,
                    1 => TargetType::Pe,
                    6 => TargetType::Elf,
                    9 => TargetType::MachO,
                    4 => TargetType::Mail,
                    3 => TargetType::Html,
                    t => {
                        return Ok(Tdb::Unsupported(format!(
                            "target type {t} (needs a file-type normaliser) is not supported"
                        )));
                    }
                };
            }
            "FileSize" => {
                newer_key.get_or_insert(col);
                out.file_size = Some(range()?);
            }
            "EntryPoint" | "NumberOfSections" | "Container" | "Intermediates" | "HandlerType"
            | "IconGroup1" | "IconGroup2" => {
                return Ok(Tdb::Unsupported(format!(
                    "target description key {key} is not evaluated"
                )));
            }
            other => {
                return Ok(Tdb::Unsupported(format!(
                    "unknown target description key '{other}'"
                )));
            }
        }
    }
    // As libclamav's `lsigattribs`: keys newer than Target need Engine.
    if let Some(col) = newer_key
        && engine_min.is_none_or(|m| m < 51)
    {
        return Err(LineError::new(
            col,
            "attributes other than Target need Engine:51 or later first",
        ));
    }
    Ok(Tdb::Ok(out))
}

/// `X-Y`, `X-` or `X` as an inclusive range.
fn parse_range(text: &str) -> Option<(u64, u64)> {
    match text.split_once('-') {
        Some((lo, "")) => Some((super::decimal(lo)?, u64::MAX)),
        Some((lo, hi)) => Some((super::decimal(lo)?, super::decimal(hi)?)),
        None => {
            let v = super::decimal(text)?;
            Some((v, v))
        }
    }
}

/// Parse a logical expression with libclamav's grouping.
pub fn parse_expr(text: &[u8]) -> Result<Expr, LineError> {
    if text.len() > 4096 {
        return Err(LineError::new(0, "expression longer than 4096 bytes"));
    }
    expr_at(text, 0, 0)
}

fn expr_at(t: &[u8], base: usize, depth: usize) -> Result<Expr, LineError> {
    let err = |at: usize, why: &str| LineError::new(base + at, why.to_owned());
    if depth > 200 {
        return Err(err(0, "expression nested too deeply"));
    }
    if t.is_empty() {
        return Err(err(0, "empty expression"));
    }
    // The first operator outside parentheses splits it.
    let mut level = 0usize;
    for (i, &c) in t.iter().enumerate() {
        match c {
            b'(' => level += 1,
            b')' => {
                level = level
                    .checked_sub(1)
                    .ok_or_else(|| err(i, "')' without '('"))?
            }
            b'&' | b'|' if level == 0 => {
                return Ok(Expr::Op {
                    and: c == b'&',
                    left: Box::new(expr_at(&t[..i], base, depth + 1)?),
                    right: Box::new(expr_at(&t[i + 1..], base + i + 1, depth + 1)?),
                    count: None,
                });
            }
            _ => {}
        }
    }
    if level != 0 {
        return Err(err(t.len(), "'(' without ')'"));
    }
    if t[0] == b'(' {
        let close = matching(t).ok_or_else(|| err(0, "'(' without ')'"))?;
        let count = parse_count(&t[close + 1..], true).map_err(|why| err(close + 1, &why))?;
        // Inside a block, libclamav splits at the last operator.
        let body = &t[1..close];
        if let Some(k) = last_op(body) {
            return Ok(Expr::Op {
                and: body[k] == b'&',
                left: Box::new(expr_at(&body[..k], base + 1, depth + 1)?),
                right: Box::new(expr_at(&body[k + 1..], base + k + 2, depth + 1)?),
                count,
            });
        }
        let inner = expr_at(body, base + 1, depth + 1)?;
        return Ok(match (inner, count) {
            (e, None) => e,
            (
                Expr::Op {
                    and,
                    left,
                    right,
                    count: None,
                },
                count,
            ) => Expr::Op {
                and,
                left,
                right,
                count,
            },
            (Expr::Sub(i, None), Some(c)) if c.distinct == 0 => Expr::Sub(i, Some(c)),
            _ => return Err(err(close + 1, "a count on a block that has one already")),
        });
    }
    let digits = t.iter().take_while(|b| b.is_ascii_digit()).count();
    let index: u32 = std::str::from_utf8(&t[..digits])
        .ok()
        .and_then(super::decimal)
        .ok_or_else(|| err(0, "expected a subsignature index"))?;
    if index as usize >= MAX_SUBSIGS {
        return Err(err(0, "subsignature index out of range"));
    }
    let count = parse_count(&t[digits..], false).map_err(|why| err(digits, &why))?;
    Ok(Expr::Sub(index as u8, count))
}

/// The last `&` or `|` outside parentheses.
fn last_op(t: &[u8]) -> Option<usize> {
    let mut level = 0usize;
    let mut last = None;
    for (i, &c) in t.iter().enumerate() {
        match c {
            b'(' => level += 1,
            b')' => level = level.saturating_sub(1),
            b'&' | b'|' if level == 0 => last = Some(i),
            _ => {}
        }
    }
    last
}

/// The index of the `)` that closes the `(` at 0.
fn matching(t: &[u8]) -> Option<usize> {
    let mut level = 0;
    for (i, &c) in t.iter().enumerate() {
        match c {
            b'(' => level += 1,
            b')' => {
                level -= 1;
                if level == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `=N`, `>N`, `<N`, and for a block `,M` after it; empty: none.
fn parse_count(t: &[u8], block: bool) -> Result<Option<Count>, String> {
    let Some((&op, rest)) = t.split_first() else {
        return Ok(None);
    };
    if !matches!(op, b'=' | b'>' | b'<') {
        return Err(format!("unexpected '{}'", op.escape_ascii()));
    }
    let text = std::str::from_utf8(rest).map_err(|_| "not text")?;
    let (n, m) = match text.split_once(',') {
        Some((n, m)) => (n, Some(m)),
        None => (text, None),
    };
    let num = |s: &str| super::decimal::<u32>(s).ok_or_else(|| format!("'{s}' is not a count"));
    let n = num(n)?;
    let distinct = match m {
        Some(m) => num(m)?,
        None => 0,
    };
    // On a subsignature, ClamAV reads only N.
    Ok(Some(Count {
        op,
        n,
        distinct: if block { distinct } else { 0 },
    }))
}

/// Parse a subsignature; the inner `Err` says why ward cannot match it.
fn parse_subsig(text: &str) -> Result<Result<SubSig, String>, LineError> {
    // No hex body, offset or modifier has a '/', '#' or '$'.
    if text.contains('/') {
        return Ok(Err("PCRE subsignatures are not supported".into()));
    }
    if text.contains("#") {
        return Ok(Err(
            "byte-compare and fuzzy-hash subsignatures are not supported".into(),
        ));
    }
    if text.starts_with("${") {
        return Ok(Err("macro subsignatures are not supported".into()));
    }
    let (body, mods) = match text.split_once("::") {
        Some((b, m)) => (b, m),
        None => (text, ""),
    };
    let (offset_text, hex, hex_col) = match body.rsplit_once(':') {
        Some((o, h)) => (Some(o), h, o.len() + 1),
        None => (None, body, 0),
    };
    let offset = match offset_text {
        None => Offset::Any,
        Some(o) => match parse_offset(o).map_err(|e| LineError::new(e.column, e.reason))? {
            Some(off) => off,
            None => {
                return Ok(Err(format!(
                    "offset '{o}' (entry point and section offsets) is not supported"
                )));
            }
        },
    };
    let nodes = hexpat::parse(hex).map_err(|e| LineError::new(hex_col + e.column, e.reason))?;
    let (mut nocase, mut wide, mut ascii) = (false, false, false);
    for m in mods.bytes() {
        match m {
            b'i' => nocase = true,
            b'w' => wide = true,
            b'a' => ascii = true,
            b'f' => return Ok(Err("the full-word modifier ::f is not supported".into())),
            other => {
                return Err(LineError::new(
                    body.len() + 2,
                    format!("unknown modifier '{}'", other.escape_ascii()),
                ));
            }
        }
    }
    if !super::has_static_byte(&nodes) {
        return Err(LineError::new(
            hex_col,
            "pattern has no fixed byte to anchor on",
        ));
    }
    let mut forms = Vec::new();
    if !wide || ascii {
        forms.push(nodes.clone());
    }
    if wide {
        match widen(&nodes) {
            Some(w) => forms.push(w),
            None => {
                return Ok(Err(
                    "a wide (::w) pattern with gaps or alternatives is not supported".into(),
                ));
            }
        }
    }
    if nocase {
        for f in &mut forms {
            fold_case(f);
        }
    }
    Ok(Ok(SubSig {
        offset,
        forms,
        nocase,
    }))
}

/// Each byte followed by a NUL; `None` when the pattern has more than bytes.
fn widen(nodes: &[Node]) -> Option<Vec<Node>> {
    let mut out = Vec::with_capacity(nodes.len() * 2);
    for n in nodes {
        let Node::Tok(t) = n else {
            return None;
        };
        out.push(Node::Tok(*t));
        out.push(Node::Tok(Tok::exact(0)));
    }
    Some(out)
}

/// Letters match either case (`::i`).
fn fold_case(nodes: &mut [Node]) {
    let fold = |t: &mut Tok| {
        if t.is_exact() && t.value.is_ascii_alphabetic() {
            *t = Tok {
                value: t.value & !0x20,
                mask: !0x20,
            };
        }
    };
    for n in nodes {
        match n {
            Node::Tok(t) => fold(t),
            Node::Alt { alts, .. } => alts.iter_mut().flatten().for_each(fold),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(line: &str) -> LogicalSig {
        match parse_line(line).unwrap() {
            Parsed::Sig(s) => s,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn holds(expr: &str, counts: &[u32]) -> bool {
        parse_expr(expr.as_bytes())
            .unwrap()
            .eval(counts, &mut 0, &mut 0)
    }

    #[test]
    fn expressions_as_libclamav_groups_them() {
        assert!(holds("0&1", &[1, 1]));
        assert!(!holds("0&1", &[1, 0]));
        assert!(holds("0|1", &[0, 2]));
        // 0&1|2 is 0&(1|2), but inside parentheses the last operator
        // splits: (0|1&2) is (0|1)&2.
        assert!(!holds("0&1|2", &[0, 0, 1]));
        assert!(holds("(0&1)|2", &[0, 0, 1]));
        assert!(!holds("(0|1&2)", &[1, 0, 0]));
        assert!(holds("0|1&2", &[1, 0, 0]));
        assert!(holds("0=2", &[2]));
        assert!(!holds("0=2", &[3]));
        assert!(holds("0=0", &[0]));
        assert!(holds("0>1", &[2]));
        assert!(holds("0<2", &[1]));
        assert!(holds("(0|1|2)>2,2", &[2, 1, 0]));
        assert!(!holds("(0|1|2)>2,2", &[3, 0, 0]));
        assert!(holds("(0|1)=3", &[1, 2]));
        assert!(holds("(0|1)=0", &[0, 0]));
        assert!(holds("(0|1)<2,1", &[1, 0]));
        assert!(holds("((0|1)>1)&2", &[1, 1, 1]));
        for bad in ["", "(0", "0)", "0&", "&1", "0=", "0=x", "a", "64", "0^1"] {
            assert!(parse_expr(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn lines() {
        let s = sig("Sig1;Target:0;(0&1)|2;41424344;4546::i;0:47484950");
        assert_eq!(s.subsigs.len(), 3);
        assert!(s.subsigs[1].nocase);
        assert_eq!(s.subsigs[2].offset, Offset::FromStart { at: 0, shift: 0 });
        let w = sig("W;Engine:81-255,Target:0;0;41424344::wa");
        assert_eq!(w.subsigs[0].forms.len(), 2);
        assert_eq!(w.subsigs[0].forms[1].len(), 8);
        let f = sig("F;Engine:51-255,FileSize:10-20;0;41424344");
        assert_eq!(f.file_size, Some((10, 20)));
        assert!(parse_line("F;Target:0,FileSize:10-20;0;41424344").is_err());
        for (line, why) in [
            ("P;Target:0;0&1;41424344;0/abc/i", "PCRE"),
            ("E;EntryPoint:0-10;0;41424344", "EntryPoint"),
            ("U;Foo:1;0;41424344", "unknown target description key"),
            ("T;Target:5;0;41424344", "target type 5"),
            ("O;Target:0;0;EP+0:41424344", "offset"),
            ("B;Target:0;0&1;41424344;0(>>2#hb2#=0)", "byte-compare"),
            ("M;Target:0;0&1;41424344;${1-2}12$", "macro"),
            ("FW;Target:0;0;41424344::f", "full-word"),
        ] {
            match parse_line(line).unwrap() {
                Parsed::Unsupported(r) => assert!(r.contains(why), "{line}: {r}"),
                other => panic!("{line}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_line("L;Engine:1-2;0;41424344").unwrap(),
            Parsed::OutOfLevel
        ));
        for bad in [
            "N;Target:0;0",
            ";Target:0;0;41",
            "N;Target:0;1;41424344",
            "N;Target:0;0;4142zz",
            "N;Target:0,Engine:51-255;0;41424344",
            "N;Target:0;0;41424344::q",
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }
}
