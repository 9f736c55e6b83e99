//! Files that change under the scanner.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::cli::{eicar, run, ward};

/// A file above the mmap threshold is truncated and regrown in a loop while
/// `ward scan` maps it: the scanner must never die by SIGBUS, and every run ends
/// with a verdict.
#[test]
fn truncated_while_scanned_never_kills_the_scanner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinking.bin");
    let size = (ward::scan::input::MMAP_THRESHOLD * 4) as usize;
    let mut content = vec![0x5au8; size];
    content[size - 100..size - 100 + 68].copy_from_slice(&eicar());
    fs::write(&path, &content).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            let mut rounds = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // Opening for writing breaks any read lease: this blocks while a
                // scanner holds one, which is exactly the protection under test.
                let mut f = OpenOptions::new().write(true).open(&path).unwrap();
                f.set_len(0).unwrap();
                f.set_len(4096).unwrap();
                f.seek(SeekFrom::Start(0)).unwrap();
                f.write_all(&content[..size / 2]).unwrap();
                f.set_len(size as u64).unwrap();
                drop(f);
                rounds += 1;
                // Leave the file closed for a moment so that scanners can take a
                // lease and map it.
                std::thread::sleep(Duration::from_millis(15));
            }
            rounds
        })
    };
    let start = Instant::now();
    let mut scans = 0;
    while start.elapsed() < Duration::from_secs(4) {
        let o = run(ward().arg("scan").arg("--no-summary").arg(&path));
        assert_eq!(o.status.signal(), None, "ward was killed: {:?}", o.status);
        assert!(matches!(o.status.code(), Some(0..=2)), "{:?}", o.status);
        scans += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = churn.join().unwrap();
    assert!(
        scans > 5 && rounds > 5,
        "both sides ran: {scans} scans, {rounds} truncations"
    );
}
