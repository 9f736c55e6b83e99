//! The integration test binary. Each module is one area; they share helpers
//! through `reference`.

mod clamav_diff;
mod cli;
mod hostile;
mod matcher;
mod prop;
mod quarantine;
mod reference;
mod split;
mod watch;
