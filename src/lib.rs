//! ward: a malware signature scanner.
//!
//! Signatures in ClamAV's formats (`.ndb`, `.hdb`, `.hsb`, `.fp`, `.sfp`, `.ign2`)
//! are parsed into a [`Database`], compiled once into an immutable
//! [`SignatureSet`] (one Aho-Corasick automaton over a short "atom" of every body
//! signature, plus a hash index), and matched by per-thread [`Scanner`]s.
//!
//! ```
//! use ward::{Format, Scanner, SignatureSet, Verdict};
//!
//! // Build a set from text (or `.path("sigs.ndb")`, or `.builtin(true)`).
//! let set = SignatureSet::builder()
//!     .text(Format::Ndb, "demo.ndb", "Demo.Sig:0:*:6576696c{2-4}636f6465")
//!     .build()?;
//! let mut scanner = Scanner::new(&set);
//!
//! // Scan bytes.
//! let hits = scanner.scan_bytes(b"some evil..code here");
//! assert_eq!(&*hits[0].name, "Demo.Sig");
//!
//! // Scan a file.
//! let dir = std::env::temp_dir().join(format!("ward-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("a.bin"), b"xx evil\0\0\0code")?;
//! let report = scanner.scan_file(&dir.join("a.bin"));
//! assert!(report.is_infected());
//!
//! // Scan a tree in parallel; the callback runs on this thread.
//! let walk = ward::WalkOptions::new().walk([dir.clone()])?;
//! let mut infected = 0;
//! ward::scan_tree(&set, walk, &ward::TreeOptions::default(), |event| {
//!     if let ward::Event::File(r) = event {
//!         infected += matches!(r.verdict, Verdict::Infected(_)) as usize;
//!     }
//!     std::ops::ControlFlow::Continue(())
//! })?;
//! assert_eq!(infected, 1);
//! std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
// `unsafe` lives only in fenced modules, each allowed where it is
// declared: `scan::mmap` (leases and maps), `watch::fanotify::sys` (the
// fanotify calls), `compile::simd` (the AVX2 probe), `unpack::spill` (the
// map of a member's nameless spill file) and `sig::mapped` (the map of a
// compiled set).
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod compile;
pub mod daemon;
pub mod encoding;
mod fsops;
pub mod health;
pub mod home;
pub mod journal;
pub mod live;
pub mod posture;
pub mod quarantine;
pub mod scan;
pub mod sig;
pub mod unpack;
pub mod walk;
pub mod watch;

pub use compile::{CompileError, SetBuilder, SetInfo, SignatureSet};
pub use quarantine::{Vault, VaultError};
pub use scan::tree::{Event, TreeOptions, scan_tree, scan_tree_with};
pub use scan::{
    FileReport, Limit, Limits, Match, MatchKind, ScanError, Scanner, SkipReason, Verdict,
};
pub use sig::{Database, DatabaseError, Format, SigError};
pub use walk::WalkOptions;
