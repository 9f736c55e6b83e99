//! `.wardset`: ward's compiled signature set, written by `ward sigs compile` and
//! read like any other signature file. (Its extension is one no ClamAV database
//! uses: ClamAV's own `.wdb` is a phishing allow list.) It holds parsed
//! signatures, so loading skips all text parsing. The hash tables, which make
//! up nearly all of a large set, are stored sorted in the layout the index
//! searches (see [`super::hashtable`]): loading maps the file (or reads it,
//! see [`super::mapped`]) and searches them where they lie. Body signatures are decoded and their
//! automaton built at load (one code path for every source).
//!
//! Layout (integers little-endian):
//!
//! ```text
//! magic    8 bytes  "\x7fWARDDB\n"
//! version  u32      FORMAT_VERSION
//! length   u64      payload length
//! checksum u64      XXH3-64 of the payload
//! payload:
//!   meta            u64 length, then the body and ignore records
//!   hashes, allow   each: five parts, each a u64 length then its bytes: the
//!                   MD5, SHA-1 and SHA-256 record tables (sorted), the names
//!                   end to end, their u32 end offsets
//! ```
//!
//! The checksum is XXH3 rather than a cryptographic hash because it must run
//! over hundreds of MiB within the load time; it catches corruption, not
//! tampering (whoever can write the file chooses the signatures anyway).
//!
//! A foreign, truncated, corrupt or newer file is rejected with a reason before
//! anything from it is used. Every count in the payload is checked against the
//! bytes that remain, so a hostile file cannot make the reader allocate more
//! than the file's own size, and every table range is checked against the file.

use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::hashtable::{KINDS, Segment};
use super::hexpat::{MAX_ALTERNATIVES, MAX_BRANCH_NODES};
use super::{BodySig, Database, DatabaseError, HashTable, Node, Offset, TargetType, Tok, Trailer};

/// First bytes of every compiled set.
pub const MAGIC: &[u8; 8] = b"\x7fWARDDB\n";
/// The extension of a compiled set.
pub const EXTENSION: &str = "wardset";
/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;
const HEADER: usize = 8 + 4 + 8 + 8;

/// A shared, read-only buffer (a compiled set's whole file).
type Shared = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Encode a database (its body, hash, allow and ignore entries; warnings are
/// not kept).
pub fn encode(db: &Database) -> Vec<u8> {
    let mut out = Vec::new();
    write(db, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// Write a database as a compiled set to `out`. Hash tables already sorted in
/// one segment each (see [`HashTable::sort`]) are written without a copy.
pub fn write(db: &Database, out: &mut impl Write) -> std::io::Result<()> {
    let mut w = Writer::default();
    w.u32(db.body.len() as u32);
    for s in &db.body {
        w.body(s);
    }
    let mut ignored: Vec<&String> = db.ignored.iter().collect();
    ignored.sort();
    w.u32(ignored.len() as u32);
    for name in ignored {
        w.str(name);
    }
    let (hashes, allow) = (one_segment(&db.hashes), one_segment(&db.allow));
    let mut parts: Vec<&[u8]> = vec![&w.0];
    for seg in [&hashes, &allow] {
        let seg: &Segment = seg;
        parts.extend(KINDS.map(|k| seg.records(k)));
        parts.extend([seg.names(), seg.name_ends()]);
    }
    let lengths: Vec<[u8; 8]> = parts
        .iter()
        .map(|p| (p.len() as u64).to_le_bytes())
        .collect();
    let mut sum = twox_hash::XxHash3_64::new();
    let mut len = 0u64;
    for (l, p) in lengths.iter().zip(&parts) {
        std::hash::Hasher::write(&mut sum, l);
        std::hash::Hasher::write(&mut sum, p);
        len += 8 + p.len() as u64;
    }
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&std::hash::Hasher::finish(&sum).to_le_bytes())?;
    for (l, p) in lengths.iter().zip(&parts) {
        out.write_all(l)?;
        out.write_all(p)?;
    }
    Ok(())
}

/// `payload` behind a valid header (magic, version, length, checksum): what
/// [`write`] produces around its payload. For tests and fuzzing, which must
/// reach the payload decoder with bytes of their own.
pub fn seal(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&twox_hash::XxHash3_64::oneshot(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A table as one sorted segment: borrowed when it is one already.
fn one_segment(table: &HashTable) -> std::borrow::Cow<'_, Segment> {
    match table.segments() {
        [one] if one.is_sorted() => std::borrow::Cow::Borrowed(one),
        _ => std::borrow::Cow::Owned(table.joined()),
    }
}

/// Load the compiled set at `path` into `db`.
pub fn load_file(path: &Path, db: &mut Database) -> Result<(), DatabaseError> {
    let io = |source| DatabaseError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let buf: Shared = match super::mapped::map(&file) {
        Some(map) => Arc::new(map),
        None => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io)?;
            Arc::new(bytes)
        }
    };
    decode_shared(buf, db).map_err(|reason| DatabaseError::Corrupt {
        path: path.to_owned(),
        reason,
    })
}

/// Decode a compiled set into `db`; the error says what is wrong.
pub fn decode(bytes: &[u8], db: &mut Database) -> Result<(), String> {
    decode_shared(Arc::new(bytes.to_vec()), db)
}

fn decode_shared(buf: Shared, db: &mut Database) -> Result<(), String> {
    let bytes = (*buf).as_ref();
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
    if twox_hash::XxHash3_64::oneshot(payload).to_le_bytes()[..] != bytes[20..28] {
        return Err("checksum mismatch: the file is corrupt".into());
    }
    let mut parts = Parts { b: payload, at: 0 };
    let meta = parts.next()?;
    let mut r = Reader {
        b: &payload[meta.clone()],
        at: 0,
    };
    let mut out = Database::new();
    let n = r.count(8)?;
    out.body.reserve(n);
    for _ in 0..n {
        out.body.push(r.body()?);
    }
    for _ in 0..r.count(4)? {
        out.ignored.insert(r.str()?.to_owned());
    }
    if r.at != r.b.len() {
        return Err(format!(
            "{} unexpected bytes after the records",
            r.b.len() - r.at
        ));
    }
    for (table, what) in [(&mut out.hashes, "hash"), (&mut out.allow, "allow-list")] {
        let mut next = || parts.next().map(|r| r.start + HEADER..r.end + HEADER);
        let records = [next()?, next()?, next()?];
        let (names, ends) = (next()?, next()?);
        let seg = Segment::shared(&buf, records, names, ends).map_err(|e| format!("{what} {e}"))?;
        table.push_segment(seg);
    }
    if parts.at != payload.len() {
        return Err(format!(
            "{} unexpected bytes at the end",
            payload.len() - parts.at
        ));
    }
    db.merge(out);
    Ok(())
}

/// The length-prefixed parts of a payload.
struct Parts<'a> {
    b: &'a [u8],
    at: usize,
}

impl Parts<'_> {
    /// The range of the next part.
    fn next(&mut self) -> Result<Range<usize>, String> {
        let len = self
            .b
            .get(self.at..self.at + 8)
            .map(|l| u64::from_le_bytes(l.try_into().unwrap_or_default()))
            .ok_or_else(|| format!("truncated part at payload byte {}", self.at))?;
        let start = self.at + 8;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| {
                format!(
                    "part of {len} bytes at payload byte {} exceeds the file",
                    self.at
                )
            })?;
        self.at = end;
        Ok(start..end)
    }
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
        let entries = |t: &HashTable| {
            let mut v: Vec<String> = t.iter().map(|e| format!("{e:?}")).collect();
            v.sort();
            v
        };
        assert_eq!(entries(&back.hashes), entries(&db.hashes));
        assert_eq!(entries(&back.allow), entries(&db.allow));
        assert_eq!(back.hashes.len(), 3);
        assert_eq!(back.ignored, db.ignored);
        assert_eq!(encode(&back), bytes, "encoding is deterministic");
    }

    #[test]
    fn rejects_foreign_corrupt_truncated_and_newer() {
        let bytes = encode(&sample());
        let err = |b: &[u8]| decode(b, &mut Database::new()).unwrap_err();
        assert!(err(b"A:0:*:41424344\n").contains("bad magic"));
        assert!(err(&bytes[..20]).contains("truncated header"));
        assert!(err(&bytes[..bytes.len() - 1]).contains("truncated"));
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(err(&flipped).contains("checksum"));
        let mut newer = bytes.clone();
        newer[8] = 3;
        assert!(err(&newer).contains("version 3"));
        // A valid checksum over a hostile payload: counts beyond the file.
        let mut payload = 16u64.to_le_bytes().to_vec();
        payload.extend_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
        payload.extend_from_slice(&[0; 12]);
        let hostile = seal(&payload);
        assert!(err(&hostile).contains("exceeds the file"));
        // A table range past the end of the payload.
        let mut payload = 8u64.to_le_bytes().to_vec();
        payload.extend_from_slice(&[0; 8]);
        payload.extend_from_slice(&u64::MAX.to_le_bytes());
        let hostile = seal(&payload);
        assert!(err(&hostile).contains("exceeds the file"));
    }
}
