//! The shapes of clamd's replies (`session.c`: `conn_reply_single`,
//! `conn_reply`, `conn_reply_virus`), each ended with the request's
//! terminator and, inside an `IDSESSION`, prefixed with the request's number.

use std::io;

/// How to frame the replies to one request.
#[derive(Clone, Copy, Debug)]
pub struct Reply {
    /// The terminator (NUL or newline).
    pub term: u8,
    /// The request's number inside an `IDSESSION`.
    pub id: Option<u32>,
}

impl Reply {
    fn start(&self) -> Vec<u8> {
        match self.id {
            Some(id) => format!("{id}: ").into_bytes(),
            None => Vec::new(),
        }
    }

    fn end(&self, mut out: Vec<u8>) -> Vec<u8> {
        out.push(self.term);
        out
    }

    /// `[path: ]status`.
    pub fn single(&self, path: Option<&[u8]>, status: &str) -> Vec<u8> {
        let mut out = self.start();
        if let Some(p) = path {
            out.extend_from_slice(p);
            out.extend_from_slice(b": ");
        }
        out.extend_from_slice(status.as_bytes());
        self.end(out)
    }

    /// `[path: ]msg status`.
    pub fn message(&self, path: Option<&[u8]>, msg: &str, status: &str) -> Vec<u8> {
        self.single(path, &format!("{msg} {status}"))
    }

    /// `msg ERROR`.
    pub fn error(&self, msg: &str) -> Vec<u8> {
        self.message(None, msg, "ERROR")
    }

    /// `file: name FOUND`.
    pub fn found(&self, file: &[u8], name: &str) -> Vec<u8> {
        self.single(Some(file), &format!("{name} FOUND"))
    }

    /// `path: msg <strerror>. ERROR` (clamd's `conn_reply_errno`).
    pub fn errno(&self, path: &[u8], msg: &str, err: &io::Error) -> Vec<u8> {
        self.message(Some(path), msg, &format!("{}. ERROR", strerror(err)))
    }
}

/// The C library's text for an error, without Rust's " (os error N)".
pub fn strerror(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let n = Reply {
            term: b'\n',
            id: None,
        };
        let z = Reply {
            term: 0,
            id: Some(3),
        };
        assert_eq!(n.single(None, "PONG"), b"PONG\n");
        assert_eq!(z.single(None, "PONG"), b"3: PONG\0");
        assert_eq!(n.found(b"stream", "Eicar"), b"stream: Eicar FOUND\n");
        assert_eq!(
            n.error("INSTREAM size limit exceeded."),
            b"INSTREAM size limit exceeded. ERROR\n"
        );
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(
            n.errno(b"/x", "File path check failure:", &e),
            b"/x: File path check failure: No such file or directory. ERROR\n"
        );
    }
}
