//! `.wardset`: ward's compiled signature set, written by `ward sigs compile` and
//! read like any other signature file. (Its extension is one no ClamAV database
//! uses: ClamAV's own `.wdb` is a phishing allow list.) It holds parsed
//! signatures, so loading skips all text parsing; compiling the automaton still
//! happens at load (it takes less time than reading the file would save, and
//! keeps one code path for every source).
//!
//! Layout (integers little-endian):
//!
//! ```text
//! magic    8 bytes  "\x7fWARDDB\n"
//! version  u32      FORMAT_VERSION
//! length   u64      payload length
//! checksum 32 bytes SHA-256 of the payload
//! payload           body, hash, allow and ignore records
//! ```
//!
//! A foreign, truncated, corrupt or newer file is rejected with a reason before
//! anything from it is used. Every count in the payload is checked against the
//! bytes that remain, so a hostile file cannot make the reader allocate more
//! than the file's own size.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::hexpat::{MAX_ALTERNATIVES, MAX_BRANCH_NODES};
use super::{BodySig, Database, HashKind, HashSig, Node, Offset, TargetType, Tok, Trailer};

/// First bytes of every compiled set.
pub const MAGIC: &[u8; 8] = b"\x7fWARDDB\n";
/// The extension of a compiled set.
pub const EXTENSION: &str = "wardset";
/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 32;

/// Encode a database (its body, hash, allow and ignore entries; warnings are not kept).
pub fn encode(db: &Database) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(db.body.len() as u32);
    for s in &db.body {
        w.body(s);
    }
    for list in [&db.hashes, &db.allow] {
        w.u32(list.len() as u32);
        for h in list {
            w.hash(h);
        }
    }
    let mut ignored: Vec<&String> = db.ignored.iter().collect();
    ignored.sort();
    w.u32(ignored.len() as u32);
    for name in ignored {
        w.str(name);
    }
    let mut out = Vec::with_capacity(HEADER + w.0.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(w.0.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&w.0));
    out.extend_from_slice(&w.0);
    out
}

/// Decode a compiled set into `db`; the error says what is wrong.
pub fn decode(bytes: &[u8], db: &mut Database) -> Result<(), String> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err("not a ward database (bad magic)".into());
    }
    if bytes.len() < HEADER {
        return Err("truncated header".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}, this ward reads version {FORMAT_VERSION}: recompile it with `ward sigs compile`"
        ));
    }
    let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap_or_default());
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != len {
        return Err(format!(
            "payload is {} bytes, header says {len}: truncated or extended",
            payload.len()
        ));
    }
    if Sha256::digest(payload)[..] != bytes[20..52] {
        return Err("checksum mismatch: the file is corrupt".into());
    }
    let mut r = Reader { b: payload, at: 0 };
    let mut out = Database::new();
    let n = r.count(8)?;
    out.body.reserve(n);
    for _ in 0..n {
        out.body.push(r.body()?);
    }
    for _ in 0..r.count(4)? {
        out.hashes.push(r.hash()?);
    }
    for _ in 0..r.count(4)? {
        out.allow.push(r.hash()?);
    }
    for _ in 0..r.count(4)? {
        out.ignored.insert(r.str()?.to_owned());
    }
    if r.at != r.b.len() {
        return Err(format!("{} unexpected bytes at the end", r.b.len() - r.at));
    }
    db.merge(out);
    Ok(())
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn tok(&mut self, t: Tok) {
        self.u8(t.value);
        self.u8(t.mask);
    }

    fn body(&mut self, s: &BodySig) {
        self.str(&s.name);
        self.u8(match s.target {
            TargetType::Pe => 1,
            TargetType::Elf => 6,
            TargetType::MachO => 9,
            TargetType::Text => 7,
            TargetType::Mail => 4,
            TargetType::Html => 3,
            _ => 0,
        });
        let (kind, a, b) = match s.offset {
            Offset::Any => (0, 0, 0),
            Offset::FromStart { at, shift } => (1, at, shift),
            Offset::FromEnd { back, shift } => (2, back, shift),
        };
        self.u8(kind);
        self.u64(a);
        self.u64(b);
        match s.trailer {
            Some(Trailer::Whitespace { max_size }) => {
                self.u8(1);
                self.u64(max_size);
            }
            _ => self.u8(0),
        }
        self.u32(s.nodes.len() as u32);
        for n in &s.nodes {
            match n {
                Node::Tok(t) => {
                    self.u8(0);
                    self.tok(*t);
                }
                Node::Alt { alts, negated } => {
                    self.u8(1);
                    self.u8(u8::from(*negated));
                    self.u32(alts.len() as u32);
                    for a in alts.iter() {
                        self.u32(a.len() as u32);
                        a.iter().for_each(|t| self.tok(*t));
                    }
                }
                Node::Gap { min, max } => {
                    self.u8(2);
                    self.u32(*min);
                    self.u8(u8::from(max.is_some()));
                    self.u32(max.unwrap_or(0));
                }
            }
        }
    }

    fn hash(&mut self, h: &HashSig) {
        self.str(&h.name);
        self.u8(match h.kind {
            HashKind::Md5 => 0,
            HashKind::Sha1 => 1,
            HashKind::Sha256 => 2,
        });
        self.u8(h.digest.len() as u8);
        self.0.extend_from_slice(&h.digest);
        self.u8(u8::from(h.size.is_some()));
        self.u64(h.size.unwrap_or(0));
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| format!("truncated record at payload byte {}", self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
    /// A count of records each at least `min_size` bytes long, checked against
    /// what remains so no allocation can exceed the file.
    fn count(&mut self, min_size: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.b.len() - self.at {
            return Err(format!(
                "count {n} at payload byte {} exceeds the file",
                self.at - 4
            ));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<&str, String> {
        let n = self.u32()? as usize;
        let at = self.at;
        std::str::from_utf8(self.take(n)?)
            .map_err(|_| format!("invalid UTF-8 at payload byte {at}"))
    }
    fn tok(&mut self) -> Result<Tok, String> {
        let (value, mask) = (self.u8()?, self.u8()?);
        Ok(Tok {
            value: value & mask,
            mask,
        })
    }

    fn body(&mut self) -> Result<BodySig, String> {
        let name: Arc<str> = Arc::from(self.str()?);
        let bad = |what: &str| format!("signature {name}: {what}");
        let target = match self.u8()? {
            0 => TargetType::Any,
            1 => TargetType::Pe,
            6 => TargetType::Elf,
            9 => TargetType::MachO,
            7 => TargetType::Text,
            4 => TargetType::Mail,
            3 => TargetType::Html,
            t => return Err(bad(&format!("unknown target type {t}"))),
        };
        let (kind, a, b) = (self.u8()?, self.u64()?, self.u64()?);
        let offset = match kind {
            0 => Offset::Any,
            1 => Offset::FromStart { at: a, shift: b },
            2 => Offset::FromEnd { back: a, shift: b },
            k => return Err(bad(&format!("unknown offset kind {k}"))),
        };
        let trailer = match self.u8()? {
            0 => None,
            1 => Some(Trailer::Whitespace {
                max_size: self.u64()?,
            }),
            t => return Err(bad(&format!("unknown trailer {t}"))),
        };
        // `count` has checked that the file holds this many (2 bytes at least each).
        let n = self.count(2)?;
        let mut nodes = Vec::with_capacity(n);
        for _ in 0..n {
            nodes.push(self.node().map_err(|e| bad(&e))?);
        }
        check_nodes(&nodes).map_err(bad)?;
        Ok(BodySig {
            name,
            target,
            offset,
            nodes,
            trailer,
        })
    }

    fn node(&mut self) -> Result<Node, String> {
        Ok(match self.u8()? {
            0 => Node::Tok(self.tok()?),
            1 => {
                let negated = self.u8()? != 0;
                let n = self.count(6)?;
                if n > MAX_ALTERNATIVES {
                    return Err("too many alternatives".into());
                }
                let mut alts = Vec::with_capacity(n);
                for _ in 0..n {
                    let len = self.count(2)?;
                    alts.push(
                        (0..len)
                            .map(|_| self.tok())
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                Node::Alt {
                    alts: Box::new(alts),
                    negated,
                }
            }
            2 => {
                let min = self.u32()?;
                let (has_max, max) = (self.u8()? != 0, self.u32()?);
                Node::Gap {
                    min,
                    max: has_max.then_some(max),
                }
            }
            t => return Err(format!("unknown node type {t}")),
        })
    }

    fn hash(&mut self) -> Result<HashSig, String> {
        let name: Arc<str> = Arc::from(self.str()?);
        let kind = match self.u8()? {
            0 => HashKind::Md5,
            1 => HashKind::Sha1,
            2 => HashKind::Sha256,
            k => return Err(format!("hash signature {name}: unknown kind {k}")),
        };
        let len = self.u8()? as usize;
        let expected = match kind {
            HashKind::Md5 => 16,
            HashKind::Sha1 => 20,
            HashKind::Sha256 => 32,
        };
        if len != expected {
            return Err(format!("hash signature {name}: digest of {len} bytes"));
        }
        let digest = self.take(len)?.to_vec();
        let (has_size, size) = (self.u8()? != 0, self.u64()?);
        Ok(HashSig {
            name,
            kind,
            digest,
            size: has_size.then_some(size),
        })
    }
}

/// The invariants the parser guarantees for text signatures.
fn check_nodes(nodes: &[Node]) -> Result<(), &'static str> {
    let branches = nodes.iter().filter(|n| !matches!(n, Node::Tok(_))).count();
    let gap = |n: Option<&Node>| matches!(n, Some(Node::Gap { .. }));
    if nodes.is_empty() || gap(nodes.first()) || gap(nodes.last()) {
        return Err("empty pattern or leading/trailing gap");
    }
    if branches > MAX_BRANCH_NODES || nodes.windows(2).any(|w| gap(w.first()) && gap(w.get(1))) {
        return Err("too many or adjacent gaps");
    }
    for n in nodes {
        match n {
            Node::Alt { alts, negated } => {
                let ragged = *negated && alts.iter().any(|a| a.len() != alts[0].len());
                if alts.is_empty() || alts.iter().any(Vec::is_empty) || ragged {
                    return Err("malformed alternation");
                }
            }
            Node::Gap { min, max: Some(m) } if m < min => return Err("gap range runs backwards"),
            _ => {}
        }
    }
    if !super::has_static_byte(nodes) {
        return Err("no fixed byte");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sig::Format;
    use std::path::Path;

    fn sample() -> Database {
        let mut db = Database::builtin();
        let ndb = "A:0:*:41424344{2-5}(aa|bbcc)!(01|02)*4?5a\nB:1:EOF-10,4:4d5a??90\nC:6:100:7f454c46\nD:4:*:46726f6d3a\n";
        db.load_bytes(Format::Ndb, Path::new("s.ndb"), ndb.as_bytes())
            .unwrap();
        let hsb = format!("{}:*:H1:73\n{}:12:H2\n", "ab".repeat(32), "cd".repeat(20));
        db.load_bytes(Format::Hash, Path::new("s.hsb"), hsb.as_bytes())
            .unwrap();
        db.load_bytes(
            Format::Allow,
            Path::new("s.sfp"),
            format!("{}:5:F\n", "ef".repeat(32)).as_bytes(),
        )
        .unwrap();
        db.load_bytes(Format::Ignore, Path::new("s.ign2"), b"B\n")
            .unwrap();
        db
    }

    #[test]
    fn round_trips_exactly() {
        let db = sample();
        let bytes = encode(&db);
        let mut back = Database::new();
        decode(&bytes, &mut back).unwrap();
        assert_eq!(format!("{:?}", back.body), format!("{:?}", db.body));
        assert_eq!(format!("{:?}", back.hashes), format!("{:?}", db.hashes));
        assert_eq!(format!("{:?}", back.allow), format!("{:?}", db.allow));
        assert_eq!(back.ignored, db.ignored);
        assert_eq!(encode(&back), bytes, "encoding is deterministic");
    }

    #[test]
    fn rejects_foreign_corrupt_truncated_and_newer() {
        let bytes = encode(&sample());
        let err = |b: &[u8]| decode(b, &mut Database::new()).unwrap_err();
        assert!(err(b"A:0:*:41424344\n").contains("bad magic"));
        assert!(err(&bytes[..30]).contains("truncated header"));
        assert!(err(&bytes[..bytes.len() - 1]).contains("truncated"));
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(err(&flipped).contains("checksum"));
        let mut newer = bytes.clone();
        newer[8] = 2;
        assert!(err(&newer).contains("version 2"));
        // A valid checksum over a hostile payload: counts beyond the file.
        let mut payload = vec![0xff, 0xff, 0xff, 0x7f];
        payload.extend_from_slice(&[0; 12]);
        let mut hostile = MAGIC.to_vec();
        hostile.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        hostile.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        hostile.extend_from_slice(&Sha256::digest(&payload));
        hostile.extend_from_slice(&payload);
        assert!(err(&hostile).contains("exceeds the file"));
    }
}
