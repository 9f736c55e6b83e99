//! Scanning: a [`Scanner`] owns one thread's scratch state and matches bytes or
//! files against a shared [`SignatureSet`], producing a [`FileReport`].
//!
//! A file goes through three steps. `source` acquires its top-level layer
//! under the [`Limits`] (its bytes, read or mapped, or a sparse file's compact
//! view, or why it is not scanned); `Scanner::scan_layer` matches the layer
//! with the `engine`, within the file's context (`ctx`: its clock, container
//! path and findings); the context gives the [`Verdict`].

mod budget;
mod ctx;
mod detect;
mod engine;
pub(crate) mod filetype;
pub mod input;
mod layer;
mod limits;
mod mailtype;
#[allow(unsafe_code)]
pub(crate) mod mmap;
mod source;
pub(crate) mod sparse;
pub mod tree;
mod verify;

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::compile::SignatureSet;
use crate::sig::HashKind;
use crate::unpack;
use budget::Budget;
use ctx::ScanCtx;
pub use engine::SPLIT_PIECE;
use engine::{Engine, FileState};
use filetype::FileType;
use input::{OpenOutcome, SpecialKind};
use layer::Layer;
pub use limits::{Limit, Limits};
use source::Acquired;

/// How a signature matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatchKind {
    /// A body signature, starting at `offset`.
    Body {
        /// Offset of the first byte of the match.
        offset: u64,
    },
    /// A hash signature.
    Hash {
        /// The digest that matched.
        hash: HashKind,
    },
    /// A logical signature (`.ldb`): its expression over its subsignatures'
    /// matches holds.
    Logical,
    /// A heuristic of the unpacker (`Heuristics.Zip.OverlappingFiles`,
    /// `Heuristics.Encrypted.Zip`, `Heuristics.Limits.Exceeded.MaxFiles`, …).
    Heuristic,
}

/// One detection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Match {
    /// Signature name, exactly as in the database.
    pub name: Arc<str>,
    /// How it matched.
    pub kind: MatchKind,
    /// Where, inside the file, it matched: the names of the members the
    /// match is in, outermost first (empty for the file's own bytes).
    pub container: Vec<Vec<u8>>,
}

impl Match {
    /// A match in the file's own bytes.
    pub(crate) fn new(name: Arc<str>, kind: MatchKind) -> Match {
        Match {
            name,
            kind,
            container: Vec::new(),
        }
    }
}

/// Why a file was not scanned. A skipped file is never reported as clean.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Not a regular file.
    Special(SpecialKind),
    /// Larger than `--max-filesize`.
    TooLarge {
        /// The file's size (for a file that reports size 0, such as those in
        /// `/proc`, at least this much was read).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Its scan took longer than `--max-scantime`.
    Timeout {
        /// The limit.
        limit: Duration,
    },
    /// Larger than [`input::MAX_READ`] and could not be memory-mapped (no lease
    /// could be had), so it would have to be read into memory whole.
    TooLargeToRead {
        /// The file's size (or at least this much, for one that reports size 0).
        size: u64,
    },
    /// A container in it could not be unpacked whole: a limit was reached,
    /// a member was encrypted or damaged. What was taken out was scanned and
    /// nothing was found in it.
    Incomplete {
        /// The first limit reached (or what else stopped the unpacking).
        limit: Limit,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Special(k) => write!(f, "Not a regular file ({})", k.as_str()),
            SkipReason::TooLarge { size, limit } => {
                write!(f, "Size {size} exceeds max-filesize {limit}")
            }
            SkipReason::Timeout { limit } => {
                write!(f, "Scan time exceeds max-scantime {limit:?}")
            }
            SkipReason::Incomplete { limit } => {
                write!(f, "Not fully unpacked: {}", limit.name())
            }
            SkipReason::TooLargeToRead { size } => write!(
                f,
                "Size {size} exceeds the read limit {} and the file cannot be mapped",
                input::MAX_READ
            ),
        }
    }
}

/// Why a file could not be scanned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// `open` or `fstat` failed.
    #[error("can't open: {0}")]
    Open(#[source] io::Error),
    /// Reading failed.
    #[error("can't read: {0}")]
    Read(#[source] io::Error),
    /// Walking the directory tree failed here.
    #[error("{0}")]
    Walk(String),
}

/// The verdict on one file.
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// Scanned; nothing found.
    Clean,
    /// Scanned; signatures matched (at least one).
    Infected(Vec<Match>),
    /// Not scanned, and why.
    Skipped(SkipReason),
    /// Not scanned because of an error.
    Error(ScanError),
}

/// The result of scanning one file.
#[derive(Debug)]
#[non_exhaustive]
pub struct FileReport {
    /// The path as given or found by the walk.
    pub path: PathBuf,
    /// Bytes scanned (0 when not scanned).
    pub scanned_bytes: u64,
    /// The verdict.
    pub verdict: Verdict,
}

impl FileReport {
    /// Whether something was found.
    pub fn is_infected(&self) -> bool {
        matches!(self.verdict, Verdict::Infected(_))
    }
}

/// Per-thread scanning state over a shared [`SignatureSet`].
///
/// Cheap to create; reuse one per thread to keep its buffers warm.
pub struct Scanner {
    set: SignatureSet,
    opts: Options,
    scratch: Scratch,
}

/// How a scanner scans: set by its builder methods, the same for every file.
#[derive(Clone)]
struct Options {
    all_matches: bool,
    limits: Limits,
    mmap: bool,
    pieces: Option<Arc<rayon::ThreadPool>>,
    /// Where members too large for memory are spilled.
    spill_dir: Option<PathBuf>,
}

impl Options {
    /// The pool that searches a layer of `len` bytes in pieces, if it is to be
    /// split.
    fn split(&self, len: usize) -> Option<&rayon::ThreadPool> {
        self.pieces.as_deref().filter(|_| len >= SPLIT_FROM)
    }
}

/// What a thread reuses from file to file, its allocations kept warm.
struct Scratch {
    /// The buffer files are read into.
    buf: Vec<u8>,
    /// The matching state of the layer being matched. One is enough: a
    /// layer is matched whole (and the state reset) before its members are.
    state: FileState,
    /// Decompressed members, one per depth of nesting.
    members: Vec<unpack::Scratch>,
    /// The normalised text view being matched (views are never nested).
    text: Vec<u8>,
    /// The HTML views being matched.
    html: unpack::html::Views,
}

/// ClamAV's name for a zip whose entries overlap (a zip bomb's construction).
const OVERLAPPING_FILES: &str = "Heuristics.Zip.OverlappingFiles";

/// Buffers larger than this are released after use rather than kept per thread.
const KEEP_BUFFER: usize = 64 << 20;

/// How the normalised view of a text file is named in a match's container
/// chain.
pub const TEXT_VIEW: &[u8] = b"normalized text";

/// How the view of an HTML file without its comments is named in a match's
/// container chain (ClamAV's `nocomment.html`).
pub const HTML_NOCOMMENT_VIEW: &[u8] = b"html (no comments)";

/// How the text of an HTML file without its tags is named in a match's
/// container chain (ClamAV's `notags.html`).
pub const HTML_NOTAGS_VIEW: &[u8] = b"html (no tags)";

/// The most members of a zip one task scans in a row. rayon splits a range
/// into a few long runs and splits a run again only while no thread has
/// started it: with runs of a quarter of the archive, one thread finished
/// while the other still had a whole run to go. Short runs keep both busy to
/// the end; each run costs a scanner of its own (a few allocations).
const MEMBERS_PER_TASK: usize = 16;

impl Scanner {
    /// A scanner with defaults: first match only, no size limit, mmap allowed.
    pub fn new(set: &SignatureSet) -> Scanner {
        Scanner {
            set: set.clone(),
            opts: Options {
                all_matches: false,
                limits: Limits::new(),
                mmap: true,
                pieces: None,
                spill_dir: None,
            },
            scratch: Scratch {
                members: Vec::new(),
                text: Vec::new(),
                html: unpack::html::Views::default(),
                buf: Vec::new(),
                state: FileState::new(set.inner.sigs.len()),
            },
        }
    }

    /// Report every matching signature rather than stopping at the first (default: off).
    pub fn all_matches(&mut self, yes: bool) -> &mut Self {
        self.opts.all_matches = yes;
        self
    }

    /// The limits on scanning one file (default: [`Limits::new`], none).
    /// They apply to [`Scanner::scan_file`] and [`Scanner::scan_opened`].
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.opts.limits = limits;
        self
    }

    /// Skip files larger than this (default: no limit); [`Limits::max_filesize`].
    pub fn max_filesize(&mut self, limit: Option<u64>) -> &mut Self {
        self.opts.limits.max_filesize(limit);
        self
    }

    /// Give up on a file whose scan takes longer than this; it is reported as
    /// [`SkipReason::Timeout`], never as clean (default: no limit). Applies to
    /// [`Scanner::scan_file`] and [`Scanner::scan_opened`];
    /// [`Limits::max_scantime`].
    pub fn max_scantime(&mut self, limit: Option<Duration>) -> &mut Self {
        self.opts.limits.max_scantime(limit);
        self
    }

    /// Allow memory-mapping large files under a lease (default: on).
    pub fn mmap(&mut self, yes: bool) -> &mut Self {
        self.opts.mmap = yes;
        self
    }

    /// Search files of 4 MiB and more in 1 MiB pieces in parallel on `pool`
    /// (default: none). The matches are those of one search; a large file then
    /// no longer keeps one thread busy while the others wait. The calling
    /// thread waits for the pieces and does nothing else meanwhile (it should
    /// not be one of `pool`'s threads, or it would take other work of the pool
    /// while it waits). [`tree::scan_tree`] scans with a pool of its own.
    pub fn split_large(&mut self, pool: Option<Arc<rayon::ThreadPool>>) -> &mut Self {
        self.opts.pieces = pool;
        self
    }

    /// Where a decompressed member past the memory a scan may hold (128 MiB
    /// along one path of nested containers) goes on: a file with no name
    /// (`O_TMPFILE`) in `dir`, mapped to be scanned and gone when done
    /// (default: the system's temporary directory).
    pub fn spill_dir(&mut self, dir: Option<PathBuf>) -> &mut Self {
        self.opts.spill_dir = dir;
        self
    }

    /// The signature set.
    pub fn signatures(&self) -> &SignatureSet {
        &self.set
    }

    /// Scan a byte string as if it were a whole file (no time limit).
    pub fn scan_bytes(&mut self, data: &[u8]) -> Vec<Match> {
        let mut limits = self.opts.limits;
        limits.max_scantime = None;
        let mut ctx = ScanCtx::new(limits);
        self.scan_layer(&mut ctx, &Layer::whole(data));
        ctx.found
    }

    /// Scan bytes already in memory (a stream received over a socket, say)
    /// as one whole file, under the scanner's [`Limits`]: its size against
    /// [`Limits::max_filesize`], its scan (containers included) against
    /// [`Limits::max_scantime`]. `path` is only reported.
    ///
    /// ```
    /// let set = ward::SignatureSet::builtin();
    /// let mut scanner = ward::Scanner::new(&set);
    /// scanner.max_filesize(Some(4));
    /// let report = scanner.scan_buffer(b"too long", "stream".as_ref());
    /// assert!(matches!(report.verdict, ward::Verdict::Skipped(_)));
    /// ```
    pub fn scan_buffer(&mut self, data: &[u8], path: &Path) -> FileReport {
        let size = data.len() as u64;
        let (scanned_bytes, verdict) = match self.opts.limits.max_filesize {
            Some(limit) if size > limit => {
                (0, Verdict::Skipped(SkipReason::TooLarge { size, limit }))
            }
            _ => self.scan_top(ScanCtx::new(self.opts.limits), &Layer::whole(data)),
        };
        FileReport {
            path: path.to_owned(),
            scanned_bytes,
            verdict,
        }
    }

    /// Match one layer and add what matched to `ctx.found`: the digests and
    /// the allow list when the layer is whole (an allow-listed layer matches
    /// nothing), then the body signatures (unless a hash signature matched and
    /// only the first match is wanted). A name is recorded once even when
    /// several signatures carry it; offsets are the file's own.
    ///
    /// Then, unless the scan is done, a container found in the layer has its
    /// members taken out one at a time, each scanned here as a layer one
    /// level deeper with its name on `ctx.stack`, as far as the limits in
    /// `ctx` allow.
    fn scan_layer(&mut self, ctx: &mut ScanCtx, layer: &Layer) {
        debug_assert_eq!(layer.depth as usize, ctx.stack.len());
        // Not parsing mail, ClamAV types fewer text files as mail (for
        // target type 4).
        if !ctx.limits.scan_mail {
            let _ = layer
                .ftype
                .set(filetype::FileType::detect_unparsed_mail(layer.bytes));
        }
        let engine = Engine::new(&self.set.inner);
        let state = &mut self.scratch.state;
        let size = layer.bytes.len() as u64;
        let matched = match self.opts.split(layer.bytes.len()) {
            Some(pool) if layer.whole && engine.needs_hash(size) => {
                side_by_side(engine, &self.opts, layer, state, &mut ctx.budget, pool)
            }
            _ => in_turn(engine, &self.opts, layer, state, &mut ctx.budget),
        };
        state.reset();
        // Known clean content is clean all through: nothing inside it is
        // unpacked or viewed either.
        let Some(mut found) = matched else {
            return;
        };
        dedup_names(&mut found);
        for m in &mut found {
            if let MatchKind::Body { offset } = &mut m.kind {
                *offset = layer.real_offset(*offset);
            }
            m.container.clone_from(&ctx.stack);
        }
        ctx.found.append(&mut found);
        if layer.normalized || ctx.done(self.opts.all_matches) {
            return;
        }
        let limits = &ctx.limits;
        // Without archives, only mail is asked for (the zip test, which
        // searches every file's last 64 KiB, is not paid for nothing).
        let kind = match limits.scan_archive {
            true => unpack::detect(layer.bytes),
            false if limits.scan_mail => unpack::detect_mail(layer.bytes),
            false => None,
        };
        match kind {
            Some(unpack::Kind::Mail) if !limits.scan_mail => {}
            Some(kind) => self.scan_members(ctx, layer, kind),
            None if limits.scan_html && layer.whole => self.scan_views(ctx, layer),
            None => {}
        }
    }

    /// If `layer` is text, match its normalised views, each as a layer one
    /// level down: the HTML views when it is HTML (ClamAV then makes no text
    /// view), else the text view.
    fn scan_views(&mut self, ctx: &mut ScanCtx, layer: &Layer) {
        use unpack::text::TextKind;
        let bytes = layer.bytes;
        // The HTML views have the larger limit: past it, there is no view.
        if bytes.is_empty() || bytes.len() > unpack::html::MAX_NORMALIZE {
            return;
        }
        let html = match unpack::text::text_kind(bytes) {
            None => return,
            // As ClamAV: a plain ASCII file is HTML by a tag anywhere, other
            // text by a tag in its first KiB (UTF-16 HTML is not looked for).
            Some(TextKind::Ascii) => unpack::html::has_tag(bytes),
            Some(TextKind::Utf8) => {
                unpack::html::has_tag(&bytes[..bytes.len().min(unpack::html::HEAD)])
            }
            Some(TextKind::Utf16) => false,
        };
        match html {
            true => self.scan_html_views(ctx, layer),
            false => self.scan_text_view(ctx, layer),
        }
    }

    /// Match the normalised view of a text file, named [`TEXT_VIEW`] (see
    /// [`unpack::text`]).
    fn scan_text_view(&mut self, ctx: &mut ScanCtx, layer: &Layer) {
        if layer.bytes.len() > unpack::text::MAX_NORMALIZE {
            return;
        }
        let mut text = std::mem::take(&mut self.scratch.text);
        let len = unpack::text::normalize(layer.bytes, &mut text);
        if len > 0 {
            let before = ctx.found.len();
            self.scan_view(ctx, layer, TEXT_VIEW, &text[..len], FileType::Text);
            drop_repeats(ctx, before);
        }
        if text.capacity() > KEEP_BUFFER {
            text = Vec::new();
        }
        self.scratch.text = text;
    }

    /// Match the views of an HTML file, named [`HTML_NOCOMMENT_VIEW`] and
    /// [`HTML_NOTAGS_VIEW`], and scan the payload of each of its `data:`
    /// URIs as a member named `data: URI <n>` (see [`unpack::html`]).
    fn scan_html_views(&mut self, ctx: &mut ScanCtx, layer: &Layer) {
        let n = layer.bytes.len();
        if n > unpack::html::MAX_NORMALIZE {
            return;
        }
        let mut views = std::mem::take(&mut self.scratch.html);
        unpack::html::normalize(layer.bytes, n <= unpack::html::MAX_NOTAGS, &mut views);
        let before = ctx.found.len();
        for (name, bytes) in [
            (HTML_NOCOMMENT_VIEW, &views.nocomment),
            (HTML_NOTAGS_VIEW, &views.notags),
        ] {
            if !bytes.is_empty() && !ctx.done(self.opts.all_matches) {
                self.scan_view(ctx, layer, name, bytes, FileType::Html);
            }
        }
        drop_repeats(ctx, before);
        if !views.data.is_empty() && layer.depth >= ctx.limits.max_recursion {
            ctx.hit(Limit::MaxRecursion);
        } else {
            let (_, cap_limit) = ctx.member_cap();
            for (k, data) in views.data.iter().enumerate() {
                if ctx.done(self.opts.all_matches) {
                    break;
                }
                let name = format!("data: URI {}", k + 1);
                let found = unpack::Found::Member {
                    name: name.as_bytes(),
                    data,
                    cut: None,
                };
                // ClamAV hands each payload to its mail reader.
                let flow = self.take_member(ctx, layer, unpack::Kind::Mail, cap_limit, found);
                if flow.is_break() {
                    break;
                }
            }
        }
        if views.capacity() > KEEP_BUFFER {
            views = unpack::html::Views::default();
        }
        self.scratch.html = views;
    }

    /// Match `bytes`, a view of `layer` of type `ftype`, as a layer one level
    /// down named `name`.
    fn scan_view(
        &mut self,
        ctx: &mut ScanCtx,
        layer: &Layer,
        name: &[u8],
        bytes: &[u8],
        ftype: FileType,
    ) {
        ctx.stack.push(name.to_vec());
        self.scan_layer(ctx, &Layer::normalized(bytes, layer.depth + 1, ftype));
        ctx.stack.pop();
    }

    /// Scan the members of `layer`, a container of `kind` (see
    /// [`Scanner::scan_layer`]).
    fn scan_members(&mut self, ctx: &mut ScanCtx, layer: &Layer, kind: unpack::Kind) {
        if layer.depth >= ctx.limits.max_recursion {
            ctx.hit(Limit::MaxRecursion);
            return;
        }
        // A top-level zip's members can be read in any order: they are
        // scanned side by side on the pool (a file's own worker waits).
        if kind == unpack::Kind::Zip
            && layer.depth == 0
            && let Some(pool) = self.opts.pieces.clone()
            && pool.current_num_threads() > 1
            && let Some(index) = unpack::ZipIndex::read(layer.bytes)
        {
            self.scan_zip_in_parallel(ctx, layer, &index, &pool);
            return;
        }
        let depth = layer.depth as usize;
        if self.scratch.members.len() <= depth {
            let dir = self.opts.spill_dir.as_deref();
            self.scratch
                .members
                .resize_with(depth + 1, || unpack::Scratch::in_dir(dir));
        }
        let mut scratch = std::mem::take(&mut self.scratch.members[depth]);
        let (cap, cap_limit) = ctx.member_cap();
        let caps = unpack::Caps {
            member: cap,
            memory: ctx.member_memory(),
            ratio: ctx.limits.max_ratio,
            deadline: ctx.deadline(),
        };
        unpack::unpack(kind, layer.bytes, &caps, &mut scratch, &mut |found| {
            self.take_member(ctx, layer, kind, cap_limit, found)
        });
        if scratch.capacity() > KEEP_BUFFER {
            scratch.release();
        }
        self.scratch.members[depth] = scratch;
    }

    /// Act on one thing unpacking found in `layer`: scan a member as a layer
    /// one level down, or record a limit or a heuristic. `Break` when no more
    /// members are to be taken out.
    fn take_member(
        &mut self,
        ctx: &mut ScanCtx,
        layer: &Layer,
        kind: unpack::Kind,
        cap_limit: Limit,
        found: unpack::Found<'_>,
    ) -> ControlFlow<()> {
        match found {
            unpack::Found::Member { name, data, cut } => {
                if let Some(cut) = cut {
                    ctx.hit(match cut {
                        unpack::Cut::Size => cap_limit,
                        unpack::Cut::Ratio => Limit::MaxRatio,
                        unpack::Cut::Time => Limit::MaxScanTime,
                        unpack::Cut::Broken => Limit::Broken,
                        unpack::Cut::Unsupported => Limit::Unsupported,
                        unpack::Cut::Depth => Limit::MaxRecursion,
                    });
                }
                if cut != Some(unpack::Cut::Time) {
                    // Every member counts, empty ones too (as in ClamAV).
                    if ctx.files >= ctx.limits.max_files {
                        ctx.hit(Limit::MaxFiles);
                        return ControlFlow::Break(());
                    }
                    ctx.files += 1;
                }
                if cut != Some(unpack::Cut::Time) && !data.is_empty() {
                    ctx.expanded += data.len() as u64;
                    let in_layer = layer.bytes.as_ptr_range();
                    let held = match in_layer.contains(&data.as_ptr()) {
                        true => 0,
                        false => data.len() as u64,
                    };
                    ctx.held += held;
                    ctx.stack.push(name.to_vec());
                    self.scan_layer(ctx, &Layer::member(data, layer.depth + 1));
                    ctx.stack.pop();
                    ctx.held -= held;
                }
            }
            unpack::Found::Encrypted { name } => {
                if ctx.limits.alert_encrypted {
                    ctx.stack.push(name.to_vec());
                    ctx.heuristic(format!("Heuristics.Encrypted.{}", kind.name()));
                    ctx.stack.pop();
                } else {
                    ctx.hit(Limit::Encrypted);
                }
            }
            unpack::Found::Overlap => {
                ctx.heuristic(OVERLAPPING_FILES.to_owned());
                return ControlFlow::Break(());
            }
            unpack::Found::Broken => ctx.hit(Limit::Broken),
        }
        if ctx.expanded >= ctx.limits.max_scansize {
            ctx.hit(Limit::MaxScanSize);
            return ControlFlow::Break(());
        }
        if ctx.done(self.opts.all_matches) {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// The members of a top-level zip, each scanned on `pool` by a scanner of
    /// the task's own, under a share of the file's limits; what each finds is
    /// merged in the zip's order, as if scanned one after another. Without
    /// `all_matches`, members not started when one is found are left alone.
    fn scan_zip_in_parallel(
        &mut self,
        ctx: &mut ScanCtx,
        layer: &Layer,
        index: &unpack::ZipIndex,
        pool: &rayon::ThreadPool,
    ) {
        use rayon::prelude::*;
        if index.is_bomb() {
            ctx.heuristic(OVERLAPPING_FILES.to_owned());
            return;
        }
        let all = self.opts.all_matches;
        let stop = AtomicBool::new(false);
        // Members and bytes taken out by every task so far: the file's
        // limits hold across the tasks (overshot by at most one member each).
        let (files, expanded) = (AtomicU32::new(0), AtomicU64::new(0));
        let parent: &ScanCtx = ctx;
        let threads = pool.current_num_threads() as u64;
        let worker = &*self;
        let parts: Vec<ctx::Part> = pool.install(|| {
            (0..index.len())
                .into_par_iter()
                .with_max_len(MEMBERS_PER_TASK)
                .map_init(
                    || {
                        let dir = worker.opts.spill_dir.as_deref();
                        (worker.helper(), unpack::Scratch::in_dir(dir))
                    },
                    |(sc, scratch), i| {
                        let done = (
                            files.load(Ordering::Relaxed),
                            expanded.load(Ordering::Relaxed),
                        );
                        let mut sub = parent.child(threads, done);
                        let start = (sub.files, sub.expanded);
                        if stop.load(Ordering::Relaxed) {
                            return sub.part(start);
                        }
                        let (cap, cap_limit) = sub.member_cap();
                        let caps = unpack::Caps {
                            member: cap,
                            memory: sub.member_memory(),
                            ratio: sub.limits.max_ratio,
                            deadline: sub.deadline(),
                        };
                        let flow = match index.member(i, layer.bytes, &caps, scratch) {
                            None => ControlFlow::Continue(()),
                            Some(found) => {
                                sc.take_member(&mut sub, layer, unpack::Kind::Zip, cap_limit, found)
                            }
                        };
                        if flow.is_break() || sub.done(all) {
                            stop.store(true, Ordering::Relaxed);
                        }
                        if scratch.capacity() > KEEP_BUFFER {
                            scratch.release();
                        }
                        let part = sub.part(start);
                        files.fetch_add(part.files, Ordering::Relaxed);
                        expanded.fetch_add(part.expanded, Ordering::Relaxed);
                        part
                    },
                )
                .collect()
        });
        for part in parts {
            ctx.absorb(part, all);
        }
        if index.is_broken() {
            ctx.hit(Limit::Broken);
        }
    }

    /// A scanner for a task of this one's pool: the same set, options and
    /// pool (a large member is searched in pieces by whichever threads are
    /// free: rayon lets a task wait for its pieces by taking others), scratch
    /// of its own.
    fn helper(&self) -> Scanner {
        let opts = self.opts.clone();
        Scanner {
            set: self.set.clone(),
            opts,
            scratch: Scratch {
                members: Vec::new(),
                text: Vec::new(),
                html: unpack::html::Views::default(),
                buf: Vec::new(),
                state: FileState::new(self.set.inner.sigs.len()),
            },
        }
    }

    /// Open, read and scan a file.
    pub fn scan_file(&mut self, path: &Path) -> FileReport {
        match input::open(path) {
            Ok(OpenOutcome::Regular(opened)) => self.scan_opened(&opened, path),
            Ok(OpenOutcome::Special(k)) => FileReport {
                path: path.to_owned(),
                scanned_bytes: 0,
                verdict: Verdict::Skipped(SkipReason::Special(k)),
            },
            Err(e) => FileReport {
                path: path.to_owned(),
                scanned_bytes: 0,
                verdict: Verdict::Error(ScanError::Open(e)),
            },
        }
    }

    /// Scan a file the caller has already opened (for example through
    /// [`crate::quarantine::Target::open`], so that what is scanned is exactly
    /// the descriptor that is acted on afterwards). `path` is only reported.
    pub fn scan_opened(&mut self, opened: &input::Opened, path: &Path) -> FileReport {
        let mut buf = std::mem::take(&mut self.scratch.buf);
        let (scanned_bytes, verdict) = self.acquire_and_scan(opened, &mut buf);
        if buf.len() > KEEP_BUFFER {
            buf = Vec::new();
        }
        self.scratch.buf = buf;
        FileReport {
            path: path.to_owned(),
            scanned_bytes,
            verdict,
        }
    }

    /// Acquire the top-level layer of `opened` (reading into `buf`) and scan
    /// it; the bytes scanned and the verdict.
    fn acquire_and_scan(&mut self, opened: &input::Opened, buf: &mut Vec<u8>) -> (u64, Verdict) {
        let mut ctx = ScanCtx::new(self.opts.limits);
        match source::acquire(opened, &self.set.inner, &self.opts, buf, &mut ctx.budget) {
            Acquired::Whole(data) => self.scan_top(ctx, &Layer::whole(data.bytes())),
            Acquired::Sparse(view) => self.scan_top(ctx, &Layer::sparse(&view)),
            Acquired::OutOfTime => (0, ctx.verdict()),
            Acquired::Skipped(reason) => (0, Verdict::Skipped(reason)),
            Acquired::Failed(e) => (0, Verdict::Error(ScanError::Read(e))),
        }
    }

    /// Scan a file's top-level layer; the bytes scanned and the verdict.
    fn scan_top(&mut self, mut ctx: ScanCtx, layer: &Layer) -> (u64, Verdict) {
        self.scan_layer(&mut ctx, layer);
        (layer.bytes.len() as u64, ctx.verdict())
    }
}

/// A layer's digests and the allow list (for a whole layer), then its body
/// signatures unless a hash signature already decided (first match only);
/// `None` when the layer is on the allow list.
fn in_turn(
    engine: Engine,
    opts: &Options,
    layer: &Layer,
    state: &mut FileState,
    budget: &mut Budget,
) -> Option<Vec<Match>> {
    let mut out = Vec::new();
    let size = layer.bytes.len() as u64;
    let digests = match layer.whole {
        true => engine.digests(layer.bytes, budget),
        false => [None, None, None],
    };
    if engine.allowed(size, &digests) {
        return None;
    }
    engine.hash_matches(size, &digests, &mut out);
    if !opts.all_matches {
        // First match only, even when several hash signatures match.
        out.truncate(1);
    }
    if out.is_empty() || opts.all_matches {
        let split = opts.split(layer.bytes.len());
        engine.body(layer, state, budget, opts.all_matches, split, &mut out);
    }
    if out.is_empty() || opts.all_matches {
        engine.logical(layer, budget, &mut out);
    }
    Some(out)
}

/// A large whole layer: its digests and its pieces are computed side by side
/// on `pool`, and the body matches dropped if the hashes decide.
fn side_by_side(
    engine: Engine,
    opts: &Options,
    layer: &Layer,
    state: &mut FileState,
    budget: &mut Budget,
    pool: &rayon::ThreadPool,
) -> Option<Vec<Match>> {
    let mut hash_budget = *budget;
    let mut body = Vec::new();
    let (digests, ()) = pool.install(|| {
        rayon::join(
            || engine.digests_in_parallel(layer.bytes, &mut hash_budget),
            || {
                engine.body(
                    layer,
                    state,
                    budget,
                    opts.all_matches,
                    Some(pool),
                    &mut body,
                )
            },
        )
    });
    if hash_budget.expired() {
        // As in one search: a search that starts after the digests ran out of
        // time finds nothing.
        body.clear();
    }
    budget.absorb(&hash_budget);
    let size = layer.bytes.len() as u64;
    let mut out = Vec::new();
    if engine.allowed(size, &digests) {
        return None;
    }
    engine.hash_matches(size, &digests, &mut out);
    if opts.all_matches {
        out.append(&mut body);
    } else if out.is_empty() {
        out = body;
    } else {
        out.truncate(1);
    }
    if out.is_empty() || opts.all_matches {
        engine.logical(layer, budget, &mut out);
    }
    Some(out)
}

/// With [`Scanner::split_large`], files at least this large are searched in
/// pieces of [`SPLIT_PIECE`] in parallel: one large file would otherwise keep
/// one thread busy while the others have finished.
pub const SPLIT_FROM: usize = 4 << 20;

/// Of the matches from `before` on (found in views of the layer whose
/// container chain is `ctx.stack`), drop those of a signature the layer
/// itself or an earlier view already matched.
fn drop_repeats(ctx: &mut ScanCtx, before: usize) {
    let stack = &ctx.stack;
    let mut seen: HashSet<Arc<str>> = ctx.found[..before]
        .iter()
        .filter(|m| &m.container == stack)
        .map(|m| m.name.clone())
        .collect();
    let mut k = 0;
    ctx.found.retain(|m| {
        k += 1;
        k <= before || seen.insert(m.name.clone())
    });
}

/// Keep the first match of each name (several signatures may carry one name).
fn dedup_names(out: &mut Vec<Match>) {
    if out.len() > 1 {
        let mut seen = HashSet::new();
        out.retain(|m| seen.insert(m.name.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_and_set_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<SignatureSet>();
        check::<Scanner>();
        check::<FileReport>();
        check::<Limits>();
        check::<tree::TreeOptions>();
        check::<crate::sig::Database>();
    }
}
