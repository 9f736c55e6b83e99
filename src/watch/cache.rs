//! Verdicts remembered by file identity and state, so that a file opened again
//! unchanged is not scanned again.
//!
//! The key is (device, inode, size, modification time, change time): any
//! write, truncation, rename-over or `chmod` changes the change time, so a
//! changed file never matches its old key. Each verdict also records the
//! signature generation it was reached with; a reload makes every verdict stale.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

/// What identifies a file's content for the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, u32),
    ctime: (i64, u32),
}

impl FileKey {
    /// The key of an open file, from `fstat`.
    #[allow(clippy::unnecessary_cast)]
    pub fn of(file: impl AsFd) -> io::Result<FileKey> {
        let st = rustix::fs::fstat(file)?;
        Ok(FileKey {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            size: st.st_size as u64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as u32),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as u32),
        })
    }

    /// The file's (device, inode).
    pub fn inode(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }

    /// The file's size.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// A remembered verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cached {
    /// Scanned clean.
    Clean,
    /// Scanned infected, with the signature names.
    Infected(Arc<[Arc<str>]>),
}

/// A bounded map from [`FileKey`] to verdict. When full it is emptied: a miss
/// costs a scan, never a wrong answer.
#[derive(Debug)]
pub struct ScanCache {
    map: Mutex<HashMap<FileKey, (u64, Cached)>>,
    capacity: usize,
}

impl ScanCache {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> ScanCache {
        ScanCache {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The verdict for `key` reached with signature generation `generation`.
    pub fn get(&self, key: &FileKey, generation: u64) -> Option<Cached> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some((g, v)) if *g == generation => Some(v.clone()),
            _ => None,
        }
    }

    /// Remember a verdict.
    pub fn insert(&self, key: FileKey, generation: u64, verdict: Cached) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.capacity {
            map.clear();
        }
        map.insert(key, (generation, verdict));
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_with_content_and_generation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"one").unwrap();
        let k1 = FileKey::of(std::fs::File::open(&p).unwrap()).unwrap();
        let cache = ScanCache::new(2);
        cache.insert(k1, 1, Cached::Clean);
        assert_eq!(cache.get(&k1, 1), Some(Cached::Clean));
        assert_eq!(cache.get(&k1, 2), None);
        std::fs::write(&p, b"two").unwrap();
        let k2 = FileKey::of(std::fs::File::open(&p).unwrap()).unwrap();
        assert_ne!(k1, k2);
        assert_eq!(cache.get(&k2, 1), None);
    }

    #[test]
    fn full_cache_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<FileKey> = (0..3)
            .map(|i| {
                let p = dir.path().join(i.to_string());
                std::fs::write(&p, b"x").unwrap();
                FileKey::of(std::fs::File::open(&p).unwrap()).unwrap()
            })
            .collect();
        let cache = ScanCache::new(2);
        for k in &keys {
            cache.insert(*k, 1, Cached::Clean);
        }
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(&keys[2], 1), Some(Cached::Clean));
    }
}
