//! A layer: the bytes one pass of the matcher sees, and what is known about
//! them.
//!
//! A file itself is one layer, at depth 0: its bytes as read or mapped, or the
//! compact view of a sparse file. A container's members and decoded views will
//! be layers too, one level deeper than the layer they came out of, matched by
//! the same function, [`Scanner::scan_layer`](super::Scanner::scan_layer).

use std::sync::OnceLock;

use super::filetype::FileType;
use super::sparse::{Geometry, View};

/// What one pass of the matcher sees.
pub(crate) struct Layer<'a> {
    /// The haystack.
    pub bytes: &'a [u8],
    /// How positions in `bytes` relate to the file's: equal for a plain
    /// layer, shifted past shortened holes for a sparse view.
    pub geom: Geometry,
    /// The file type, detected from `bytes` when a signature first asks for it
    /// (set from the real file for a sparse view). Shared by the pieces of a
    /// parallel search.
    pub ftype: OnceLock<FileType>,
    /// Whether `bytes` are all of the content, so that digests and the allow
    /// list apply: false for a sparse view, whose holes are shortened.
    pub whole: bool,
    /// How deep in containers: 0 for a file itself.
    pub depth: u32,
    /// A normalised view: never unpacked or viewed again.
    pub normalized: bool,
    /// The sparse view `bytes` come from, to map offsets back to the file's.
    view: Option<&'a View>,
}

impl<'a> Layer<'a> {
    /// A file's bytes, all of them.
    pub fn whole(bytes: &'a [u8]) -> Layer<'a> {
        Layer {
            bytes,
            geom: Geometry::plain(bytes.len()),
            ftype: OnceLock::new(),
            whole: true,
            depth: 0,
            normalized: false,
            view: None,
        }
    }

    /// A normalised view of a layer `depth - 1` deep, of `ftype`
    /// [`FileType::Text`] (see [`crate::unpack::text`]) or
    /// [`FileType::Html`] (see [`crate::unpack::html`]): only signatures
    /// for any file or for that view match it, and no digest applies.
    pub fn normalized(bytes: &'a [u8], depth: u32, ftype: FileType) -> Layer<'a> {
        Layer {
            ftype: OnceLock::from(ftype),
            whole: false,
            normalized: true,
            ..Layer::member(bytes, depth)
        }
    }

    /// A member of a container, `depth` containers down.
    pub fn member(bytes: &'a [u8], depth: u32) -> Layer<'a> {
        Layer {
            depth,
            ..Layer::whole(bytes)
        }
    }

    /// A sparse file's compact view (a file itself only, never a member).
    pub fn sparse(view: &'a View) -> Layer<'a> {
        Layer {
            bytes: &view.bytes,
            geom: view.geom,
            ftype: OnceLock::from(view.ftype),
            whole: false,
            depth: 0,
            normalized: false,
            view: Some(view),
        }
    }

    /// The offset in the file's content of position `pos` of `bytes`.
    pub fn real_offset(&self, pos: u64) -> u64 {
        self.view.map_or(pos, |v| v.real_offset(pos))
    }
}
