//! What the command line says about the ClamAV containers a set came from:
//! their versions and build times, and whether they are too old.

use std::time::{SystemTime, UNIX_EPOCH};

use ward::sig::cvd::Loaded;

/// An error naming the first container built more than `days` days ago.
pub fn check_age(containers: &[Loaded], days: u64) -> Result<(), String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for c in containers {
        let age = now.saturating_sub(c.header.build_secs) / 86400;
        if age > days {
            return Err(format!(
                "{}: version {} was built {} ({age} days ago), more than --fail-if-cvd-older-than {days} days",
                c.file.display(),
                c.header.version,
                c.header.build_time
            ));
        }
    }
    Ok(())
}

/// One line per container: `FILE: version V, built TIME, N signatures`.
pub fn describe(c: &Loaded) -> String {
    format!(
        "{}: version {}, built {}, {} signatures",
        c.file.display(),
        c.header.version,
        c.header.build_time,
        c.header.signatures
    )
}
