//! ClamAV's database containers: `.cvd` (signed), `.cld` (a `.cvd` patched by
//! freshclam) and `.cud` (unsigned, `sigtool --unsigned --build`).
//!
//! A container is a 512-byte header, space padded,
//!
//! ```text
//! ClamAV-VDB:<build time>:<version>:<signatures>:<min functionality level>:<MD5>:<dsig>:<builder>:<build time, seconds>
//! ```
//!
//! then a tar archive, gzip-compressed unless it starts with `COPYING` (what
//! freshclam leaves after patching). Its `.info` member lists every database
//! member with its size and SHA-256, and ends with a `DSIG:` line.
//!
//! What is checked, as in libclamav (`cvd.c` `cli_cvdload`, `dsig.c`,
//! `readdb.c` `cli_loadinfo`):
//!
//! - a `.cvd`: the MD5 of everything after the header must equal the header's,
//!   and the header's digital signature must decode, with ClamAV's public key,
//!   to that MD5. A `.cld` or `.cud` is checked on its MD5 when the header
//!   carries one (freshclam writes `X` there);
//! - a `.cvd` or `.cld`: the `.info`'s own signature (RSA-PSS over SHA-256,
//!   ClamAV's second public key) must verify. A `.cud` is unsigned;
//! - every container: the `.info` header agrees with the container's; each
//!   database member is listed in the `.info`, with its size and SHA-256.
//!
//! A container that fails any check adds nothing and is refused, naming the
//! file. Every size is checked against a cap before anything is allocated.

use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use num_bigint::BigUint;
use sha2::Sha256;

use super::{Database, DatabaseError, Format, SigWarning};

/// The length of a container's header.
pub const HEADER_LEN: usize = 512;

/// The most bytes a container's payload may expand to (ClamAV's official
/// `main.cvd` expands to under 600 MiB).
pub const MAX_PAYLOAD: u64 = 4 << 30;

/// ClamAV's public key for the header signature (`dsig.c`, `CLI_NSTR`,
/// `CLI_ESTR`), decimal.
const CVD_N: &str = "118640995551645342603070001658453189751527774412027743746599405743243142607464144767361060640655844749760788890022283424922762488917565551002467771109669598189410434699034532232228621591089508178591428456220796841621637175567590476666928698770143328137383952820383197532047771780196576957695822641224262693037";
const CVD_E: &str = "100001027";

/// ClamAV's public key for the `.info` signature (`readdb.c`, `INFO_NSTR`,
/// `INFO_ESTR`), decimal.
const INFO_N: &str = "11088894983048545473659556106627194923928941791795047620591658697413581043322715912172496806525381055880964520618400224333320534660299233983755341740679502866829909679955734391392668378361221524205396631090105151641270857277080310734320951653700508941717419168723942507890702904702707587451621691050754307850383399865346487203798464178537392211402786481359824461197231102895415093770394216666324484593935762408468516826633192140826667923494822045805347809932848454845886971706424360558667862775876072059437703365380209101697738577515476935085469455279994113145977994084618328482151013142393373316337519977244732747977";
const INFO_E: &str = "100002049";

/// Which container it is, by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `.cvd`: signed.
    Cvd,
    /// `.cld`: a `.cvd` patched by freshclam; its `.info` is signed.
    Cld,
    /// `.cud`: unsigned.
    Cud,
}

impl Kind {
    /// The kind for a file name's extension.
    pub fn from_path(path: &Path) -> Option<Kind> {
        match path.extension()?.to_str()? {
            "cvd" => Some(Kind::Cvd),
            "cld" => Some(Kind::Cld),
            "cud" => Some(Kind::Cud),
            _ => None,
        }
    }
}

/// A container's header (or its `.info`'s first line).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Header {
    /// Build time as written (`16 Sep 2021 08-32 -0400`).
    pub build_time: String,
    /// Version (freshclam's update number).
    pub version: u32,
    /// Signatures it holds, as the builder counted them.
    pub signatures: u64,
    /// Lowest ClamAV functionality level it is meant for.
    pub flevel: u32,
    /// MD5 of everything after the header, lower-case hex (`None`: `X`).
    pub md5: Option<String>,
    /// Digital signature of the MD5 (`None`: `X`).
    #[serde(skip)]
    pub dsig: Option<String>,
    /// Who built it.
    pub builder: String,
    /// Build time, seconds since the epoch (0 when absent).
    pub build_secs: u64,
}

impl Header {
    /// Parse a header line (trailing spaces and NULs are ignored).
    pub fn parse(text: &[u8]) -> Result<Header, String> {
        let text = std::str::from_utf8(text).map_err(|_| "header is not text")?;
        let text = text.trim_end_matches([' ', '\0', '\n', '\r']);
        let f: Vec<&str> = text.split(':').collect();
        if f[0] != "ClamAV-VDB" {
            return Err("not a ClamAV database container (no ClamAV-VDB header)".into());
        }
        if !(8..=9).contains(&f.len()) {
            return Err(format!("header has {} fields, expected 8 or 9", f.len()));
        }
        let num = |i: usize, what: &str| {
            super::decimal::<u64>(f[i])
                .ok_or_else(|| format!("header {what} '{}' is not a number", f[i]))
        };
        let opt = |s: &str| (s != "X" && !s.is_empty()).then(|| s.to_owned());
        let md5 = opt(f[5]);
        if let Some(m) = &md5
            && (m.len() != 32 || !m.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(format!("header MD5 '{m}' is not 32 hex digits"));
        }
        Ok(Header {
            build_time: f[1].to_owned(),
            version: u32::try_from(num(2, "version")?).map_err(|_| "header version too large")?,
            signatures: num(3, "signature count")?,
            flevel: u32::try_from(num(4, "functionality level")?)
                .map_err(|_| "header functionality level too large")?,
            md5: md5.map(|m| m.to_ascii_lowercase()),
            dsig: opt(f[6]),
            builder: f[7].to_owned(),
            build_secs: if f.len() == 9 {
                num(8, "build time")?
            } else {
                0
            },
        })
    }

    /// Read just the header of a container file.
    pub fn read(path: &Path) -> std::io::Result<Header> {
        let mut buf = [0u8; HEADER_LEN];
        std::fs::File::open(path)?.read_exact(&mut buf)?;
        Header::parse(&buf).map_err(std::io::Error::other)
    }
}

/// A container that was loaded: which file, and its header.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Loaded {
    /// The file.
    pub file: PathBuf,
    /// Its kind.
    pub kind: Kind,
    /// Its header.
    pub header: Header,
}

/// Load a container's databases into `db`; `name` is the file (its extension
/// gives the kind). Nothing is added unless every check passes.
pub fn load(name: &Path, bytes: &[u8], db: &mut Database) -> Result<(), DatabaseError> {
    let corrupt = |reason: String| DatabaseError::Corrupt {
        path: name.to_owned(),
        reason,
    };
    let kind = Kind::from_path(name).unwrap_or(Kind::Cvd);
    let (header, payload) = check_header(kind, bytes).map_err(corrupt)?;
    let members = read_payload(payload).map_err(corrupt)?;
    let mut out = Database::new();
    out.detect_pua = db.detect_pua;
    // The entries ignored so far apply to the members; the whole list,
    // with what the members add, goes back to `db`.
    out.ignored_entries = db.ignored_entries.clone();
    load_members(kind, name, &header, members, &mut out)?;
    db.ignored_entries = std::mem::take(&mut out.ignored_entries);
    out.containers.push(Loaded {
        file: name.to_owned(),
        kind,
        header,
    });
    db.merge(out);
    Ok(())
}

/// Parse the header and check the MD5 and the signature it carries; the
/// header and the payload after it.
fn check_header(kind: Kind, bytes: &[u8]) -> Result<(Header, &[u8]), String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "{} bytes: too short for a {HEADER_LEN}-byte header",
            bytes.len()
        ));
    }
    let header = Header::parse(&bytes[..HEADER_LEN])?;
    let payload = &bytes[HEADER_LEN..];
    let md5 = crate::encoding::hex(&Md5::digest(payload));
    match (&header.md5, kind) {
        (None, Kind::Cvd) => return Err("header has no MD5: a .cvd must be signed".into()),
        (Some(want), _) if *want != md5 => {
            return Err(format!(
                "MD5 mismatch: header says {want}, content is {md5}: the file is corrupt or truncated"
            ));
        }
        _ => {}
    }
    if kind == Kind::Cvd {
        let dsig = header.dsig.as_deref().unwrap_or_default();
        if !verify_md5_sig(&md5, dsig) {
            return Err("digital signature does not verify with ClamAV's public key".into());
        }
    }
    Ok((header, payload))
}

/// Whether `dsig` decodes with ClamAV's header key to `md5` (lower-case hex),
/// as `cli_versig` does.
pub fn verify_md5_sig(md5: &str, dsig: &str) -> bool {
    decode_sig(dsig, 16, CVD_N, CVD_E).is_some_and(|plain| crate::encoding::hex(&plain) == md5)
}

/// `sig` in ClamAV's base64 (its own alphabet, least significant digit
/// first) raised to `e` modulo `n`, as `plen` big-endian bytes; `None` when
/// it is not in the alphabet or the result is longer than `plen`.
fn decode_sig(sig: &str, plen: usize, n: &str, e: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
    // Longer than a 2048-bit modulus in base 64 digits: not a signature.
    if sig.is_empty() || sig.len() > 2048 / 6 + 2 {
        return None;
    }
    let mut c = BigUint::ZERO;
    for ch in sig.bytes().rev() {
        let digit = ALPHABET.iter().position(|&a| a == ch)?;
        c = (c << 6usize) | BigUint::from(digit);
    }
    let n = BigUint::parse_bytes(n.as_bytes(), 10)?;
    let e = BigUint::parse_bytes(e.as_bytes(), 10)?;
    let p = c.modpow(&e, &n).to_bytes_be();
    if p.len() > plen {
        return None;
    }
    let mut plain = vec![0u8; plen - p.len()];
    plain.extend_from_slice(&p);
    Some(plain)
}

/// Whether `dsig` is ClamAV's RSA-PSS signature (2048 bits, SHA-256, MGF1,
/// 32-byte salt) of the digest `sha256`, as `cli_versig2` checks a `.info`.
pub fn verify_info_sig(sha256: &[u8; 32], dsig: &str) -> bool {
    const PAD: usize = 256;
    const BLK: usize = PAD - 32 - 1;
    const SALT: usize = 32;
    let Some(decoded) = decode_sig(dsig, PAD, INFO_N, INFO_E) else {
        return false;
    };
    if decoded[PAD - 1] != 0xbc {
        return false;
    }
    let (masked, h) = (&decoded[..BLK], &decoded[BLK..BLK + 32]);
    let mut data = Vec::with_capacity(BLK + 32);
    for i in 0u32.. {
        if data.len() >= BLK {
            break;
        }
        let mut d = Sha256::new();
        d.update(h);
        d.update(i.to_be_bytes());
        data.extend_from_slice(&d.finalize());
    }
    data.truncate(BLK);
    for (d, m) in data.iter_mut().zip(masked) {
        *d ^= m;
    }
    data[0] &= 0x7f;
    let Some(one) = memchr::memchr(0x01, &data) else {
        return false;
    };
    let salt = &data[one + 1..];
    if salt.len() != SALT {
        return false;
    }
    let mut d = Sha256::new();
    d.update([0u8; 8]);
    d.update(sha256);
    d.update(salt);
    d.finalize()[..] == *h
}

/// The members of the payload, in order: (name, bytes).
type Members = Vec<(String, Vec<u8>)>;

/// Take the tar (gzip-compressed unless it starts with `COPYING`) apart:
/// regular files only, no `/` in names, at most [`MAX_PAYLOAD`] bytes in all.
fn read_payload(payload: &[u8]) -> Result<Members, String> {
    if payload.starts_with(b"COPYING") {
        read_tar(payload)
    } else if payload.starts_with(&[0x1f, 0x8b]) {
        read_tar(flate2::read::GzDecoder::new(payload))
    } else {
        Err("payload is neither gzip nor tar".into())
    }
}

fn read_tar(reader: impl Read) -> Result<Members, String> {
    let mut left = MAX_PAYLOAD;
    let mut archive = tar::Archive::new(reader.take(MAX_PAYLOAD + 1));
    let mut out = Vec::new();
    let bad = |e: std::io::Error| format!("payload: {e}");
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if name.contains('/') {
            return Err(format!("payload member '{name}': a '/' in a member name"));
        }
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            return Err(format!("payload member '{name}': not a regular file"));
        }
        let size = entry.size();
        if size > left {
            return Err(format!(
                "payload expands past {MAX_PAYLOAD} bytes at member '{name}'"
            ));
        }
        left -= size;
        // Grown as the bytes arrive: a header's size is not trusted.
        let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
        (&mut entry)
            .take(size)
            .read_to_end(&mut data)
            .map_err(bad)?;
        if data.len() as u64 != size {
            return Err(format!("payload member '{name}' is truncated"));
        }
        out.push((name, data));
    }
    Ok(out)
}

/// One database member listed in the `.info`.
#[derive(Debug)]
struct Listed {
    name: String,
    size: u64,
    sha256: [u8; 32],
}

/// Check the `.info` against the header, then every database member against
/// the `.info`, and load them into `out` (named `container/member`).
fn load_members(
    kind: Kind,
    name: &Path,
    header: &Header,
    members: Members,
    out: &mut Database,
) -> Result<(), DatabaseError> {
    let corrupt = |reason: String| DatabaseError::Corrupt {
        path: name.to_owned(),
        reason,
    };
    let info = members
        .iter()
        .find(|(n, _)| n.ends_with(".info"))
        .ok_or_else(|| corrupt("no .info member".into()))?;
    let listed =
        parse_info(kind, header, &info.1).map_err(|e| corrupt(format!("{}: {e}", info.0)))?;
    let mut errors = Vec::new();
    // The ignore lists first, as in a directory.
    let mut members = members;
    members.sort_by_key(|(m, _)| Format::from_path(Path::new(m)) != Some(Format::Ignore));
    // By value: each member's bytes are freed once it is loaded.
    for (member, data) in members {
        let Some(format) = Format::from_path(Path::new(&member)) else {
            continue; // COPYING and other non-database members
        };
        if matches!(format, Format::Compiled | Format::Container) || member.ends_with(".info") {
            continue;
        }
        let l = listed
            .iter()
            .find(|l| l.name == member)
            .ok_or_else(|| corrupt(format!("member {member} is not listed in the .info")))?;
        if l.size != data.len() as u64 || Sha256::digest(&data)[..] != l.sha256 {
            return Err(corrupt(format!(
                "member {member} does not match its size and SHA-256 in the .info"
            )));
        }
        match out.load_bytes(format, &name.join(&member), &data) {
            Ok(()) => {}
            Err(DatabaseError::Syntax(mut e)) => errors.append(&mut e),
            Err(e) => return Err(e),
        }
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(DatabaseError::Syntax(errors)),
    }
}

/// Parse a `.info`: its header (which must agree with the container's), the
/// `name:size:sha256` lines, and (unless `.cud`) the `DSIG:` line that signs
/// the bytes before it.
fn parse_info(kind: Kind, header: &Header, text: &[u8]) -> Result<Vec<Listed>, String> {
    let mut listed = Vec::new();
    let mut at = 0;
    let mut signed = false;
    let mut info_header = None;
    for (idx, raw) in text.split_inclusive(|&b| b == b'\n').enumerate() {
        let line_no = idx + 1;
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(dsig) = line.strip_prefix(b"DSIG:") {
            if kind != Kind::Cud {
                let digest: [u8; 32] = Sha256::digest(&text[..at]).into();
                let dsig = std::str::from_utf8(dsig).unwrap_or_default();
                if !verify_info_sig(&digest, dsig) {
                    return Err("digital signature does not verify with ClamAV's public key".into());
                }
                signed = true;
            }
            break;
        }
        at += raw.len();
        if line.starts_with(b"ClamAV-VDB:") {
            if info_header.is_some() {
                return Err(format!("line {line_no}: a second header"));
            }
            info_header = Some(Header::parse(line).map_err(|e| format!("line {line_no}: {e}"))?);
            continue;
        }
        if info_header.is_none() {
            return Err(format!("line {line_no}: no ClamAV-VDB header before it"));
        }
        listed.push(parse_listed(line).map_err(|e| format!("line {line_no}: {e}"))?);
    }
    if kind != Kind::Cud && !signed {
        return Err("no digital signature (DSIG line)".into());
    }
    let h = info_header.ok_or("no ClamAV-VDB header")?;
    if (h.version, h.signatures, h.flevel, h.build_secs)
        != (
            header.version,
            header.signatures,
            header.flevel,
            header.build_secs,
        )
    {
        return Err("its header does not agree with the container's: corrupted header".into());
    }
    Ok(listed)
}

fn parse_listed(line: &[u8]) -> Result<Listed, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not text")?;
    let f: Vec<&str> = text.split(':').collect();
    if f.len() != 3 {
        return Err(format!(
            "expected name:size:sha256, found {} fields",
            f.len()
        ));
    }
    let size = super::decimal(f[1]).ok_or_else(|| format!("size '{}' is not a number", f[1]))?;
    let digest = crate::encoding::unhex(f[2])
        .filter(|d| d.len() == 32)
        .ok_or_else(|| format!("'{}' is not a SHA-256", f[2]))?;
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(&digest);
    Ok(Listed {
        name: f[0].to_owned(),
        size,
        sha256,
    })
}

/// Of `daily.cvd` and `daily.cld` both in a list of files, keep the newer
/// version (the `.cld` when equal, as ClamAV does) and warn about the other.
pub fn drop_older_duplicates(files: &mut Vec<PathBuf>, warnings: &mut Vec<SigWarning>) {
    let mut drop = Vec::new();
    for cvd in files
        .iter()
        .filter(|f| Kind::from_path(f) == Some(Kind::Cvd))
    {
        let cld = cvd.with_extension("cld");
        if !files.contains(&cld) {
            continue;
        }
        let (Ok(a), Ok(b)) = (Header::read(cvd), Header::read(&cld)) else {
            continue; // the unreadable one is refused when loaded
        };
        let (older, newer, version) = match a.version > b.version {
            true => (cld, cvd.clone(), a.version),
            false => (cvd.clone(), cld, b.version),
        };
        warnings.push(SigWarning {
            file: older.clone(),
            line: 0,
            reason: format!(
                "not loaded: {} holds the same database at version {version}",
                newer.display()
            ),
        });
        drop.push(older);
    }
    files.retain(|f| !drop.contains(f));
}

#[cfg(test)]
mod tests {
    use super::*;

    // The header and `.info` of ClamAV's own test container
    // `unit_tests/input/bytecode_sigs/bytecode.cvd` (version 19, signed by
    // ClamAV): real signatures to check the two verifications against.
    const MD5: &str = "f341ae79c7e73561b89d4e0b8f6a79c0";
    const DSIG: &str = "u1zx79ANlYhjROCU1oZTRrgWIeOzEKWpF0i3Qzz5jW9RRuLuW3pHDM2LB28kcAStuzM2lURMP9/diA0Q13qvK4Sx82+HS5aMKbOWtMz3OKPWrnk6A/KbAz+GG8N8bL3yRcTeGTHJn9d8zWL1Lb411Kpid+JYEwszbTMaUIi6xig";
    const INFO: &str = "ClamAV-VDB:14 May 2010 09-57 -0400:19:3:51:X:X:nervous:1273845430
767944.cbc:7626:a2e47a37d58fb91500fb55117083f79a3c282cf79e4d3ad75dbed8842cfcb6fd
782872.cbc:185167:3c112dbee22076b774a5ef2ebc7e42e75f0d47445c43bc664c965836700221fa
767942.cbc:8802:3ea813943f7644aa16de9f62e1d65034c6fe0d2ff98333bb288e356b664d37f2
last.hdb:114:d0bd9f94f9a58b21449d23ea14c9a4a5e3b817106e4ce43793fda8a09d435e55
";
    const INFO_DSIG: &str = "niRMaerB39p6TvAIEMdBwQgaa+hUwPdhwXJjUxzCqitYz3xJGCBkIY/Ag+Xp7+jrKIuV3mCEfEMB7RMO3Mi0bA2iAkLUsAB3aIedKMp3OK3g/NDcmlhmnO/j55nwc4jaETSJBiEN3esikNC0szFvfm4DUgNupXvnBhtE6RSbTkMKd2d6BCTYm5YmfRbXoUfCIcQNLw2ghn9Pq0GQspCagBrWjPMncXdWVY50r036YrNA2zH+idR/Y9T98mukp1hrWz+DPQWUt2+Ya44Vh9mMRG1B8ITZ6tXrzxZk1O1eNVEO1W186l0HAOZg0PdgHoK/GQ42QEKwbuxrvgZjfLSae";

    #[test]
    fn header_signature_verifies_and_a_changed_one_does_not() {
        assert!(verify_md5_sig(MD5, DSIG));
        // Another MD5, a changed signature, a foreign character, nothing.
        assert!(!verify_md5_sig("f341ae79c7e73561b89d4e0b8f6a79c1", DSIG));
        let changed = DSIG.replacen('u', "v", 1);
        assert!(!verify_md5_sig(MD5, &changed));
        assert!(!verify_md5_sig(MD5, &DSIG.replacen('u', "-", 1)));
        assert!(!verify_md5_sig(MD5, ""));
        assert!(!verify_md5_sig(MD5, &DSIG.repeat(40)));
    }

    #[test]
    fn info_signature_verifies_and_a_changed_one_does_not() {
        let digest: [u8; 32] = Sha256::digest(INFO.as_bytes()).into();
        assert!(verify_info_sig(&digest, INFO_DSIG));
        let other: [u8; 32] = Sha256::digest(INFO.replace("114", "115").as_bytes()).into();
        assert!(!verify_info_sig(&other, INFO_DSIG));
        assert!(!verify_info_sig(&digest, &INFO_DSIG.replacen('n', "m", 1)));
    }

    #[test]
    fn info_parses_and_checks_its_header() {
        let header = Header::parse(INFO.lines().next().unwrap().as_bytes()).unwrap();
        assert_eq!(
            (
                header.version,
                header.signatures,
                header.flevel,
                header.build_secs
            ),
            (19, 3, 51, 1273845430)
        );
        assert_eq!(header.build_time, "14 May 2010 09-57 -0400");
        assert_eq!((&header.md5, &header.dsig), (&None, &None));
        let text = format!("{INFO}DSIG:{INFO_DSIG}\n");
        let listed = parse_info(Kind::Cvd, &header, text.as_bytes()).unwrap();
        assert_eq!(listed.len(), 4);
        assert_eq!((listed[3].name.as_str(), listed[3].size), ("last.hdb", 114));
        // Unsigned: refused in a .cvd or .cld, accepted in a .cud.
        assert!(parse_info(Kind::Cld, &header, INFO.as_bytes()).is_err());
        assert!(parse_info(Kind::Cud, &header, INFO.as_bytes()).is_ok());
        // A header that disagrees.
        let mut other = header.clone();
        other.version = 20;
        let e = parse_info(Kind::Cud, &other, INFO.as_bytes()).unwrap_err();
        assert!(e.contains("corrupted header"), "{e}");
    }

    #[test]
    fn header_errors() {
        for (text, want) in [
            ("ClamAV-VDB:t:1:2:3", "fields"),
            ("XlamAV-VDB:t:1:2:3:X:X:b:4", "no ClamAV-VDB"),
            ("ClamAV-VDB:t:x:2:3:X:X:b:4", "version"),
            ("ClamAV-VDB:t:1:2:3:abc:X:b:4", "MD5"),
        ] {
            let e = Header::parse(text.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
