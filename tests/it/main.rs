//! The integration test binary. Each module is one area; they share helpers
//! through `reference`.

mod cli;
mod matcher;
mod prop;
mod quarantine;
mod reference;
