//! Compiling a [`Database`] into an immutable [`SignatureSet`]: one Aho-Corasick
//! automaton over the atoms of every body signature, the verification data for
//! each, and the hash index.

pub(crate) mod atoms;
mod atomset;
mod finder;
pub(crate) mod hashes;
pub(crate) mod logic;
#[allow(unsafe_code)]
mod simd;
pub(crate) mod sparse;

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sig::{
    BodySig, Database, DatabaseError, Format, HashKind, Node, Offset, TargetType, Trailer,
};
use atoms::AtomPlace;
use finder::Finder;
use hashes::HashIndex;
use sparse::SparseLimits;

/// A body signature ready to verify.
#[derive(Debug)]
pub(crate) struct CompiledSig {
    pub name: Arc<str>,
    pub target: TargetType,
    pub offset: Offset,
    pub trailer: Option<Trailer>,
    pub nodes: Vec<Node>,
    pub atom: AtomPlace,
    /// Fewest and most bytes before the atom (`None`: unbounded).
    pub left: (u64, Option<u64>),
}

/// A signature that owns an atom, with the window around its atom copied in:
/// a hit is checked against the windows of all its atom's owners in one
/// contiguous run, without touching the signatures (a cache miss each) until
/// one fits. Text-heavy files hit common atoms with a dozen owners each.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner {
    pub window: atoms::Window,
    pub sig: u32,
}

/// The compiled signatures: shared by every thread, never changed after
/// [`SignatureSet::compile`]. Cloning is cheap (an `Arc`).
#[derive(Clone, Debug)]
pub struct SignatureSet {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub sigs: Vec<CompiledSig>,
    pub finder: Option<Finder>,
    /// The owners of atom `a` are `owners[owner_start[a]..owner_start[a + 1]]`,
    /// in signature order.
    pub owners: Vec<Owner>,
    pub owner_start: Vec<u32>,
    pub hashes: HashIndex,
    pub allow: HashIndex,
    /// The logical signatures, if any.
    pub logic: Option<logic::LogicSet>,
    pub info: SetInfo,
    /// What a compact view of a sparse file must keep.
    pub sparse: SparseLimits,
}

/// What a compiled set holds, for `ward sigs info` and logging.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct SetInfo {
    /// Body signatures.
    pub body: usize,
    /// Logical signatures.
    pub logical: usize,
    /// MD5 hash signatures.
    pub md5: usize,
    /// SHA-1 hash signatures.
    pub sha1: usize,
    /// SHA-256 hash signatures.
    pub sha256: usize,
    /// Known-clean hashes.
    pub allow: usize,
    /// Signatures dropped by `.ign2`.
    pub ignored: usize,
    /// Distinct atoms searched for.
    pub atoms: usize,
    /// Atom search engine (`none` when there are no body signatures).
    pub automaton: String,
    /// Approximate heap memory of the compiled set, bytes.
    pub memory: usize,
    /// Compile time.
    pub build_time: Duration,
    /// The ClamAV containers (`.cvd`, `.cld`, `.cud`) the signatures came
    /// from, with their versions and build times.
    pub containers: Vec<crate::sig::cvd::Loaded>,
}

impl SetInfo {
    /// All signatures that can report a detection.
    pub fn total(&self) -> usize {
        self.body + self.logical + self.md5 + self.sha1 + self.sha256
    }
}

/// Why a database could not be compiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// Loading a database failed.
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// The automaton could not be built (too large).
    #[error("building the automaton failed: {0}")]
    Automaton(String),
    /// A signature has no fixed byte to anchor on.
    #[error("signature {0} has no fixed byte to anchor on")]
    NoAtom(String),
}

impl SignatureSet {
    /// A builder: `SignatureSet::builder().builtin(true).path("x.ndb").build()`.
    pub fn builder() -> SetBuilder {
        SetBuilder::default()
    }

    /// The built-in signatures, compiled.
    pub fn builtin() -> SignatureSet {
        SignatureSet::compile(&Database::builtin()).expect("the built-in database compiles")
    }

    /// Compile a database.
    pub fn compile(db: &Database) -> Result<SignatureSet, CompileError> {
        let tables = (db.hashes.clone(), db.allow.clone());
        Self::build(db.body.iter().cloned(), tables, db)
    }

    /// Compile a database, consuming it (no copy of the patterns is made).
    pub fn from_database(mut db: Database) -> Result<SignatureSet, CompileError> {
        let body = std::mem::take(&mut db.body);
        let tables = (
            std::mem::take(&mut db.hashes),
            std::mem::take(&mut db.allow),
        );
        Self::build(body.into_iter(), tables, &db)
    }

    /// Compile `body`, the (hash, allow) `tables` and the rest of `db`.
    fn build(
        body: impl Iterator<Item = BodySig>,
        (hash_table, allow_table): (crate::sig::HashTable, crate::sig::HashTable),
        db: &Database,
    ) -> Result<SignatureSet, CompileError> {
        let t0 = Instant::now();
        let kept = |name: &str| !db.ignored.contains(name);
        let mut sigs = Vec::new();
        let mut read = 0usize;
        let mut atom_ids: FxHashMap<Vec<u8>, usize> = FxHashMap::default();
        let mut atom_owners: Vec<Vec<u32>> = Vec::new();
        for sig in body.inspect(|_| read += 1).filter(|s| kept(&s.name)) {
            let compiled = compile_sig(sig)?;
            let bytes = atoms::bytes(&compiled.nodes, compiled.atom);
            let next = atom_ids.len();
            let id = *atom_ids.entry(bytes).or_insert(next);
            if id == atom_owners.len() {
                atom_owners.push(Vec::new());
            }
            atom_owners[id].push(sigs.len() as u32);
            sigs.push(compiled);
        }
        let mut owner_start = Vec::with_capacity(atom_owners.len() + 1);
        let mut owners = Vec::with_capacity(sigs.len());
        for list in &atom_owners {
            owner_start.push(owners.len() as u32);
            owners.extend(list.iter().map(|&sig| {
                let s = &sigs[sig as usize];
                Owner {
                    window: atoms::Window::around(&s.nodes, s.atom),
                    sig,
                }
            }));
        }
        owner_start.push(owners.len() as u32);
        drop(atom_owners);
        let mut patterns: Vec<(Vec<u8>, usize)> = atom_ids.into_iter().collect();
        patterns.sort_by_key(|(_, id)| *id);
        let atoms: Vec<Vec<u8>> = patterns.into_iter().map(|(b, _)| b).collect();
        let finder = if atoms.is_empty() {
            None
        } else {
            Some(Finder::new(&atoms).map_err(CompileError::Automaton)?)
        };
        let hashes_read = hash_table.len();
        let hashes = HashIndex::new(hash_table, &db.ignored);
        let logic = logic::LogicSet::new(db.logical.iter().filter(|s| kept(&s.name)))?;
        let logical = logic.as_ref().map_or(0, |l| l.sigs.len());
        let allow = HashIndex::new(allow_table, &Default::default());
        let mut info = SetInfo {
            body: sigs.len(),
            logical,
            md5: hashes.count(HashKind::Md5),
            sha1: hashes.count(HashKind::Sha1),
            sha256: hashes.count(HashKind::Sha256),
            allow: allow.len(),
            ignored: read + hashes_read + db.logical.len() + db.dropped
                - sigs.len()
                - hashes.len()
                - logical,
            atoms: atoms.len(),
            automaton: finder.as_ref().map_or("none", Finder::kind).into(),
            memory: 0,
            build_time: Duration::ZERO,
            containers: db.containers.clone(),
        };
        info.memory = finder.as_ref().map_or(0, Finder::memory_usage)
            + sigs
                .iter()
                .map(|s| s.nodes.len() * std::mem::size_of::<Node>() + 96)
                .sum::<usize>()
            + owners.len() * std::mem::size_of::<Owner>()
            + logic.as_ref().map_or(0, logic::LogicSet::memory_usage)
            + hashes.memory_usage()
            + allow.memory_usage();
        info.build_time = t0.elapsed();
        Ok(SignatureSet {
            inner: Arc::new(Inner {
                sparse: SparseLimits::new(&sigs),
                sigs,
                finder,
                owners,
                owner_start,
                hashes,
                allow,
                logic,
                info,
            }),
        })
    }

    /// What the set holds.
    pub fn info(&self) -> &SetInfo {
        &self.inner.info
    }

    /// Number of signatures that can report a detection.
    pub fn len(&self) -> usize {
        self.inner.info.total()
    }

    /// Whether the set has no signatures.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn compile_sig(sig: BodySig) -> Result<CompiledSig, CompileError> {
    let atom =
        atoms::choose(&sig.nodes).ok_or_else(|| CompileError::NoAtom(sig.name.to_string()))?;
    let left = sig.nodes[..atom.start]
        .iter()
        .fold((0u64, Some(0u64)), |(lo, hi), n| {
            let (a, b) = n.width();
            (lo + a, hi.zip(b).map(|(x, y)| x + y))
        });
    let mut nodes = sig.nodes;
    // The parser grew it a node at a time; the set keeps it for good.
    nodes.shrink_to_fit();
    Ok(CompiledSig {
        name: sig.name,
        target: sig.target,
        offset: sig.offset,
        trailer: sig.trailer,
        nodes,
        atom,
        left,
    })
}

/// Collects signature sources, then loads and compiles them in one go.
///
/// Defaults: no built-in signatures, no sources.
#[derive(Clone, Debug, Default)]
pub struct SetBuilder {
    builtin: bool,
    detect_pua: bool,
    paths: Vec<PathBuf>,
    texts: Vec<(Format, PathBuf, Vec<u8>)>,
}

impl SetBuilder {
    /// Include the built-in signatures (default: no).
    pub fn builtin(&mut self, yes: bool) -> &mut Self {
        self.builtin = yes;
        self
    }

    /// Load the PUA databases (`.hdu`, `.hsu`, `.ndu`, …) found among the
    /// sources (default: no, as in ClamAV).
    pub fn detect_pua(&mut self, yes: bool) -> &mut Self {
        self.detect_pua = yes;
        self
    }

    /// Add a signature file or directory.
    pub fn path(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.paths.push(path.as_ref().to_owned());
        self
    }

    /// Add signatures from text; `name` appears in error messages.
    pub fn text(&mut self, format: Format, name: &str, text: impl AsRef<[u8]>) -> &mut Self {
        self.texts
            .push((format, name.into(), text.as_ref().to_owned()));
        self
    }

    /// Load every source (all syntax errors are collected) and compile.
    pub fn build(&self) -> Result<SignatureSet, CompileError> {
        SignatureSet::from_database(self.database()?)
    }

    /// Load every source into a [`Database`] without compiling.
    pub fn database(&self) -> Result<Database, DatabaseError> {
        let mut db = Database::new();
        db.detect_pua = self.detect_pua;
        let mut errors = Vec::new();
        // A file or directory named twice (ClamAV's directory found by
        // default and named by a configuration too) is loaded once.
        let mut seen = std::collections::HashSet::new();
        let mut results = self
            .paths
            .iter()
            .filter(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())))
            .map(|p| db.load_path(p))
            .collect::<Vec<_>>();
        // Databases named that hold nothing would have every file reported clean.
        if !self.paths.is_empty() && db.signatures() == 0 && results.iter().all(Result::is_ok) {
            return Err(DatabaseError::NoSignatures {
                paths: self.paths.clone(),
            });
        }
        if self.builtin {
            let mut all = Database::builtin();
            all.merge(db);
            db = all;
        }
        results.extend(
            self.texts
                .iter()
                .map(|(f, n, t)| db.load_bytes(*f, n, t))
                .collect::<Vec<_>>(),
        );
        for r in results {
            match r {
                Ok(()) => {}
                Err(DatabaseError::Syntax(mut e)) => errors.append(&mut e),
                Err(e) => return Err(e),
            }
        }
        if errors.is_empty() {
            Ok(db)
        } else {
            Err(DatabaseError::Syntax(errors))
        }
    }
}
