//! Differential property test: random patterns using every hex feature, random
//! offsets and random haystacks over a small alphabet (half of them with an
//! instance of the pattern planted in them); the engine must agree with the
//! reference matcher (`super::reference`) on every one.

use proptest::prelude::*;
use proptest::sample::{Index, select};
use ward::sig::{Node, Offset, Tok};
use ward::{Format, MatchKind, Scanner, SignatureSet};

use crate::reference as r;
use crate::util::Rng;

/// Haystack bytes, and the exact bytes of patterns.
const ALPHABET: [u8; 4] = [0x41, 0x42, 0x43, 0x00];

fn exact() -> impl Strategy<Value = String> {
    select(&ALPHABET[..]).prop_map(|b| format!("{b:02x}"))
}

/// One token: exact, `??`, `a?` or `?a`, with nibbles that fit the alphabet.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => exact(),
        1 => Just("??".to_string()),
        1 => select(&['4', '0'][..]).prop_map(|h| format!("{h}?")),
        1 => select(&['0', '1', '2', '3'][..]).prop_map(|l| format!("?{l}")),
    ]
}

fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        (0..4u32).prop_map(|n| format!("{{{n}}}")),
        (0..4u32).prop_map(|n| format!("{{-{n}}}")),
        (0..4u32).prop_map(|n| format!("{{{n}-}}")),
        (0..4u32, 0..3u32).prop_map(|(n, d)| format!("{{{n}-{}}}", n + d)),
        (0..4u32, 0..3u32).prop_map(|(n, d)| format!("[{n}-{}]", n + d)),
    ]
}

fn alternation() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::collection::vec(token(), 1..=3), 2..=3)
        .prop_map(|alts| format!("({})", join_alts(&alts)))
}

fn negated() -> impl Strategy<Value = String> {
    (1..=2usize)
        .prop_flat_map(|len| prop::collection::vec(prop::collection::vec(token(), len), 1..=3))
        .prop_map(|alts| format!("!({})", join_alts(&alts)))
}

fn join_alts(alts: &[Vec<String>]) -> String {
    alts.iter()
        .map(|a| a.concat())
        .collect::<Vec<_>>()
        .join("|")
}

/// A pattern: a few elements around one exact byte, leading and trailing gaps
/// dropped (the parser merges adjacent gaps).
fn pattern() -> impl Strategy<Value = String> {
    let element = prop_oneof![
        4 => token(),
        2 => gap(),
        1 => alternation(),
        1 => negated(),
    ];
    (
        prop::collection::vec(element, 0..6),
        exact(),
        any::<Index>(),
    )
        .prop_map(|(mut elements, byte, at)| {
            let at = at.index(elements.len() + 1);
            elements.insert(at, byte);
            let is_gap = |e: &String| e.starts_with(['*', '{', '[']);
            while elements.first().is_some_and(is_gap) {
                elements.remove(0);
            }
            while elements.last().is_some_and(is_gap) {
                elements.pop();
            }
            elements.concat()
        })
}

fn offset() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just("*".to_string()),
        1 => (0..12u64).prop_map(|n| n.to_string()),
        1 => (0..12u64, 0..6u64).prop_map(|(n, s)| format!("{n},{s}")),
        1 => (0..12u64).prop_map(|n| format!("EOF-{n}")),
        1 => (0..12u64, 0..6u64).prop_map(|(n, s)| format!("EOF-{n},{s}")),
    ]
}

/// Where to plant an instance of the pattern, and the seed that fills its
/// wildcards; `aligned` puts it where the offset wants a match to start.
#[derive(Clone, Debug)]
struct Plant {
    at: Index,
    seed: u64,
    aligned: bool,
}

fn plant() -> impl Strategy<Value = Option<Plant>> {
    prop::option::weighted(
        0.5,
        (any::<Index>(), any::<u64>(), any::<bool>()).prop_map(|(at, seed, aligned)| Plant {
            at,
            seed,
            aligned,
        }),
    )
}

/// A byte satisfying `t`, from the alphabet when one fits.
fn byte_for(rng: &mut Rng, t: Tok) -> u8 {
    let candidate = ALPHABET[rng.below(4) as usize];
    if candidate & t.mask == t.value {
        candidate
    } else {
        t.value | (rng.byte() & !t.mask)
    }
}

fn bytes_for(rng: &mut Rng, toks: &[Tok]) -> Vec<u8> {
    toks.iter().map(|&t| byte_for(rng, t)).collect()
}

/// Bytes the pattern matches (from their first byte), or `None` when a negated
/// alternation found no window matching none of its alternatives.
fn instance(nodes: &[Node], seed: u64) -> Option<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for node in nodes {
        match node {
            Node::Tok(t) => out.push(byte_for(&mut rng, *t)),
            Node::Alt {
                alts,
                negated: false,
            } => {
                let alt = &alts[rng.below(alts.len() as u64) as usize];
                out.extend(bytes_for(&mut rng, alt));
            }
            Node::Alt {
                alts,
                negated: true,
            } => {
                let len = alts[0].len();
                let window = (0..20)
                    .map(|_| bytes_for(&mut rng, &vec![Tok { value: 0, mask: 0 }; len]))
                    .find(|w| {
                        !alts
                            .iter()
                            .any(|a| a.iter().zip(w).all(|(t, &b)| b & t.mask == t.value))
                    })?;
                out.extend(window);
            }
            Node::Gap { min, max } => {
                let most = max.unwrap_or(min + 3).min(min + 3);
                let len = min + rng.below(u64::from(most - min) + 1) as u32;
                for _ in 0..len {
                    out.push(ALPHABET[rng.below(4) as usize]);
                }
            }
        }
    }
    Some(out)
}

/// Plant an instance in `hay`; returns where it starts.
fn plant_in(hay: &mut Vec<u8>, nodes: &[Node], offset: Offset, p: &Plant) -> Option<usize> {
    let inst = instance(nodes, p.seed)?;
    let aligned = match (p.aligned, offset) {
        (true, Offset::FromStart { at, .. }) => usize::try_from(at).ok(),
        // Starts `back` bytes before the end of the haystack with the instance in.
        (true, Offset::FromEnd { back, .. }) => (hay.len() + inst.len()).checked_sub(back as usize),
        _ => None,
    };
    let at = aligned
        .filter(|&a| a <= hay.len())
        .unwrap_or_else(|| p.at.index(hay.len() + 1));
    hay.splice(at..at, inst);
    Some(at)
}

proptest! {
    // PROPTEST_CASES overrides the case count, for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(4000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn one_signature(
        pattern in pattern(),
        offset_text in offset(),
        mut hay in prop::collection::vec(select(&ALPHABET[..]), 0..32),
        plant in plant(),
    ) {
        let nodes = r::nodes(&pattern);
        let offset = r::offset(&offset_text);
        if let Some(p) = &plant
            && let Some(at) = plant_in(&mut hay, &nodes, offset, p)
        {
            // The instance is a match starting at `at`: checks the generator.
            prop_assert!(r::matches_at(&nodes, &hay, at), "planted instance does not match");
        }
        let starts = r::starts(offset, hay.len());
        prop_assert_eq!(
            offset.start_range(hay.len() as u64),
            (!starts.is_empty()).then(|| (*starts.start() as u64, *starts.end() as u64)),
            "start range"
        );
        let want = r::matches(&nodes, offset, &hay);
        prop_assert_eq!(r::matches_linear(&nodes, offset, &hay), want, "the two references");

        let line = format!("T:0:{offset_text}:{pattern}");
        let set = SignatureSet::builder()
            .text(Format::Ndb, "p.ndb", &line)
            .build()
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        let got = Scanner::new(&set).scan_bytes(&hay);
        prop_assert_eq!(!got.is_empty(), want, "{} on {:?}", line, hay.escape_ascii().to_string());
        if let [m] = &got[..] {
            let MatchKind::Body { offset: start } = m.kind else {
                panic!("{m:?}")
            };
            let s = start as usize;
            prop_assert!(
                r::starts(offset, hay.len()).contains(&s) && r::matches_at(&nodes, &hay, s),
                "{} on {:?}: no match starts at {}", line, hay.escape_ascii().to_string(), s
            );
        } else {
            prop_assert!(got.len() <= 1, "{:?}", got);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000),
        ..ProptestConfig::default()
    })]

    /// Several signatures on one longer haystack, with `all_matches`: the memo
    /// of failed searches is shared by every atom hit in the file, and atoms are
    /// shared between signatures.
    #[test]
    fn several_signatures_all_matches(
        sigs in prop::collection::vec((pattern(), offset(), plant()), 1..5),
        mut hay in prop::collection::vec(select(&ALPHABET[..]), 0..64),
    ) {
        let parsed: Vec<(Vec<Node>, Offset)> =
            sigs.iter().map(|(p, o, _)| (r::nodes(p), r::offset(o))).collect();
        for ((nodes, offset), (_, _, plant)) in parsed.iter().zip(&sigs) {
            if let Some(p) = plant {
                plant_in(&mut hay, nodes, *offset, p);
            }
        }
        let text: String = sigs
            .iter()
            .enumerate()
            .map(|(i, (p, o, _))| format!("S{i}:0:{o}:{p}\n"))
            .collect();
        let want: Vec<bool> = parsed.iter().map(|(n, o)| r::matches(n, *o, &hay)).collect();
        let set = SignatureSet::builder()
            .text(Format::Ndb, "p.ndb", &text)
            .build()
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut scanner = Scanner::new(&set);
        scanner.all_matches(true);
        let got = scanner.scan_bytes(&hay);
        let mut found = vec![false; sigs.len()];
        for m in &got {
            let i: usize = m.name[1..].parse().unwrap();
            prop_assert!(!found[i], "{} reported twice", m.name);
            found[i] = true;
            let MatchKind::Body { offset: start } = m.kind else {
                panic!("{m:?}")
            };
            let (nodes, offset) = &parsed[i];
            let s = start as usize;
            prop_assert!(
                r::starts(*offset, hay.len()).contains(&s) && r::matches_at(nodes, &hay, s),
                "{}: no match starts at {}", m.name, s
            );
        }
        prop_assert_eq!(&found, &want, "{} on {:?}", text, hay.escape_ascii().to_string());

        scanner.all_matches(false);
        let first = scanner.scan_bytes(&hay);
        prop_assert_eq!(first.len(), usize::from(want.contains(&true)), "{:?}", first);
    }
}
