//! The size + digest index of hash signatures. A digest is computed for a file
//! only when the index has that kind of digest for a size the file can have.
//!
//! The index is the loaded [`HashTable`], sorted: a lookup is a binary search
//! in flat records (see [`crate::sig::hashtable`]), and a compiled set's table
//! is searched where it lies in the file's bytes. Names dropped by `.ign2` are
//! passed over at lookup, so a shared table is never rewritten.

use std::collections::HashSet;

use crate::sig::{HashKind, HashTable};

pub use crate::sig::hashtable::KINDS;

/// Hash signatures by size and digest.
#[derive(Default, Debug)]
pub struct HashIndex {
    table: HashTable,
    /// Names not to report (only those the table holds).
    ignored: HashSet<String>,
    counts: [usize; 3],
}

impl HashIndex {
    /// Index `table`, leaving out the names in `ignored`.
    pub fn new(mut table: HashTable, ignored: &HashSet<String>) -> Self {
        table.sort();
        let mut counts = KINDS.map(|k| table.count(k));
        let mut held = HashSet::new();
        if !ignored.is_empty() {
            for e in table.iter().filter(|e| ignored.contains(e.name)) {
                counts[crate::sig::hashtable::slot(e.kind)] -= 1;
                held.insert(e.name.to_owned());
            }
        }
        HashIndex {
            table,
            ignored: held,
            counts,
        }
    }

    /// Whether a file of `size` bytes needs a `kind` digest.
    pub fn needs(&self, kind: HashKind, size: u64) -> bool {
        self.counts[crate::sig::hashtable::slot(kind)] > 0 && self.table.needs(kind, size)
    }

    /// Names of the signatures matching `digest` for a file of `size` bytes.
    pub fn lookup<'a>(&'a self, digest: &'a [u8], size: u64) -> impl Iterator<Item = &'a str> + 'a {
        self.table
            .lookup(digest, size)
            .filter(|name| !self.ignored.contains(*name))
    }

    /// Number of signatures of `kind`.
    pub fn count(&self, kind: HashKind) -> usize {
        self.counts[crate::sig::hashtable::slot(kind)]
    }

    /// Number of signatures.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Approximate heap use in bytes (a compiled set's shared bytes not counted).
    pub fn memory_usage(&self) -> usize {
        self.table.memory_usage() + self.ignored.iter().map(|n| n.len() + 48).sum::<usize>()
    }
}
