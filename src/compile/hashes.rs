//! The size + digest index of hash signatures. A digest is computed for a file
//! only when the index has that kind of digest for a size the file can have.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::sig::{HashKind, HashSig};

/// Digest kinds in a fixed order, for arrays indexed by kind.
pub const KINDS: [HashKind; 3] = [HashKind::Md5, HashKind::Sha1, HashKind::Sha256];

fn slot(kind: HashKind) -> usize {
    match kind {
        HashKind::Md5 => 0,
        HashKind::Sha1 => 1,
        HashKind::Sha256 => 2,
    }
}

#[derive(Default, Debug)]
struct Sizes {
    any: bool,
    exact: HashSet<u64>,
}

/// The signatures sharing one digest: each with its size (`None`: any) and name.
type Entries = Vec<(Option<u64>, Arc<str>)>;

/// Hash signatures by digest.
#[derive(Default, Debug)]
pub struct HashIndex {
    by_digest: HashMap<Vec<u8>, Entries>,
    sizes: [Sizes; 3],
    counts: [usize; 3],
}

impl HashIndex {
    /// Index `sigs`.
    pub fn new<'a>(sigs: impl IntoIterator<Item = &'a HashSig>) -> Self {
        let mut index = HashIndex::default();
        for s in sigs {
            let sizes = &mut index.sizes[slot(s.kind)];
            match s.size {
                None => sizes.any = true,
                Some(n) => {
                    sizes.exact.insert(n);
                }
            }
            index.counts[slot(s.kind)] += 1;
            index
                .by_digest
                .entry(s.digest.clone())
                .or_default()
                .push((s.size, s.name.clone()));
        }
        index
    }

    /// Whether a file of `size` bytes needs a `kind` digest.
    pub fn needs(&self, kind: HashKind, size: u64) -> bool {
        let s = &self.sizes[slot(kind)];
        s.any || s.exact.contains(&size)
    }

    /// Names of the signatures matching `digest` for a file of `size` bytes.
    pub fn lookup<'a>(
        &'a self,
        digest: &[u8],
        size: u64,
    ) -> impl Iterator<Item = &'a Arc<str>> + 'a {
        self.by_digest
            .get(digest)
            .into_iter()
            .flatten()
            .filter(move |(s, _)| s.is_none_or(|s| s == size))
            .map(|(_, name)| name)
    }

    /// Number of signatures of `kind`.
    pub fn count(&self, kind: HashKind) -> usize {
        self.counts[slot(kind)]
    }

    /// Number of signatures.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Approximate heap use in bytes.
    pub fn memory_usage(&self) -> usize {
        self.by_digest
            .iter()
            .map(|(k, v)| k.len() + v.len() * 48 + 64)
            .sum::<usize>()
            + self.sizes.iter().map(|s| s.exact.len() * 16).sum::<usize>()
    }
}
