//! The signature set a long-running watcher scans with, replaceable while it
//! runs: a new set is compiled off to the side and swapped in at once, and a
//! set that fails to load leaves the running one in place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use crate::{Scanner, SignatureSet};

/// Loads and compiles a fresh set (for example from the same `-d` paths), or
/// says why it cannot.
pub type Loader = Box<dyn Fn() -> Result<SignatureSet, String> + Send + Sync>;

/// A [`SignatureSet`] that can be reloaded while scanners use it.
///
/// Each swap bumps a generation number; a worker compares it with the one its
/// [`Scanner`] was made for and makes a new scanner when they differ. Scans in
/// flight finish with the set they started with.
pub struct Signatures {
    current: RwLock<SignatureSet>,
    generation: AtomicU64,
    loader: Option<Loader>,
    reloading: Mutex<()>,
}

impl std::fmt::Debug for Signatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signatures")
            .field("generation", &self.generation())
            .finish()
    }
}

impl Signatures {
    /// A fixed set: [`Signatures::reload`] has nothing to load from.
    pub fn new(set: SignatureSet) -> Signatures {
        Signatures {
            current: RwLock::new(set),
            generation: AtomicU64::new(1),
            loader: None,
            reloading: Mutex::new(()),
        }
    }

    /// A set that [`Signatures::reload`] rebuilds with `loader`.
    pub fn with_loader(set: SignatureSet, loader: Loader) -> Signatures {
        Signatures {
            loader: Some(loader),
            ..Signatures::new(set)
        }
    }

    /// The generation of the current set (starts at 1, bumped by each swap).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current set and its generation.
    pub fn current(&self) -> (u64, SignatureSet) {
        let set = self.current.read().unwrap_or_else(|p| p.into_inner());
        (self.generation(), set.clone())
    }

    /// Swap in `set`; returns the new generation.
    pub fn replace(&self, set: SignatureSet) -> u64 {
        let mut cur = self.current.write().unwrap_or_else(|p| p.into_inner());
        *cur = set;
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Load a new set with the loader and swap it in; on failure the current
    /// set stays. Reloads run one at a time. Returns the new set's size.
    pub fn reload(&self) -> Result<usize, String> {
        let _one = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let loader = self
            .loader
            .as_ref()
            .ok_or_else(|| "no signature sources to reload from".to_owned())?;
        let set = loader()?;
        let n = set.len();
        self.replace(set);
        Ok(n)
    }

    /// A scanner for the current set, made anew when the set changed since
    /// `slot` was filled.
    pub fn scanner<'a>(
        &self,
        slot: &'a mut Option<(u64, Scanner)>,
        setup: impl FnOnce(&mut Scanner),
    ) -> (u64, &'a mut Scanner) {
        let generation = self.generation();
        if slot.as_ref().is_none_or(|(g, _)| *g != generation) {
            let (g, set) = self.current();
            let mut sc = Scanner::new(&set);
            setup(&mut sc);
            *slot = Some((g, sc));
        }
        let (g, sc) = slot.as_mut().map(|(g, s)| (*g, s)).expect("filled above");
        (g, sc)
    }
}
