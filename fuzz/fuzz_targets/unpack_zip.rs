//! The input as a zip (ward's own reader: central directory, zip64, local
//! headers, overlaps), unpacked under small caps with a short deadline:
//! unpacking must never panic, every member must be within the cap, and it
//! must end soon after the deadline whatever the headers claim.
#![no_main]

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ward::unpack::{Caps, Found, Kind, Scratch, unpack};

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let caps = Caps {
        member: 64 << 10,
        memory: 16 << 10,
        ratio: 100,
        deadline: Some(start + Duration::from_millis(500)),
    };
    let mut scratch = Scratch::default();
    unpack(Kind::Zip, data, &caps, &mut scratch, &mut |found| {
        if let Found::Member { data: m, .. } = found {
            assert!(
                m.len() as u64 <= caps.member,
                "{} bytes past the cap",
                m.len()
            );
        }
        ControlFlow::Continue(())
    });
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
});
