//! Acquiring a file's top-level layer: the size limit, the compact view of a
//! sparse file, and reading or mapping the rest ([`input::load`]). Nothing
//! here matches: what comes out is scanned as a layer, or reported as not
//! scanned and why.

use std::io;

use super::budget::Budget;
use super::engine::Engine;
use super::input::{self, Data, Opened};
use super::{Options, SkipReason, sparse};
use crate::compile::Inner;

/// A file's top-level layer, or why there is none.
pub(crate) enum Acquired<'a> {
    /// Its bytes, read into the buffer or mapped.
    Whole(Data<'a>),
    /// The compact view of a sparse file.
    Sparse(sparse::View),
    /// Not to be scanned.
    Skipped(SkipReason),
    /// The file's clock ran out while its sparse view was read; the budget
    /// says so.
    OutOfTime,
    /// Reading failed.
    Failed(io::Error),
}

/// Acquire the layer of `opened` under `opts`, reading into `buf` (scratch, see
/// [`input::load`]) and counting against the file's `budget`.
pub(crate) fn acquire<'a>(
    opened: &'a Opened,
    set: &Inner,
    opts: &Options,
    buf: &'a mut Vec<u8>,
    budget: &mut Budget,
) -> Acquired<'a> {
    if let Some(limit) = opts.limits.max_filesize
        && opened.size > limit
    {
        let size = opened.size;
        return Acquired::Skipped(SkipReason::TooLarge { size, limit });
    }
    if let Some(view) = sparse_view(opened, set, budget) {
        return view;
    }
    load(opened, buf, opts)
}

/// The compact view of a sparse file, or `None` when the file is to be read in
/// full: it is not sparse enough, or a hash signature needs all of its bytes.
fn sparse_view(opened: &Opened, set: &Inner, budget: &mut Budget) -> Option<Acquired<'static>> {
    if !sparse::candidate(&opened.file, opened.size, &set.sparse)
        || Engine::new(set).needs_hash(opened.size)
    {
        return None;
    }
    match sparse::build(&opened.file, opened.size, &set.sparse, budget) {
        Ok(Some(view)) => Some(Acquired::Sparse(view)),
        Ok(None) if budget.expired() => Some(Acquired::OutOfTime),
        Ok(None) => None,
        Err(e) => Some(Acquired::Failed(e)),
    }
}

/// Read or map the whole file.
fn load<'a>(opened: &'a Opened, buf: &'a mut Vec<u8>, opts: &Options) -> Acquired<'a> {
    let limit = opts.limits.max_filesize.unwrap_or(u64::MAX);
    match input::load(opened, buf, limit, opts.mmap) {
        Ok(data) => {
            let size = data.bytes().len() as u64;
            if size > limit {
                // Only a file that reported size 0 gets here (`load` reads one
                // byte more than allowed to tell).
                Acquired::Skipped(SkipReason::TooLarge { size, limit })
            } else if size > input::MAX_READ && matches!(data, Data::Buffer(_)) {
                // Read (a file that reported size 0), not mapped: a mapped file
                // of any size is scanned.
                Acquired::Skipped(SkipReason::TooLargeToRead { size })
            } else {
                Acquired::Whole(data)
            }
        }
        // How `load` says that a file too large to read could not be mapped.
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            let size = opened.size;
            Acquired::Skipped(SkipReason::TooLargeToRead { size })
        }
        Err(e) => Acquired::Failed(e),
    }
}
