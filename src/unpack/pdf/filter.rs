//! Stream filters (ISO 32000 7.4) as readers, one wrapped around the next,
//! so that a chain of them is decoded in one pass with no buffer for any
//! stage between: FlateDecode (zlib), ASCIIHexDecode, ASCII85Decode,
//! LZWDecode (with or without early change) and RunLengthDecode. The
//! image codecs (DCT, JPX, JBIG2, CCITT fax) and filters not known are not
//! decoded: what the filters before them gave is the stream, as in ClamAV.

use std::io::{self, Read};

use flate2::read::ZlibDecoder;

/// A filter, by its name in a `/Filter` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Filter {
    Flate,
    AsciiHex,
    Ascii85,
    Lzw,
    RunLength,
    /// A filter the stream is left at (an image codec, an unknown name).
    Other,
}

impl Filter {
    /// The filter a name (escapes decoded, without its `/`) stands for; the
    /// short names are those of inline images, accepted in streams too.
    pub(super) fn from_name(name: &[u8]) -> Filter {
        match name {
            b"FlateDecode" | b"Fl" => Filter::Flate,
            b"ASCIIHexDecode" | b"AHx" => Filter::AsciiHex,
            b"ASCII85Decode" | b"A85" => Filter::Ascii85,
            b"LZWDecode" | b"LZW" => Filter::Lzw,
            b"RunLengthDecode" | b"RL" => Filter::RunLength,
            _ => Filter::Other,
        }
    }
}

/// `input` read through `filters` (in the order they were applied to
/// decode); `early_change` is LZW's `/EarlyChange` (1 unless it says 0).
pub(super) fn chain<'a>(
    mut input: &'a [u8],
    filters: &[Filter],
    early_change: bool,
) -> Box<dyn Read + 'a> {
    if filters.first() == Some(&Filter::Flate) {
        input = zlib_start(input);
    }
    let mut r: Box<dyn Read + 'a> = Box::new(input);
    for f in filters {
        r = match f {
            Filter::Flate => Box::new(ZlibDecoder::new(r)),
            Filter::AsciiHex => Box::new(Bytewise::new(r, AsciiHex::default())),
            Filter::Ascii85 => Box::new(Bytewise::new(r, Ascii85::default())),
            Filter::Lzw => Box::new(Bytewise::new(r, Lzw::new(early_change))),
            Filter::RunLength => Box::new(Bytewise::new(r, RunLength::default())),
            Filter::Other => break,
        };
    }
    r
}

/// Where the zlib data of a Flate stream starts: past a stray `\r` (the
/// stream keyword followed by a lone carriage return), or on the next line
/// when the stream does not start with a zlib header, as ClamAV retries.
fn zlib_start(s: &[u8]) -> &[u8] {
    let s = s.strip_prefix(b"\r").unwrap_or(s);
    let header = |s: &[u8]| {
        s.len() >= 2 && s[0] & 0x0f == 8 && (u16::from(s[0]) << 8 | u16::from(s[1])) % 31 == 0
    };
    if header(s) {
        return s;
    }
    let eol = s.iter().position(|&b| b == b'\n' || b == b'\r');
    match eol {
        Some(i) => {
            let next = i + s[i..]
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            if header(&s[next..]) { &s[next..] } else { s }
        }
        None => s,
    }
}

/// A decoder fed one byte at a time, giving out what it decodes.
trait Step {
    /// Decode `b` into `out`; false once the data has ended.
    fn feed(&mut self, b: u8, out: &mut Vec<u8>) -> bool;
    /// The input has ended: flush what is pending into `out`.
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// A [`Step`] decoder as a reader over another reader. Input is fed only
/// while less than [`PENDING`] bytes of output wait, so one read never
/// holds more than that and one code's worth (LZW's longest is 4 KiB).
struct Bytewise<'a, S> {
    inner: Box<dyn Read + 'a>,
    step: S,
    input: Vec<u8>,
    /// Input bytes fed so far, of `filled` read.
    fed: usize,
    filled: usize,
    out: Vec<u8>,
    at: usize,
    done: bool,
}

const PENDING: usize = 64 << 10;

impl<'a, S: Step> Bytewise<'a, S> {
    fn new(inner: Box<dyn Read + 'a>, step: S) -> Self {
        Bytewise {
            inner,
            step,
            input: vec![0; 8 << 10],
            fed: 0,
            filled: 0,
            out: Vec::new(),
            at: 0,
            done: false,
        }
    }

    /// Decode more into `out` (emptied first); false at the end.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.at = 0;
        while self.out.len() < PENDING {
            if self.done {
                return Ok(!self.out.is_empty());
            }
            if self.fed == self.filled {
                self.filled = self.inner.read(&mut self.input)?;
                self.fed = 0;
                if self.filled == 0 {
                    self.step.finish(&mut self.out);
                    self.done = true;
                    continue;
                }
            }
            while self.fed < self.filled && self.out.len() < PENDING {
                let b = self.input[self.fed];
                self.fed += 1;
                if !self.step.feed(b, &mut self.out) {
                    self.done = true;
                    break;
                }
            }
        }
        Ok(true)
    }
}

impl<S: Step> Read for Bytewise<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.out.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// ASCIIHexDecode: pairs of hex digits, white space ignored, `>` the end
/// (an odd last digit counts as followed by 0).
#[derive(Default)]
struct AsciiHex {
    high: Option<u8>,
}

impl Step for AsciiHex {
    fn feed(&mut self, b: u8, out: &mut Vec<u8>) -> bool {
        if b == b'>' {
            self.finish(out);
            return false;
        }
        let Some(d) = (b as char).to_digit(16) else {
            return true;
        };
        match self.high.take() {
            Some(h) => out.push(h << 4 | d as u8),
            None => self.high = Some(d as u8),
        }
        true
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if let Some(h) = self.high.take() {
            out.push(h << 4);
        }
    }
}

/// ASCII85Decode: groups of five characters `!`..`u` for four bytes, `z`
/// for four zeros, `~>` the end, a short last group padded with `u`.
#[derive(Default)]
struct Ascii85 {
    sum: u64,
    count: u8,
    tilde: bool,
}

impl Step for Ascii85 {
    fn feed(&mut self, b: u8, out: &mut Vec<u8>) -> bool {
        match b {
            b'~' => self.tilde = true,
            b'>' if self.tilde => {
                self.finish(out);
                return false;
            }
            b'!'..=b'u' => {
                self.sum = self.sum * 85 + u64::from(b - b'!');
                self.count += 1;
                if self.count == 5 {
                    out.extend_from_slice(&(self.sum as u32).to_be_bytes());
                    (self.sum, self.count) = (0, 0);
                }
            }
            b'z' if self.count == 0 => out.extend_from_slice(&[0; 4]),
            _ => {}
        }
        true
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.count > 1 {
            let n = usize::from(self.count - 1);
            for _ in self.count..5 {
                self.sum = self.sum * 85 + 84;
            }
            out.extend_from_slice(&(self.sum as u32).to_be_bytes()[..n]);
        }
        self.count = 0;
    }
}

/// RunLengthDecode: a length byte, then (under 128) that many bytes plus
/// one as they are, or (over 128) one byte repeated 257 less that many
/// times; 128 is the end.
#[derive(Default)]
struct RunLength {
    /// Literal bytes still to copy.
    literal: u8,
    /// The next byte is to be repeated this many times.
    repeat: u16,
}

impl Step for RunLength {
    fn feed(&mut self, b: u8, out: &mut Vec<u8>) -> bool {
        if self.literal > 0 {
            self.literal -= 1;
            out.push(b);
        } else if self.repeat > 0 {
            out.extend(std::iter::repeat_n(b, usize::from(self.repeat)));
            self.repeat = 0;
        } else if b < 128 {
            self.literal = b + 1;
        } else if b > 128 {
            self.repeat = 257 - u16::from(b);
        } else {
            return false;
        }
        true
    }

    fn finish(&mut self, _: &mut Vec<u8>) {}
}

/// LZWDecode: codes of 9 to 12 bits, most significant bit first; 256
/// clears the table, 257 ends the data. With early change the code width
/// grows one code sooner.
struct Lzw {
    early: u16,
    bits: u32,
    nbits: u32,
    width: u32,
    /// Each entry: (its prefix entry, its last byte, its length).
    table: Vec<(u16, u8, u16)>,
    prev: Option<u16>,
    word: Vec<u8>,
}

const CLEAR: u16 = 256;
const EOD: u16 = 257;

impl Lzw {
    fn new(early_change: bool) -> Lzw {
        let mut table = Vec::with_capacity(4096);
        table.extend((0..=255u16).map(|b| (0, b as u8, 1)));
        table.extend([(0, 0, 0), (0, 0, 0)]);
        Lzw {
            early: u16::from(early_change),
            bits: 0,
            nbits: 0,
            width: 9,
            table,
            prev: None,
            word: Vec::with_capacity(4096),
        }
    }

    /// The bytes of entry `code` into `self.word`.
    fn spell(&mut self, mut code: u16) {
        self.word.clear();
        loop {
            let (prefix, last, len) = self.table[usize::from(code)];
            self.word.push(last);
            if len <= 1 {
                break;
            }
            code = prefix;
        }
        self.word.reverse();
    }

    fn code(&mut self, code: u16, out: &mut Vec<u8>) -> bool {
        match code {
            CLEAR => {
                self.table.truncate(258);
                self.width = 9;
                self.prev = None;
                return true;
            }
            EOD => return false,
            _ => {}
        }
        let next = self.table.len() as u16;
        let Some(prev) = self.prev else {
            if code >= 256 {
                return false;
            }
            out.push(code as u8);
            self.prev = Some(code);
            return true;
        };
        let first = if code < next {
            self.spell(code);
            self.word[0]
        } else if code == next {
            self.spell(prev);
            self.word[0]
        } else {
            return false;
        };
        if next < 4096 {
            let len = self.table[usize::from(prev)].2.saturating_add(1);
            self.table.push((prev, first, len));
        }
        if code == next {
            self.spell(code);
        }
        out.extend_from_slice(&self.word);
        self.prev = Some(code);
        let size = self.table.len() as u16 + self.early;
        self.width = match size {
            ..512 => 9,
            512..1024 => 10,
            1024..2048 => 11,
            _ => 12,
        };
        true
    }
}

impl Step for Lzw {
    fn feed(&mut self, b: u8, out: &mut Vec<u8>) -> bool {
        self.bits = self.bits << 8 | u32::from(b);
        self.nbits += 8;
        while self.nbits >= self.width {
            self.nbits -= self.width;
            let code = (self.bits >> self.nbits) & ((1 << self.width) - 1);
            self.bits &= (1 << self.nbits) - 1;
            if !self.code(code as u16, out) {
                return false;
            }
        }
        true
    }

    fn finish(&mut self, _: &mut Vec<u8>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &[u8], filters: &[Filter]) -> Vec<u8> {
        let mut out = Vec::new();
        chain(input, filters, true).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn each_filter_decodes() {
        assert_eq!(
            decode(b"48 65\n6c6c6f>ignored", &[Filter::AsciiHex]),
            b"Hello"
        );
        assert_eq!(decode(b"487>", &[Filter::AsciiHex]), b"Hp");
        // "Hello, world" in ASCII85, a short last group, and z.
        assert_eq!(
            decode(b"87cURD_*#TDfTZ)~>", &[Filter::Ascii85]),
            b"Hello, world"
        );
        assert_eq!(decode(b"z~>", &[Filter::Ascii85]), [0; 4]);
        assert_eq!(
            decode(b"\x02abc\xfdx\x80zzz", &[Filter::RunLength]),
            b"abcxxxx"
        );
        // The PDF specification's LZW example: 45 45 45 45 45 65 45 45 45 66.
        let lzw = [0x80, 0x0b, 0x60, 0x50, 0x22, 0x0c, 0x0c, 0x85, 0x01];
        assert_eq!(decode(&lzw, &[Filter::Lzw]), b"-----A---B");
    }

    #[test]
    fn a_run_length_bomb_is_read_a_piece_at_a_time() {
        // 1 MiB of input, 64 MiB of output: no read holds more than a piece.
        let input = b"\x81x".repeat(512 << 10);
        let mut r = chain(&input, &[Filter::RunLength], true);
        let mut buf = vec![0; 1 << 20];
        let (mut total, mut most) = (0, 0);
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            (total, most) = (total + n, most.max(n));
        }
        assert_eq!(total, 64 << 20);
        assert!(most <= PENDING + 128, "{most}");
    }

    #[test]
    fn chains_apply_in_order_and_stop_at_a_filter_not_decoded() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"inner").unwrap();
        let packed = z.finish().unwrap();
        let hex: Vec<u8> = packed
            .iter()
            .flat_map(|b| format!("{b:02x}").into_bytes())
            .collect();
        assert_eq!(decode(&hex, &[Filter::AsciiHex, Filter::Flate]), b"inner");
        assert_eq!(
            decode(&hex, &[Filter::AsciiHex, Filter::Other, Filter::Flate]),
            packed
        );
        // A stray carriage return, and a line of junk, before the zlib data.
        let mut junk = b"\r\n\n".to_vec();
        junk.extend_from_slice(&packed);
        assert_eq!(decode(&junk, &[Filter::Flate]), b"inner");
    }
}
