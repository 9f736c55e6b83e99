//! Table-driven matcher tests: each row is checked against the naive reference
//! matcher (`super::reference`) and then run through every input path of the
//! engine: `Scanner::scan_bytes`, `Scanner::scan_file` on a small file (read
//! into a buffer) and `Scanner::scan_file` on a file padded past
//! `MMAP_THRESHOLD` (memory-mapped). Which of the two file paths ran is
//! checked, not assumed: a file that is read shows in the bytes this thread
//! has read (`rchar` in `/proc/thread-self/io`), a mapped one does not.
//!
//! Patterns are written in hex, haystacks in ASCII:
//! 41 A, 42 B, 43 C, 44 D, 45 E, 46 F, 47 G, 4f O, 5f _, 63 c, 64 d.

use std::collections::BTreeSet;
use std::path::Path;

use md5::Digest as _;
use ward::scan::input::{self, Data, MMAP_THRESHOLD, OpenOutcome};
use ward::sig::{HashKind, Node, Offset};
use ward::{Format, Match, MatchKind, Scanner, SignatureSet, Verdict};

use crate::reference as r;
use crate::util::hex;

/// (pattern, offset, haystack, does it match)
type Row = (&'static str, &'static str, &'static [u8], bool);

/// Fills the padding that takes a haystack past `MMAP_THRESHOLD`.
const PAD: u8 = 0xee;

fn body_set(pattern: &str, offset: &str) -> SignatureSet {
    SignatureSet::builder()
        .text(Format::Ndb, "t.ndb", format!("T:0:{offset}:{pattern}"))
        .build()
        .unwrap_or_else(|e| panic!("T:0:{offset}:{pattern}: {e}"))
}

/// The bytes this thread has read with `read(2)` and its kin so far (`rchar`
/// of `/proc/thread-self/io`); touching a memory map does not count.
fn bytes_read_by_this_thread() -> u64 {
    let io = std::fs::read_to_string("/proc/thread-self/io")
        .expect("/proc/thread-self/io (a kernel with task I/O accounting)");
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no rchar in /proc/thread-self/io: {io}"))
}

/// How `scan_file` took a file's bytes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    Read,
    Mapped,
}

fn report_matches(path: &Path, scanner: &mut Scanner, size: usize, ctx: &str) -> Vec<Match> {
    scan_file_as(path, scanner, size, ctx).1
}

/// Scan a file with `scan_file` and tell how its bytes came in: read when
/// this thread read at least the file's size meanwhile, mapped when it read
/// less than half of it (the scan reported every byte, so they came from a
/// map); anything between fails the test.
fn scan_file_as(path: &Path, scanner: &mut Scanner, size: usize, ctx: &str) -> (Input, Vec<Match>) {
    let before = bytes_read_by_this_thread();
    let report = scanner.scan_file(path);
    let read = bytes_read_by_this_thread() - before;
    assert_eq!(report.scanned_bytes, size as u64, "{ctx}");
    let input = if read >= size as u64 {
        Input::Read
    } else if read < size as u64 / 2 {
        Input::Mapped
    } else {
        panic!("{ctx}: {read} bytes read for a file of {size}: neither read nor mapped")
    };
    let matches = match report.verdict {
        Verdict::Clean => Vec::new(),
        Verdict::Infected(m) => m,
        other => panic!("{ctx}: unexpected verdict {other:?}"),
    };
    (input, matches)
}

/// [`scan_file_as`] a file above `MMAP_THRESHOLD`, which must be mapped.
///
/// A lease, and so a map, is refused while any process has the file open for
/// writing; a child forked by a parallel test holds this process's
/// descriptors until it execs, so the first tries may be refused for a
/// moment (the file is then read, and scanned again).
fn mapped_matches(path: &Path, scanner: &mut Scanner, size: usize, ctx: &str) -> Vec<Match> {
    for _ in 0..100 {
        match scan_file_as(path, scanner, size, ctx) {
            (Input::Mapped, m) => return m,
            (Input::Read, _) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    panic!("{ctx}: a file above MMAP_THRESHOLD was read, never mapped")
}

/// `got` is one match of `T` at a start the reference accepts when `want`,
/// nothing otherwise.
fn check_found(
    got: &[Match],
    want: bool,
    ctx: &str,
    valid_start: impl Fn(usize) -> bool,
) -> Option<u64> {
    if !want {
        assert!(got.is_empty(), "{ctx}: expected no match, got {got:?}");
        return None;
    }
    let [m] = got else {
        panic!("{ctx}: expected one match, got {got:?}")
    };
    assert_eq!(&*m.name, "T", "{ctx}");
    let MatchKind::Body { offset } = m.kind else {
        panic!("{ctx}: not a body match: {m:?}")
    };
    assert!(
        valid_start(offset as usize),
        "{ctx}: reported start {offset} is not the start of a match"
    );
    Some(offset)
}

/// The haystack padded past `MMAP_THRESHOLD`, and how far its bytes moved: at the
/// front for end-relative offsets, at the back otherwise, so the start positions
/// the offset allows still fall on the same bytes.
fn padded(hay: &[u8], offset: Offset) -> (Vec<u8>, usize) {
    let pad = MMAP_THRESHOLD as usize + 17 - hay.len();
    match offset {
        Offset::FromEnd { .. } => {
            let mut v = vec![PAD; pad];
            v.extend_from_slice(hay);
            (v, pad)
        }
        _ => {
            let mut v = hay.to_vec();
            v.resize(hay.len() + pad, PAD);
            (v, 0)
        }
    }
}

fn check_rows(group: &str, rows: &[Row]) {
    let dir = tempfile::tempdir().unwrap();
    let mut padding_changed = 0;
    for (i, &(pattern, off, hay, want)) in rows.iter().enumerate() {
        let ctx = format!(
            "{group}[{i}]: T:0:{off}:{pattern} on \"{}\"",
            hay.escape_ascii()
        );
        let nodes = r::nodes(pattern);
        let offset = r::offset(off);
        assert_eq!(r::matches(&nodes, offset, hay), want, "reference: {ctx}");
        assert_eq!(
            r::matches_linear(&nodes, offset, hay),
            want,
            "linear reference: {ctx}"
        );
        let valid =
            |s: usize| r::starts(offset, hay.len()).contains(&s) && r::matches_at(&nodes, hay, s);

        let set = body_set(pattern, off);
        let mut scanner = Scanner::new(&set);
        let got = scanner.scan_bytes(hay);
        check_found(&got, want, &format!("scan_bytes {ctx}"), valid);

        let path = dir.path().join(format!("{i}.bin"));
        std::fs::write(&path, hay).unwrap();
        let (input, got) = scan_file_as(&path, &mut scanner, hay.len(), &ctx);
        assert_eq!(input, Input::Read, "{ctx}");
        check_found(&got, want, &format!("scan_file (read) {ctx}"), valid);

        let (big, moved) = padded(hay, offset);
        std::fs::write(&path, &big).unwrap();
        let want_big = r::matches_linear(&nodes, offset, &big);
        padding_changed += usize::from(want_big != want);
        let valid_big = |s: usize| {
            r::starts(offset, big.len()).contains(&s) && r::matches_at_linear(&nodes, &big, s)
        };
        let got = mapped_matches(&path, &mut scanner, big.len(), &ctx);
        let start = check_found(
            &got,
            want_big,
            &format!("scan_file (mmap) {ctx}"),
            valid_big,
        );
        if want_big == want
            && let Some(s) = start
        {
            assert!(
                s as usize >= moved,
                "{ctx}: mmap match at {s} starts in the padding"
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
    // The padding is chosen to keep each row's meaning; only rows whose pattern
    // can run into the padding (wildcards at an edge, `*` offsets) may change.
    assert!(
        padding_changed * 4 <= rows.len(),
        "{group}: padding changed {padding_changed} of {} answers",
        rows.len()
    );
}

#[test]
fn mmap_path_is_taken_for_padded_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let (big, _) = padded(b"ABC", Offset::Any);
    std::fs::write(&path, &big).unwrap();
    let Ok(OpenOutcome::Regular(opened)) = input::open(&path) else {
        panic!("open failed")
    };
    let mut buf = Vec::new();
    // A lease is refused while any process has the file open for writing; a
    // child forked by a parallel test holds this process's descriptors until it
    // execs, so the first tries may be refused for a moment.
    let mut tries = 0;
    let data = loop {
        let data = input::load(&opened, &mut buf, u64::MAX, true).unwrap();
        tries += 1;
        if matches!(data, Data::Mapped(_)) || tries == 100 {
            break data;
        }
        drop(data);
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(
        matches!(data, Data::Mapped(_)),
        "a file above MMAP_THRESHOLD was read, not mapped"
    );
    assert_eq!(data.bytes(), &big[..]);
}

#[test]
fn exact_bytes() {
    check_rows(
        "exact",
        &[
            ("414243", "*", b"ABC", true),
            ("414243", "*", b"xxABC", true),
            ("414243", "*", b"ABCxx", true),
            ("414243", "*", b"xABABCx", true),
            ("414243", "*", b"ABxC", false),
            ("414243", "*", b"AB", false),
            ("414243", "*", b"xxAB", false),
            ("414243", "*", b"", false),
            ("41", "*", b"A", true),
            ("41", "*", b"xxxA", true),
            ("41", "*", b"xxx", false),
            ("00ff00", "*", b"x\x00\xff\x00", true),
            (
                "0102030405060708",
                "*",
                b"\x01\x02\x03\x04\x05\x06\x07\x08",
                true,
            ),
            (
                "0102030405060708",
                "*",
                b"\x01\x02\x03\x04\x05\x06\x07\x09",
                false,
            ),
            (
                "0102030405060708",
                "*",
                b"\x00\x02\x03\x04\x05\x06\x07\x08",
                false,
            ),
        ],
    );
}

#[test]
fn masked_bytes() {
    check_rows(
        "masked",
        &[
            ("41??43", "*", b"AzC", true),
            ("41??43", "*", b"A\x00C", true),
            ("41??43", "*", b"AC", false),
            ("41??43", "*", b"ABBC", false),
            ("41????", "*", b"xA1", false),
            ("41????", "*", b"xA12", true),
            ("????41", "*", b"A", false),
            ("????41", "*", b"xA", false),
            ("????41", "*", b"12A", true),
            ("????41", "0", b"12A", true),
            ("????41", "0", b"1A", false),
            ("????41", "0", b"123A", false),
            // a?: high nibble fixed
            ("414?43", "*", b"AOC", true),
            ("414?43", "*", b"A@C", true),
            ("414?43", "*", b"A_C", false),
            ("4?4142", "*", b"OAB", true),
            ("4?4142", "*", b"_AB", false),
            ("4?4142", "*", b"AB", false),
            ("41424?", "*", b"xxABO", true),
            ("41424?", "*", b"xxAB_", false),
            ("41424?", "*", b"xxAB", false),
            // ?a: low nibble fixed
            ("41?343", "*", b"AcC", true),
            ("41?343", "*", b"A\x03C", true),
            ("41?343", "*", b"AdC", false),
            ("?34142", "*", b"cAB", true),
            ("?34142", "*", b"dAB", false),
            ("4142?3", "*", b"ABc", true),
            ("4142?3", "*", b"ABd", false),
        ],
    );
}

#[test]
fn gaps() {
    check_rows(
        "gaps",
        &[
            // *
            ("41*42", "*", b"AB", true),
            ("41*42", "*", b"AxxxxxxB", true),
            ("41*42", "*", b"BA", false),
            ("41*42", "*", b"A", false),
            ("41*4243", "*", b"AxBxBC", true),
            ("41*4243", "*", b"AxBxBD", false),
            ("4142*43", "*", b"CAB", false),
            ("41*424344", "*", b"A....BCD", true),
            ("41*424344", "*", b"BCDA", false),
            ("41*424344", "*", b"BCDABCD", true),
            ("41*42*43", "*", b"AxBxC", true),
            ("41*42*43", "*", b"ACB", false),
            ("4142*4344", "*", b"ABxABxCD", true),
            ("4142*4344", "*", b"CDABxAB", false),
            // {n}
            ("41{2}42", "*", b"AxxB", true),
            ("41{2}42", "*", b"AxB", false),
            ("41{2}42", "*", b"AxxxB", false),
            ("41{2}42", "*", b"AAxB", true),
            ("41{10}42", "*", b"A0123456789B", true),
            ("41{10}42", "*", b"A012345678B", false),
            ("41{3}424344", "*", b"AxxxBCD", true),
            ("41{3}424344", "*", b"AxxBCD", false),
            ("41424344{2}45", "*", b"ABCDxABCDxxE", true),
            ("41424344{2}45", "*", b"ABCDxABCDxE", false),
            // {-n}
            ("41{-2}42", "*", b"AB", true),
            ("41{-2}42", "*", b"AxB", true),
            ("41{-2}42", "*", b"AxxB", true),
            ("41{-2}42", "*", b"AxxxB", false),
            ("41{-2}42434445", "*", b"BCDE", false),
            ("41{-2}42434445", "*", b"ABCDE", true),
            ("41{-2}42434445", "*", b"AxxBCDE", true),
            ("41{-2}42434445", "*", b"AxxxBCDE", false),
            // {n-}
            ("41{2-}42", "*", b"AxB", false),
            ("41{2-}42", "*", b"AxxB", true),
            ("41{2-}42", "*", b"Axxxxxxxxxx B", true),
            ("41{2-}42", "*", b"ABAB", true),
            ("41{2-}42", "*", b"AB", false),
            ("41{2-}424344", "*", b"AxBCD", false),
            ("41{2-}424344", "*", b"AxBCDxABCDxxBCD", true),
            // {n-m}
            ("41{1-3}42", "*", b"AB", false),
            ("41{1-3}42", "*", b"AxB", true),
            ("41{1-3}42", "*", b"AxxxB", true),
            ("41{1-3}42", "*", b"AxxxxB", false),
            ("41{2-3}42", "*", b"AxxB", true),
            ("41{2-3}42", "*", b"AxxxB", true),
            ("41{2-3}42", "*", b"AxxxxB", false),
            ("41{1-3}424344", "*", b"AxBCD", true),
            ("41{1-3}424344", "*", b"ABCD", false),
            ("41{1-3}424344", "*", b"AxxxxBCD", false),
            ("41{1-2}4243{1-2}44", "*", b"AxBCxD", true),
            ("41{1-2}4243{1-2}44", "*", b"AxxBCxxD", true),
            ("41{1-2}4243{1-2}44", "*", b"ABCxD", false),
            ("41{1-2}4243{1-2}44", "*", b"AxBCxxxD", false),
            // [n-m]
            ("41[1-3]42", "*", b"AB", false),
            ("41[1-3]42", "*", b"AxB", true),
            ("41[1-3]42", "*", b"AxxxB", true),
            ("41[1-3]42", "*", b"AxxxxB", false),
            // merged gaps: {1}[1-2]* is at least 2
            ("41{1}[1-2]*42", "*", b"AxB", false),
            ("41{1}[1-2]*42", "*", b"AxxB", true),
            ("41{1}[1-2]*42", "*", b"AxxxxxxxB", true),
            // gaps around masked bytes
            ("41{1-2}??{1-2}42", "*", b"AxxxB", true),
            ("41{1-2}??{1-2}42", "*", b"AxxB", false),
            ("41{1-2}4?{1-2}42", "*", b"AxOxB", true),
            ("41{1-2}4?{1-2}42", "*", b"Ax_xB", false),
        ],
    );
}

#[test]
fn alternations() {
    check_rows(
        "alternations",
        &[
            ("41(42|43)44", "*", b"ABD", true),
            ("41(42|43)44", "*", b"ACD", true),
            ("41(42|43)44", "*", b"AED", false),
            ("41(42|43)44", "*", b"AD", false),
            // multi-byte
            ("41(4243|4445)46", "*", b"ABCF", true),
            ("41(4243|4445)46", "*", b"ADEF", true),
            ("41(4243|4445)46", "*", b"ABEF", false),
            ("41(4243|4445)46", "*", b"ADCF", false),
            // different lengths
            ("41(42|4344)45", "*", b"ABE", true),
            ("41(42|4344)45", "*", b"ACDE", true),
            ("41(42|4344)45", "*", b"ACE", false),
            ("41(42|4344)45", "*", b"ABDE", false),
            ("41(42|4242)43", "*", b"ABBC", true),
            ("41(42|4242)43", "*", b"ABC", true),
            ("41(42|4242)43", "*", b"ABBBC", false),
            // at the start, before the atom
            ("(42|4344)454647", "*", b"BEFG", true),
            ("(42|4344)454647", "*", b"CDEFG", true),
            ("(42|4344)454647", "*", b"DEFG", false),
            ("(42|4344)454647", "*", b"CEFG", false),
            ("(42|4344)454647", "*", b"EFG", false),
            ("(42|4344)454647", "0", b"CDEFG", true),
            ("(42|4344)454647", "0", b"xBEFG", false),
            ("(42|4344)454647", "1", b"xBEFG", true),
            ("(42|4344)454647", "1", b"CDEFG", false),
            // at the end
            ("414243(44|4546)", "*", b"xxABCD", true),
            ("414243(44|4546)", "*", b"ABCEF", true),
            ("414243(44|4546)", "*", b"xABCE", false),
            ("414243(44|4546)", "*", b"ABC", false),
            // masked alternatives
            ("41(4?|??43)44", "*", b"AOD", true),
            ("41(4?|??43)44", "*", b"AzCD", true),
            ("41(4?|??43)44", "*", b"AzD", false),
            ("41(?3|42)44", "*", b"AcD", true),
            ("41(?3|42)44", "*", b"AdD", false),
            // followed or preceded by gaps
            ("41(42|4343){2}44", "*", b"ABxxD", true),
            ("41(42|4343){2}44", "*", b"ACCxxD", true),
            ("41(42|4343){2}44", "*", b"ACCxD", false),
            ("41{1-2}(42|4343)44", "*", b"AxCCD", true),
            ("41{1-2}(42|4343)44", "*", b"AxxBD", true),
            ("41{1-2}(42|4343)44", "*", b"ABD", false),
            ("(41|4242)*434445", "*", b"BBxxCDE", true),
            ("(41|4242)*434445", "*", b"BxxCDE", false),
            ("(41|4242)*434445", "*", b"CDEA", false),
            // two alternations in a row
            ("41(42|4343)(44|4545)46", "*", b"ACCEEF", true),
            ("41(42|4343)(44|4545)46", "*", b"ABDF", true),
            ("41(42|4343)(44|4545)46", "*", b"ABEF", false),
        ],
    );
}

#[test]
fn negated_alternations() {
    check_rows(
        "negated",
        &[
            ("41!(42|43)44", "*", b"AxD", true),
            ("41!(42|43)44", "*", b"ABD", false),
            ("41!(42|43)44", "*", b"ACD", false),
            ("41!(42|43)44", "*", b"AD", false),
            ("41!(42|43)44", "*", b"ADD", true),
            ("41!(42|43)44", "*", b"ABDAxD", true),
            // multi-byte
            ("41!(4243|4445)46", "*", b"AxyF", true),
            ("41!(4243|4445)46", "*", b"ABCF", false),
            ("41!(4243|4445)46", "*", b"ADEF", false),
            ("41!(4243|4445)46", "*", b"ABEF", true),
            ("41!(4243|4445)46", "*", b"ADCF", true),
            ("41!(4243|4445)46", "*", b"AxF", false),
            // at the start, before the atom
            ("!(41|42)434445", "*", b"CDE", false),
            ("!(41|42)434445", "*", b"xCDE", true),
            ("!(41|42)434445", "*", b"ACDE", false),
            ("!(41|42)434445", "*", b"BCDE", false),
            ("!(41|42)434445", "*", b"ACDExCDE", true),
            ("!(41|42)434445", "0", b"xCDE", true),
            ("!(41|42)434445", "0", b"xxCDE", false),
            // at the end
            ("414243!(44|45)", "*", b"ABC", false),
            ("414243!(44|45)", "*", b"ABCD", false),
            ("414243!(44|45)", "*", b"ABCF", true),
            ("414243!(44|45)", "*", b"ABCDABCx", true),
            ("414243!(4445|4647)", "*", b"ABCDE", false),
            ("414243!(4445|4647)", "*", b"ABCDF", true),
            ("414243!(4445|4647)", "*", b"ABCD", false),
            // masked, and a single negated alternative
            ("41!(4?)42", "*", b"A_B", true),
            ("41!(4?)42", "*", b"AOB", false),
            ("41!(??43)44", "*", b"AxCD", false),
            ("41!(??43)44", "*", b"AxBD", true),
            // next to gaps
            ("41{1-2}!(42|43)44", "*", b"AxxD", true),
            ("41{1-2}!(42|43)44", "*", b"AxBD", false),
            ("41{1-2}!(42|43)44", "*", b"AxxBD", false),
            ("41{1-2}!(42|43)44", "*", b"AxBxD", true),
            ("!(41|42)*434445", "*", b"AxxCDE", true),
            ("!(41|42)*434445", "*", b"ABCDE", false),
            ("!(41|42)*434445", "*", b"ABxCDE", true),
            ("!(41|42)*434445", "*", b"BCDE", false),
        ],
    );
}

#[test]
fn offsets() {
    check_rows(
        "offsets",
        &[
            ("414243", "0", b"ABCx", true),
            ("414243", "0", b"ABC", true),
            ("414243", "0", b"xABC", false),
            ("414243", "1", b"xABC", true),
            ("414243", "1", b"ABCx", false),
            ("414243", "1", b"xxABC", false),
            ("414243", "3", b"xxxABC", true),
            ("414243", "5", b"ABC", false),
            ("414243", "3", b"ABC", false),
            ("4142", "2", b"ABAB", true),
            ("4142", "1", b"ABAB", false),
            // n,shift
            ("414243", "1,2", b"xABC", true),
            ("414243", "1,2", b"xxABC", true),
            ("414243", "1,2", b"xxxABC", true),
            ("414243", "1,2", b"xxxxABC", false),
            ("414243", "1,2", b"ABC", false),
            ("414243", "1,2", b"ABCxxxABC", false),
            ("414243", "0,100", b"xxxxxABC", true),
            // EOF-n
            ("414243", "EOF-3", b"xxABC", true),
            ("414243", "EOF-3", b"ABC", true),
            ("414243", "EOF-3", b"ABCxx", false),
            ("414243", "EOF-3", b"xxABCx", false),
            ("414243", "EOF-4", b"xxABCx", true),
            ("414243", "EOF-10", b"ABC", false),
            ("414243", "EOF-0", b"ABC", false),
            ("4142", "EOF-2", b"ABAB", true),
            ("4142", "EOF-3", b"ABAB", false),
            // EOF-n,shift
            ("414243", "EOF-4,1", b"xABCx", true),
            ("414243", "EOF-4,1", b"ABCx", true),
            ("414243", "EOF-4,1", b"xABC", true),
            ("414243", "EOF-4,1", b"xxABCx", true),
            ("414243", "EOF-4,1", b"ABCxxx", false),
            ("414243", "EOF-4,1", b"xABCxx", false),
            ("414243", "EOF-6,2", b"ABCxxx", true),
            ("414243", "EOF-6,2", b"xxxABC", false),
            // offsets with gaps and alternations before the atom
            ("41*424344", "0", b"AxxxBCD", true),
            ("41*424344", "0", b"xAxBCD", false),
            ("41*424344", "1", b"AAxBCD", true),
            ("41*424344", "EOF-6", b"AxxBCD", true),
            ("41*424344", "EOF-6", b"xAxBCD", false),
            ("41*424344", "EOF-6", b"xAxBCDx", true),
            ("41{1-3}424344", "0", b"AxxBCD", true),
            ("41{1-3}424344", "1", b"AxxBCD", false),
            ("41{1-3}424344", "0,1", b"xAxBCD", true),
            ("41{1-3}424344", "0,1", b"xxAxBCD", false),
            ("??4142", "0", b"xAB", true),
            ("??4142", "0", b"xxAB", false),
            ("??4142", "EOF-3", b"xxAB", true),
            ("??4142", "EOF-3", b"xxABx", false),
            ("(41|4242)434445", "EOF-5", b"xBBCDE", true),
            ("(41|4242)434445", "EOF-5", b"xACDE", false),
            ("(41|4242)434445", "EOF-4,1", b"xBBCDE", false),
            ("(41|4242)434445", "EOF-6,1", b"xBBCDE", true),
            ("!(41|42)434445", "EOF-4", b"ACDExCDE", true),
            ("!(41|42)434445", "1,2", b"ACDExCDE", false),
            // first atom hit outside the range, a later one inside
            ("41424344", "4", b"ABCDABCD", true),
            ("41*4243", "1", b"AAxBC", true),
            ("41*4243", "2", b"AAxBC", false),
        ],
    );
}

#[test]
fn all_matches_reports_every_signature() {
    // 0 A, 1 B, 2 C, 3 D, 4 A, 5 B, 6 x, 7 E, 8 F
    let hay: &[u8] = b"ABCDABxEF";
    let sigs = [
        ("Plain", "*", "41424344"),
        ("SameAtom", "*", "41424344"),
        ("Gapped", "*", "4142{1-2}45"),
        ("AtStart", "0", "4142"),
        ("AtEnd", "EOF-2", "4546"),
        ("Missing", "*", "41424346"),
        ("NegatedMiss", "*", "!(41)424344"),
        ("WrongPlace", "1", "4142"),
        ("Alt", "*", "(44|4142)??45"),
    ];
    let expected: BTreeSet<&str> =
        ["Plain", "SameAtom", "Gapped", "AtStart", "AtEnd", "Alt"].into();
    let mut text = String::new();
    for (name, off, pat) in sigs {
        text += &format!("{name}:0:{off}:{pat}\n");
        let nodes = r::nodes(pat);
        assert_eq!(
            r::matches(&nodes, r::offset(off), hay),
            expected.contains(name),
            "reference: {name}"
        );
    }
    let set = SignatureSet::builder()
        .text(Format::Ndb, "t.ndb", &text)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hay.bin");
    std::fs::write(&path, hay).unwrap();
    let (big, _) = padded(hay, Offset::Any);
    let big_path = dir.path().join("big.bin");
    std::fs::write(&big_path, &big).unwrap();

    let check = |got: &[Match], ctx: &str| {
        for m in got {
            let (_, off, pat) = sigs.iter().find(|s| *s.0 == *m.name).unwrap();
            let MatchKind::Body { offset } = m.kind else {
                panic!("{ctx}: {m:?}")
            };
            let s = offset as usize;
            assert!(
                r::starts(r::offset(off), hay.len()).contains(&s)
                    && r::matches_at(&r::nodes(pat), hay, s),
                "{ctx}: {} reported at {s}",
                m.name
            );
        }
    };
    let mut scanner = Scanner::new(&set);
    scanner.all_matches(true);
    let got = scanner.scan_bytes(hay);
    check(&got, "all, bytes");
    let names: Vec<&str> = got.iter().map(|m| &*m.name).collect();
    assert_eq!(
        names.len(),
        expected.len(),
        "each signature once: {names:?}"
    );
    assert_eq!(names.iter().copied().collect::<BTreeSet<_>>(), expected);

    let got = report_matches(&path, &mut scanner, hay.len(), "all, file");
    check(&got, "all, file");
    let names: BTreeSet<&str> = got.iter().map(|m| &*m.name).collect();
    assert_eq!((got.len(), names), (expected.len(), expected.clone()));

    // Padded at the end: "AtEnd" moves into the padding and no longer matches.
    let got = mapped_matches(&big_path, &mut scanner, big.len(), "all, mmap");
    let names: BTreeSet<&str> = got.iter().map(|m| &*m.name).collect();
    let mut without_end = expected.clone();
    without_end.remove("AtEnd");
    assert_eq!((got.len(), names), (without_end.len(), without_end));

    // Without all_matches: exactly one, and one that matches.
    scanner.all_matches(false);
    for _ in 0..2 {
        let got = scanner.scan_bytes(hay);
        check(&got, "first");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(expected.contains(&*got[0].name));
    }
    let got = scanner.scan_bytes(b"nothing here");
    assert!(got.is_empty());
}

fn md5_hex(data: &[u8]) -> String {
    hex(&md5::Md5::digest(data))
}

fn sha1_hex(data: &[u8]) -> String {
    hex(&sha1::Sha1::digest(data))
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&sha2::Sha256::digest(data))
}

const HASHED: &[u8] = b"a file that is known by its hash\n";

#[test]
fn hash_signatures() {
    let len = HASHED.len();
    let (md5, sha1, sha256) = (md5_hex(HASHED), sha1_hex(HASHED), sha256_hex(HASHED));
    let other = sha256_hex(b"something else");
    // (line, expected kind of match on HASHED)
    let rows: Vec<(String, Option<HashKind>)> = vec![
        (format!("{md5}:{len}:H"), Some(HashKind::Md5)),
        (format!("{md5}:*:H"), Some(HashKind::Md5)),
        (
            format!("{}:{len}:H", md5.to_uppercase()),
            Some(HashKind::Md5),
        ),
        (format!("{md5}:{}:H", len + 1), None),
        (format!("{md5}:0:H"), None),
        (format!("{sha1}:{len}:H"), Some(HashKind::Sha1)),
        (format!("{sha1}:*:H"), Some(HashKind::Sha1)),
        (format!("{sha1}:{}:H", len - 1), None),
        (format!("{sha256}:{len}:H"), Some(HashKind::Sha256)),
        (format!("{sha256}:*:H"), Some(HashKind::Sha256)),
        (format!("{sha256}:{}:H", len * 2), None),
        (format!("{other}:*:H"), None),
        (format!("{other}:{len}:H"), None),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hashed.bin");
    std::fs::write(&path, HASHED).unwrap();
    for (line, want) in rows {
        let set = SignatureSet::builder()
            .text(Format::Hash, "t.hsb", &line)
            .build()
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        let mut scanner = Scanner::new(&set);
        let expected: Vec<(String, MatchKind)> = want
            .map(|hash| ("H".to_owned(), MatchKind::Hash { hash }))
            .into_iter()
            .collect();
        let pairs = |m: Vec<Match>| -> Vec<(String, MatchKind)> {
            m.into_iter()
                .map(|m| (m.name.to_string(), m.kind))
                .collect()
        };
        assert_eq!(pairs(scanner.scan_bytes(HASHED)), expected, "bytes: {line}");
        assert_eq!(
            pairs(report_matches(&path, &mut scanner, len, &line)),
            expected,
            "file: {line}"
        );
        assert!(scanner.scan_bytes(b"").is_empty(), "{line}");
        assert!(scanner.scan_bytes(&HASHED[1..]).is_empty(), "{line}");
    }
}

#[test]
fn hash_and_body_together() {
    let len = HASHED.len();
    let set = SignatureSet::builder()
        .text(
            Format::Hash,
            "t.hdb",
            format!("{}:{len}:Hashed", md5_hex(HASHED)),
        )
        .text(
            Format::Hash,
            "t.hsb",
            format!("{}:*:Hashed256", sha256_hex(HASHED)),
        )
        .text(
            Format::Ndb,
            "t.ndb",
            format!("Body:0:*:{}", hex(b"known by")),
        )
        .build()
        .unwrap();
    assert_eq!(
        (set.info().md5, set.info().sha256, set.info().body),
        (1, 1, 1)
    );
    let mut scanner = Scanner::new(&set);
    let names = |m: Vec<Match>| {
        m.iter()
            .map(|m| m.name.to_string())
            .collect::<BTreeSet<_>>()
    };
    let first = scanner.scan_bytes(HASHED);
    assert_eq!(first.len(), 1);
    assert!(matches!(first[0].kind, MatchKind::Hash { .. }), "{first:?}");
    scanner.all_matches(true);
    assert_eq!(
        names(scanner.scan_bytes(HASHED)),
        ["Body", "Hashed", "Hashed256"].map(String::from).into()
    );
    // One byte more: no hash matches, the body still does.
    let mut longer = HASHED.to_vec();
    longer.push(b'\n');
    assert_eq!(
        names(scanner.scan_bytes(&longer)),
        ["Body".to_string()].into()
    );
}

#[test]
fn allow_list_suppresses_detections() {
    let body = format!("Body.Sig:0:*:{}", hex(b"known"));
    let len = HASHED.len();
    let mut longer = HASHED.to_vec();
    longer.push(b'\n');
    let mut other = HASHED.to_vec();
    other.extend_from_slice(b"and more");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hashed.bin");
    std::fs::write(&path, HASHED).unwrap();
    // (allow-list line, whether HASHED is allowed)
    let rows = [
        (format!("{}:{len}:Clean.File", md5_hex(HASHED)), true),
        (format!("{}:*:Clean.File", md5_hex(HASHED)), true),
        (format!("{}:{len}:Clean.File", sha1_hex(HASHED)), true),
        (format!("{}:*:Clean.File", sha256_hex(HASHED)), true),
        (format!("{}:{}:Clean.File", md5_hex(HASHED), len + 1), false),
        (format!("{}:*:Clean.File", md5_hex(&longer)), false),
    ];
    for (allow, allowed) in rows {
        let set = SignatureSet::builder()
            .text(Format::Ndb, "t.ndb", &body)
            .text(
                Format::Hash,
                "t.hdb",
                format!("{}:{len}:Hash.Sig", md5_hex(HASHED)),
            )
            .text(Format::Allow, "t.fp", &allow)
            .build()
            .unwrap();
        assert_eq!(set.info().allow, 1);
        let mut scanner = Scanner::new(&set);
        scanner.all_matches(true);
        let got = scanner.scan_bytes(HASHED);
        assert_eq!(got.is_empty(), allowed, "{allow}: {got:?}");
        if !allowed {
            assert_eq!(got.len(), 2, "{allow}: {got:?}");
        }
        let got = report_matches(&path, &mut scanner, len, &allow);
        assert_eq!(got.is_empty(), allowed, "file: {allow}: {got:?}");
        // Another file with the same body is still detected.
        let got = scanner.scan_bytes(&other);
        assert_eq!(got.len(), 1, "{allow}: {got:?}");
        assert_eq!(&*got[0].name, "Body.Sig");
    }
}

#[test]
fn ignore_list_drops_named_signatures() {
    let len = HASHED.len();
    let sigs = format!(
        "Drop.Me:0:*:{k}\nKeep.Me:0:*:{k}\nAlso.Kept:0:*:{b}\n",
        k = hex(b"known"),
        b = hex(b"hash"),
    );
    let hashes = format!(
        "{}:{len}:Drop.Hash\n{}:*:Keep.Hash\n",
        md5_hex(HASHED),
        sha1_hex(HASHED)
    );
    // The ignore list first: a `Name:md5` line applies to the entries
    // loaded after it.
    let build = |ign: &str| {
        SignatureSet::builder()
            .text(Format::Ignore, "t.ign2", ign)
            .text(Format::Ndb, "t.ndb", &sigs)
            .text(Format::Hash, "t.hsb", &hashes)
            .build()
            .unwrap()
    };
    let names = |set: &SignatureSet| {
        let mut scanner = Scanner::new(set);
        scanner.all_matches(true);
        let got = scanner.scan_bytes(HASHED);
        got.iter()
            .map(|m| m.name.to_string())
            .collect::<BTreeSet<_>>()
    };
    let all = ["Drop.Me", "Keep.Me", "Also.Kept", "Drop.Hash", "Keep.Hash"].map(String::from);
    let none = build("# nothing\n");
    assert_eq!(none.info().ignored, 0);
    assert_eq!(names(&none), all.clone().into());

    // A name, and a name with the MD5 of its entry, the whole line (`.ign2`
    // allows both); with the MD5 of another entry, it is kept.
    let entry = hashes.lines().next().unwrap();
    let ign = format!(
        "Drop.Me\nDrop.Hash:{}\nKeep.Hash:0123456789abcdef0123456789abcdef\nNot.A.Sig\n",
        md5_hex(entry.as_bytes())
    );
    let set = build(&ign);
    assert_eq!(set.info().ignored, 2);
    assert_eq!(
        (set.info().body, set.info().md5, set.info().sha1),
        (2, 0, 1)
    );
    assert_eq!(
        names(&set),
        ["Keep.Me", "Also.Kept", "Keep.Hash"]
            .map(String::from)
            .into()
    );
    // Ignoring every signature with the atom leaves the others alone.
    let set = build("Drop.Me\nKeep.Me\n");
    assert_eq!(
        names(&set),
        ["Also.Kept", "Drop.Hash", "Keep.Hash"]
            .map(String::from)
            .into()
    );
}

/// `Node` is re-exported where the reference expects it.
#[test]
fn reference_sees_the_parsed_nodes() {
    let n = r::nodes("41{1-2}(42|4343)!(44)");
    assert!(matches!(
        n[1],
        Node::Gap {
            min: 1,
            max: Some(2)
        }
    ));
    assert!(r::matches(&n, Offset::Any, b"AxCCx"));
    assert!(!r::matches(&n, Offset::Any, b"AxCCD"));
}
