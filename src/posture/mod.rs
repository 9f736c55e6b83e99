//! The machine's security posture beyond malware: pending package updates and
//! installing them.

pub mod updates;
