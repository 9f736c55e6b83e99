//! The integration test binary. Each module is one area; they share the
//! reference matcher (`reference`) and the helpers in `util`: running a child
//! with a deadline and its output drained, the EICAR bytes, hex, a seeded RNG.

mod audit;
mod clamav_db;
mod clamav_diff;
mod cli;
mod containers;
mod daemon;
mod depth;
mod hashset;
mod hostile;
mod html_views;
mod ldb_diff;
mod mail;
mod mail_target;
mod matcher;
mod ole2;
mod packages;
mod pdf;
mod prop;
mod quarantine;
mod reference;
mod rtf;
mod sevenz_cab;
mod split;
mod updates;
mod util;
mod views;
mod watch;
