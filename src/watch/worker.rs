//! The scanning workers of the inotify backend: open the file without
//! following links, skip it when its (dev, inode, size, times) were seen clean
//! with the current signatures, else scan that descriptor and act on it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::cache::{Cached, FileKey};
use super::{Action, Notice, Shared, Why, reload};
use crate::journal::{Threat, ThreatAction, ThreatResult};
use crate::quarantine::{Target, TargetOpen};
use crate::scan::mmap::open_for_writing;
use crate::{Match, Scanner, VaultError, Verdict};

/// Run until stopped: scan each queued path.
pub(crate) fn run(shared: &Arc<Shared>, jobs: &Receiver<std::path::PathBuf>) {
    let mut slot: Option<(u64, Scanner)> = None;
    while !shared.stopped() {
        match jobs.recv_timeout(Duration::from_millis(100)) {
            Ok(path) => {
                scan_path(shared, &mut slot, &path);
                shared.scanned(&path);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}

fn scan_path(shared: &Shared, slot: &mut Option<(u64, Scanner)>, path: &Path) {
    // From here on a new event for the path queues it again.
    let why = shared.unqueue(path);
    let target = match Target::open(path) {
        Ok(TargetOpen::File(t)) => t,
        // Gone already (a temporary file), or not a regular file: nothing to do.
        Ok(TargetOpen::Special(_)) => return,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            shared.notice(Notice::ScanError {
                path: path.to_owned(),
                error: e.to_string(),
            });
            return;
        }
    };
    // A file someone still writes to is scanned at its close, not now: a
    // quarantine now would take it away from the writer mid-file.
    if why != Why::Closed {
        match open_for_writing(&target.opened().file) {
            Some(false) => {}
            Some(true) => return,
            None if why == Why::Created => return,
            None => {}
        }
    }
    let key = FileKey::of(&target.opened().file).ok();
    let limits = shared.opts.limits;
    let (generation, scanner) = shared.sigs.scanner(slot, |sc| {
        sc.limits(limits).spill_dir(Some(shared.skip.clone()));
    });
    let cached = key.and_then(|k| shared.cache.get(&k, generation));
    match (&cached, shared.opts.action) {
        (Some(Cached::Clean), _) | (Some(Cached::Infected(_)), Action::Report) => return,
        _ => {}
    }
    let report = scanner.scan_opened(target.opened(), path);
    match report.verdict {
        Verdict::Clean => {
            if let Some(k) = key {
                shared.cache.insert(k, generation, Cached::Clean);
            }
        }
        Verdict::Infected(matches) => {
            if let Some(k) = key {
                let names = matches.iter().map(|m| m.name.clone()).collect();
                shared.cache.insert(k, generation, Cached::Infected(names));
            }
            act(shared, slot, &target, &matches);
        }
        Verdict::Error(e) => shared.notice(Notice::ScanError {
            path: path.to_owned(),
            error: e.to_string(),
        }),
        _ => {}
    }
}

/// Quarantine or report an infected file, log it and tell the caller.
fn act(shared: &Shared, slot: &mut Option<(u64, Scanner)>, target: &Target, matches: &[Match]) {
    let names = matches.iter().map(|m| m.name.to_string()).collect();
    let threat = match shared.opts.action {
        Action::Report => Threat::new(
            target.path(),
            names,
            ThreatAction::Report,
            ThreatResult::Reported,
        ),
        Action::Quarantine => {
            let mut t = Threat::new(
                target.path(),
                names,
                ThreatAction::Quarantine,
                ThreatResult::Quarantined,
            );
            if allowed_meanwhile(shared, slot, target) {
                return;
            }
            match shared.vault.quarantine(target, matches) {
                Ok(id) => t.quarantine_id = Some(id),
                // Still being written: nothing was moved, and the writer's
                // close queues the file again.
                Err(VaultError::InUse { .. }) => return,
                Err(e) => {
                    t.result = ThreatResult::Failed;
                    t.error = Some(e.to_string());
                }
            }
            t
        }
    };
    shared.record(&threat);
}

/// How long a worker waits for a restore of the file it is about to take.
const RESTORE_WAIT: Duration = Duration::from_secs(2);

/// Just before taking a file: a restore of it may be under way (`quarantine
/// restore` puts the file back first, then appends to the allow list with
/// `--allow`, then deletes the vault entry), or the allow list may have
/// changed since the signatures were loaded (the reload waits for it to
/// settle). Wait for such a restore to end; when the allow list changed,
/// reload now and scan again. True when the file is no longer a threat.
fn allowed_meanwhile(shared: &Shared, slot: &mut Option<(u64, Scanner)>, target: &Target) -> bool {
    wait_for_restore(shared, target);
    if !reload::allow_list_changed(shared) {
        return false;
    }
    reload::reload(shared);
    let key = FileKey::of(&target.opened().file).ok();
    let limits = shared.opts.limits;
    let (generation, scanner) = shared.sigs.scanner(slot, |sc| {
        sc.limits(limits).spill_dir(Some(shared.skip.clone()));
    });
    match scanner.scan_opened(target.opened(), target.path()).verdict {
        Verdict::Clean => {
            if let Some(k) = key {
                shared.cache.insert(k, generation, Cached::Clean);
            }
            true
        }
        _ => false,
    }
}

/// Wait (a little) while the vault holds an entry that this very file was
/// restored from: same path, size and modification time.
fn wait_for_restore(shared: &Shared, target: &Target) {
    let Ok(meta) = target.opened().file.metadata() else {
        return;
    };
    let (size, mtime) = (meta.len(), meta.modified().ok());
    let deadline = Instant::now() + RESTORE_WAIT;
    while !shared.stopped() && Instant::now() < deadline {
        let restoring = shared.vault.list().is_ok_and(|entries| {
            entries
                .iter()
                .any(|e| e.path == target.path() && e.size == size && Some(e.mtime) == mtime)
        });
        if !restoring {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
