//! A load generator for clamd-protocol daemons (`ward daemon`, clamd):
//! `CLIENTS` threads, each sending INSTREAM of one payload over a new
//! unix-socket connection per request, for `SECONDS`. Prints requests per
//! second and the p50 and p99 latency in milliseconds, on one line.
//!
//! ```text
//! cargo build --release --example daemon-load
//! target/release/examples/daemon-load SOCKET PAYLOAD-FILE CLIENTS SECONDS
//! ```
//!
//! `scripts/bench-daemon.py` uses it when it has been built: a client in
//! Python spends more time per small request than the daemons do.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The whole INSTREAM conversation for `payload`, ready to send.
fn request(payload: &[u8]) -> Vec<u8> {
    let mut msg = b"zINSTREAM\0".to_vec();
    for chunk in payload.chunks(1 << 16) {
        msg.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        msg.extend_from_slice(chunk);
    }
    msg.extend_from_slice(&[0; 4]);
    msg
}

/// One request; its reply must be a stream verdict.
fn instream(socket: &str, msg: &[u8]) -> Result<(), String> {
    let mut s = UnixStream::connect(socket).map_err(|e| format!("{socket}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    s.write_all(msg).map_err(|e| format!("{socket}: {e}"))?;
    let mut out = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while out.last() != Some(&0) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("{socket}: {e}")),
        }
    }
    match out.starts_with(b"stream: ") {
        true => Ok(()),
        false => Err(format!(
            "{socket}: unexpected reply {:?}",
            String::from_utf8_lossy(&out)
        )),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [socket, payload, clients, seconds] = &args[..] else {
        eprintln!("usage: daemon-load SOCKET PAYLOAD-FILE CLIENTS SECONDS");
        return ExitCode::from(2);
    };
    let (Ok(clients), Ok(seconds)) = (clients.parse::<usize>(), seconds.parse::<f64>()) else {
        eprintln!("daemon-load: CLIENTS must be a whole number and SECONDS a number");
        return ExitCode::from(2);
    };
    let payload = match std::fs::read(payload) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("daemon-load: {payload}: {e}");
            return ExitCode::from(2);
        }
    };
    let msg = request(&payload);
    let start = Instant::now();
    let stop = start + Duration::from_secs_f64(seconds);
    let results: Vec<Result<Vec<Duration>, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut lat = Vec::new();
                    while Instant::now() < stop {
                        let t = Instant::now();
                        instream(socket, &msg)?;
                        lat.push(t.elapsed());
                    }
                    Ok(lat)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("a client panicked".into())))
            .collect()
    });
    let took = start.elapsed().as_secs_f64();
    let mut lat = Vec::new();
    for r in results {
        match r {
            Ok(l) => lat.extend(l),
            Err(e) => {
                eprintln!("daemon-load: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if lat.is_empty() {
        eprintln!("daemon-load: no request finished");
        return ExitCode::FAILURE;
    }
    lat.sort_unstable();
    let pct =
        |p: f64| lat[((p * lat.len() as f64) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    println!("{} {} {}", lat.len() as f64 / took, pct(0.50), pct(0.99));
    ExitCode::SUCCESS
}
