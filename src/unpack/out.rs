//! Where a decoder's output goes: the scratch buffer, through a small
//! pending buffer, up to the member cap, with the deadline read at each
//! chunk. Shared by the decoders that produce a member byte by byte (mail,
//! TNEF, BinHex, SZDD, OLE2 streams).

use super::{Caps, Cut, Scratch};

/// Where decoded bytes go (the scratch buffer, through a small pending
/// buffer), up to the member cap.
pub(crate) struct Out<'s> {
    scratch: &'s mut Scratch,
    pending: Vec<u8>,
    caps: &'s Caps,
    taken: u64,
    cut: Option<Cut>,
}

const CHUNK: usize = 64 << 10;

impl<'s> Out<'s> {
    pub(crate) fn new(scratch: &'s mut Scratch, caps: &'s Caps) -> Out<'s> {
        scratch.clear();
        Out {
            scratch,
            pending: Vec::with_capacity(CHUNK),
            caps,
            taken: 0,
            cut: None,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, b: u8) -> bool {
        if self.taken >= self.caps.member {
            self.cut.get_or_insert(Cut::Size);
            return false;
        }
        self.pending.push(b);
        self.taken += 1;
        if self.pending.len() >= CHUNK {
            if self.caps.expired() {
                self.cut.get_or_insert(Cut::Time);
            }
            if self.scratch.push(&self.pending, self.caps.memory).is_err() {
                self.cut.get_or_insert(Cut::Size);
            }
            self.pending.clear();
        }
        self.cut.is_none()
    }

    /// [`Out::push`] for each of `bytes`, a chunk at a time.
    pub(crate) fn extend(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            let room = self.caps.member.saturating_sub(self.taken);
            if room == 0 {
                self.cut.get_or_insert(Cut::Size);
                return false;
            }
            let n = bytes
                .len()
                .min(CHUNK - self.pending.len())
                .min(usize::try_from(room).unwrap_or(usize::MAX));
            // The last byte through push, which flushes a full chunk.
            self.pending.extend_from_slice(&bytes[..n - 1]);
            self.taken += (n - 1) as u64;
            if !self.push(bytes[n - 1]) {
                return false;
            }
            bytes = &bytes[n..];
        }
        self.cut.is_none()
    }

    /// Whether output has stopped (a cap, the deadline, no room).
    pub(crate) fn full(&self) -> bool {
        self.cut.is_some()
    }

    /// The bytes taken, and why some are missing (`broken`: the input ended
    /// before its declared end).
    pub(crate) fn finish(mut self, broken: bool) -> (&'s [u8], Option<Cut>) {
        if self.scratch.push(&self.pending, self.caps.memory).is_err() {
            self.cut.get_or_insert(Cut::Size);
        }
        if broken {
            self.cut.get_or_insert(Cut::Broken);
        }
        let cut = self.cut;
        match self.scratch.finish() {
            Ok(bytes) => (bytes, cut),
            Err(_) => (&[], Some(Cut::Size)),
        }
    }
}
