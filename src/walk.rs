//! Which files to visit: recursive walk with exclusions, one-file-system, symlink
//! policy, and the pseudo filesystems skipped when walking from `/`.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

/// Walk settings. Defaults: don't follow symlinks, cross filesystems, no exclusions.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    follow_symlinks: bool,
    one_file_system: bool,
    exclude: Vec<String>,
    exclude_dir: Vec<String>,
}

/// A bad `--exclude` pattern.
#[derive(Debug, thiserror::Error)]
#[error("bad glob '{glob}': {reason}")]
pub struct GlobError {
    /// The pattern.
    pub glob: String,
    /// What is wrong with it.
    pub reason: String,
}

impl WalkOptions {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Follow symbolic links to files and directories (default: off; links named
    /// as roots are always followed).
    pub fn follow_symlinks(&mut self, yes: bool) -> &mut Self {
        self.follow_symlinks = yes;
        self
    }

    /// Stay on the filesystem of each root (default: off).
    pub fn one_file_system(&mut self, yes: bool) -> &mut Self {
        self.one_file_system = yes;
        self
    }

    /// Skip files whose name or path matches `glob`.
    pub fn exclude(&mut self, glob: &str) -> &mut Self {
        self.exclude.push(glob.to_owned());
        self
    }

    /// Don't descend into directories whose name or path matches `glob`.
    pub fn exclude_dir(&mut self, glob: &str) -> &mut Self {
        self.exclude_dir.push(glob.to_owned());
        self
    }

    /// Check the globs and start walking `roots`.
    pub fn walk(&self, roots: impl IntoIterator<Item = PathBuf>) -> Result<Walk, GlobError> {
        Ok(Walk {
            roots: roots.into_iter().collect::<Vec<_>>().into_iter(),
            current: None,
            files: globset(&self.exclude)?,
            dirs: globset(&self.exclude_dir)?,
            opts: self.clone(),
        })
    }
}

fn globset(globs: &[String]) -> Result<GlobSet, GlobError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|e| GlobError {
            glob: g.clone(),
            reason: e.kind().to_string(),
        })?);
    }
    b.build().map_err(|e| GlobError {
        glob: globs.join(" "),
        reason: e.to_string(),
    })
}

fn matches(set: &GlobSet, path: &Path) -> bool {
    !set.is_empty() && (set.is_match(path) || path.file_name().is_some_and(|n| set.is_match(n)))
}

/// Pseudo filesystems whose files are not files: never walked into from `/`.
const PSEUDO: [&str; 3] = ["/proc", "/sys", "/dev"];

/// One thing the walk found.
#[derive(Debug)]
pub enum Entry {
    /// A file (or anything not a directory) to scan.
    File(PathBuf),
    /// A directory entered.
    Dir(PathBuf),
    /// Something that could not be read.
    Error(PathBuf, String),
}

/// The walk: an iterator of [`Entry`].
pub struct Walk {
    roots: std::vec::IntoIter<PathBuf>,
    current: Option<(bool, walkdir::IntoIter)>,
    files: GlobSet,
    dirs: GlobSet,
    opts: WalkOptions,
}

impl Walk {
    fn start(&mut self, root: PathBuf) -> Option<Entry> {
        // A link named as a root is followed, as users expect of a path they typed.
        match root.symlink_metadata() {
            Err(e) => return Some(Entry::Error(root, e.to_string())),
            Ok(m) if m.file_type().is_symlink() && !root.is_dir() => {
                return Some(match root.canonicalize() {
                    Ok(target) => Entry::File(target),
                    Err(e) => Entry::Error(root, e.to_string()),
                });
            }
            Ok(_) => {}
        }
        let from_slash = root == Path::new("/");
        let it = WalkDir::new(root)
            .follow_links(self.opts.follow_symlinks)
            .same_file_system(self.opts.one_file_system)
            .into_iter();
        self.current = Some((from_slash, it));
        None
    }
}

impl Iterator for Walk {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let Some((from_slash, it)) = &mut self.current else {
                let root = self.roots.next()?;
                if let Some(e) = self.start(root) {
                    return Some(e);
                }
                continue;
            };
            let from_slash = *from_slash;
            let Some(item) = it.next() else {
                self.current = None;
                continue;
            };
            let entry = match item {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().map(Path::to_owned).unwrap_or_default();
                    let msg = e
                        .io_error()
                        .map_or_else(|| e.to_string(), ToString::to_string);
                    return Some(Entry::Error(path, msg));
                }
            };
            let path = entry.path();
            if entry.file_type().is_dir() {
                let pseudo = from_slash && PSEUDO.iter().any(|p| path == Path::new(p));
                if (entry.depth() > 0 && matches(&self.dirs, path)) || pseudo {
                    it.skip_current_dir();
                    continue;
                }
                return Some(Entry::Dir(entry.into_path()));
            }
            if matches(&self.files, path) {
                continue;
            }
            return Some(Entry::File(entry.into_path()));
        }
    }
}
