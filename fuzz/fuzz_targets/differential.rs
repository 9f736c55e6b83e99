//! Derive a few signatures and a haystack from the input; ward's verdict for each
//! signature (alone, and all together with `all_matches`) must equal a naive
//! reference matcher's, and every reported offset must be a real match start.
#![no_main]

use std::collections::BTreeMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ward::{Database, Format, Limits, MatchKind, Scanner, SignatureSet};
use ward_fuzz::{case, hex, offset_field, reference_starts};

fuzz_target!(|data: &[u8]| {
    let (sigs, hay) = case(data);
    let style = data.last().copied().unwrap_or(0);
    let text: String = sigs
        .iter()
        .enumerate()
        .map(|(k, s)| {
            format!(
                "D{k}:0:{}:{}\n",
                offset_field(s.offset),
                hex(&s.nodes, style)
            )
        })
        .collect();
    let mut db = Database::new();
    if let Err(e) = db.load_bytes(Format::Ndb, Path::new("diff.ndb"), text.as_bytes()) {
        panic!("generated signatures must parse: {e}\n{text}");
    }
    assert_eq!(db.body.len(), sigs.len(), "{text}");

    // The reference knows raw bytes only: no container, mail part or
    // normalised text view may add a match it cannot predict.
    let mut raw = Limits::new();
    raw.scan_archive(false).scan_mail(false).scan_html(false);

    let expected: Vec<Vec<usize>> = sigs.iter().map(|s| reference_starts(s, &hay)).collect();
    let check = |name: &str, offset: u64| {
        let k: usize = name[1..].parse().unwrap();
        assert!(
            expected[k].contains(&(offset as usize)),
            "{name} reported at {offset}, reference starts {:?}\n{text}hay {:?}",
            expected[k],
            hay.escape_ascii().to_string()
        );
    };

    // One signature at a time.
    for (k, sig) in db.body.iter().enumerate() {
        let one = Database {
            body: vec![sig.clone()],
            ..Database::default()
        };
        let set = SignatureSet::compile(&one).expect("a parsed signature compiles");
        let hits = Scanner::new(&set).limits(raw).scan_bytes(&hay);
        assert_eq!(
            !hits.is_empty(),
            !expected[k].is_empty(),
            "D{k}: ward {hits:?}, reference starts {:?}\n{text}hay {:?}",
            expected[k],
            hay.escape_ascii().to_string()
        );
        for m in hits {
            let MatchKind::Body { offset } = m.kind else {
                panic!("{m:?}")
            };
            check(&m.name, offset);
        }
    }

    // All together, every match.
    let set = SignatureSet::compile(&db).expect("parsed signatures compile");
    let mut scanner = Scanner::new(&set);
    scanner.all_matches(true).limits(raw);
    let mut got = BTreeMap::new();
    for m in scanner.scan_bytes(&hay) {
        let MatchKind::Body { offset } = m.kind else {
            panic!("{m:?}")
        };
        check(&m.name, offset);
        assert!(
            got.insert(m.name.to_string(), offset).is_none(),
            "{} reported twice",
            m.name
        );
    }
    let want: Vec<String> = (0..sigs.len())
        .filter(|&k| !expected[k].is_empty())
        .map(|k| format!("D{k}"))
        .collect();
    assert_eq!(
        got.keys().cloned().collect::<Vec<_>>(),
        want,
        "\n{text}hay {:?}",
        hay.escape_ascii().to_string()
    );
});
