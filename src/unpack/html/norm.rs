//! ClamAV's HTML normaliser, state by state: one pass, constant work per
//! byte, every buffer that grows with the input either a view or capped.

use super::{Views, entities};

/// How much of a tag name, attribute name or attribute value is kept.
const STR_MAX: usize = 1024;

/// Chunks are read this long at most, then cut after their last white space.
const CHUNK: usize = 8191;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The machine went wrong: stop.
    Bad,
    Norm,
    EightBit,
    Comment,
    CharRef,
    EntityRefDecode,
    SkipWs,
    TrimWs,
    Tag,
    TagArg,
    TagArgVal,
    TagArgEqual,
    ProcessTag,
    CharRefDecode,
    DataType,
    DataInit,
    Data,
    DataFinish,
    DataEsc,
    EscapeChar,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum InTag {
    None,
    Script,
    Style,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoted {
    Single,
    Double,
    Not,
}

/// White space as C's `isspace` has it.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn push_capped(v: &mut Vec<u8>, b: u8) {
    if v.len() < STR_MAX {
        v.push(b);
    }
}

/// Where the chunk starting at `pos` ends: [`CHUNK`] bytes on, or, when that
/// cuts a word, after the last white space before (if there is one past the
/// chunk's first byte).
fn chunk_end(d: &[u8], pos: usize) -> usize {
    let end = (pos + CHUNK).min(d.len());
    if end == d.len() || is_space(d[end]) {
        return end;
    }
    let mut len = end - pos;
    while len > 1 && !is_space(d[pos + len - 1]) {
        len -= 1;
    }
    match len {
        1 => end,
        _ => pos + len,
    }
}

/// Write the views of the HTML file `data` into `views` (cleared first);
/// `notags` says whether the "no tags" view is wanted.
pub fn normalize(data: &[u8], notags: bool, views: &mut Views) {
    views.clear();
    let filtered: Vec<u8>;
    let d = match memchr::memchr(0, data) {
        None => data,
        Some(_) => {
            filtered = data.iter().copied().filter(|&b| b != 0).collect();
            &filtered
        }
    };
    let mut n = Norm::new(views, notags);
    let mut pos = 0;
    while pos < d.len() {
        let end = chunk_end(d, pos);
        if !n.chunk(&d[pos..end]) {
            // ClamAV gives up here, keeping what was written.
            n.end_uri();
            return;
        }
        pos = end;
        if n.next == n.state {
            n.next = State::Bad;
        }
    }
    n.finish();
}

/// The normaliser's state between bytes.
struct Norm<'v> {
    o2: &'v mut Vec<u8>,
    text: &'v mut Vec<u8>,
    want_text: bool,
    data: &'v mut Vec<Vec<u8>>,
    state: State,
    next: State,
    binary: bool,
    escape: bool,
    hex: bool,
    value: i64,
    esc_len: u32,
    quoted: Quoted,
    in_tag: InTag,
    /// Where in the chunk the style block being read starts.
    style_begin: usize,
    text_space: bool,
    mbchar: u32,
    mbchar2: u32,
    tag: Vec<u8>,
    tag_arg: Vec<u8>,
    tag_val: Vec<u8>,
    entity: Vec<u8>,
    args: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// The `data:` URI being read: its media type and payload.
    uri: Option<(Vec<u8>, Vec<u8>)>,
}

impl<'v> Norm<'v> {
    fn new(views: &'v mut Views, want_text: bool) -> Norm<'v> {
        Norm {
            o2: &mut views.nocomment,
            text: &mut views.notags,
            want_text,
            data: &mut views.data,
            state: State::Norm,
            next: State::Bad,
            binary: false,
            escape: false,
            hex: false,
            value: 0,
            esc_len: 0,
            quoted: Quoted::Not,
            in_tag: InTag::None,
            style_begin: 0,
            text_space: false,
            mbchar: 0,
            mbchar2: 0,
            tag: Vec::new(),
            tag_arg: Vec::new(),
            tag_val: Vec::new(),
            entity: Vec::new(),
            args: Vec::new(),
            uri: None,
        }
    }

    fn out(&mut self, b: u8) {
        self.o2.push(b);
    }

    fn out_text(&mut self, b: u8) {
        if self.want_text {
            self.text.push(b);
        }
    }

    /// Outside scripts and styles, one space into the text view unless one
    /// was just written.
    fn text_gap(&mut self) {
        if self.in_tag == InTag::None && !self.text_space {
            self.out_text(b' ');
            self.text_space = true;
        }
    }

    fn out_uri(&mut self, b: u8) {
        if let Some((_, payload)) = &mut self.uri {
            payload.push(b);
        }
    }

    /// A decoded character into `tag_val` when an attribute value is being
    /// read.
    fn val(&mut self, b: u8) {
        if self.next == State::TagArgVal {
            push_capped(&mut self.tag_val, b);
        }
    }

    /// Run one chunk; `false` when the machine went wrong.
    fn chunk(&mut self, c: &[u8]) -> bool {
        if self.in_tag == InTag::Style {
            self.style_begin = 0;
        }
        let mut i = c.iter().take_while(|&&b| is_space(b)).count();
        // A line feed read as text is turned into a space once, for good.
        let mut spaced = usize::MAX;
        while i < c.len() {
            let b = if spaced == i { b' ' } else { c[i] };
            if !self.binary && b == b'\n' {
                spaced = i;
                continue;
            }
            if !self.binary && b == b'\r' {
                i += 1;
                continue;
            }
            match self.state {
                State::Bad => return false,
                State::SkipWs | State::TrimWs => {
                    if is_space(b) {
                        i += 1;
                    } else {
                        if self.state == State::TrimWs && self.in_tag == InTag::None {
                            self.out(b' ');
                        }
                        self.state = self.next;
                        self.next = State::Bad;
                    }
                }
                State::EightBit => i += self.eight_bit(b),
                State::Norm => i += self.norm(b),
                State::Tag => i += self.tag(b),
                State::TagArg => i += self.tag_arg(b),
                State::TagArgEqual => {
                    if b == b'=' {
                        self.out(b'=');
                        i += 1;
                        self.value_starts();
                    } else {
                        self.add_arg(None);
                        self.state = State::TagArg;
                        self.next = State::Bad;
                    }
                }
                State::TagArgVal => {
                    let (step, check) = self.tag_arg_val(b);
                    i += step;
                    if check {
                        self.escape = c.get(i) == Some(&b'\\');
                    }
                }
                State::Comment => {
                    if self.in_tag != InTag::None && !is_space(b) {
                        let l = b.to_ascii_lowercase();
                        self.out(if l == b'\'' { b'"' } else { l });
                    }
                    if b == b'>' {
                        self.state = State::SkipWs;
                        self.next = State::Norm;
                    }
                    i += 1;
                }
                State::ProcessTag => {
                    if !self.process_tag(i) {
                        return false;
                    }
                }
                State::CharRef => {
                    if b == b'#' {
                        self.value = 0;
                        self.hex = false;
                        self.state = State::CharRefDecode;
                        i += 1;
                    } else {
                        self.state = State::EntityRefDecode;
                    }
                }
                State::EntityRefDecode => i += self.entity_ref(b),
                State::CharRefDecode => i += self.char_ref(b),
                State::DataType => {
                    i += self.data_type(b);
                    self.escape = c.get(i) == Some(&b'\\');
                }
                State::DataInit => {
                    self.end_uri();
                    let kind = std::mem::take(&mut self.tag_val);
                    self.uri = Some((kind, Vec::new()));
                    self.state = State::Data;
                    self.binary = true;
                }
                State::Data => {
                    i += self.data(b);
                    self.escape = c.get(i) == Some(&b'\\');
                }
                State::DataFinish => {
                    self.end_uri();
                    self.state = State::SkipWs;
                    self.escape = false;
                    self.quoted = Quoted::Not;
                    self.next = State::TagArg;
                    self.binary = false;
                }
                State::DataEsc => {
                    match self.esc_len {
                        2 => self.out_uri(self.value as u8),
                        1 => {
                            self.out_uri(b'%');
                            self.out_uri((self.value as u8).wrapping_add(b'0'));
                        }
                        _ => self.out_uri(b'%'),
                    }
                    self.state = State::Data;
                }
                State::EscapeChar => {
                    if self.value < i64::MAX / 16 {
                        self.value *= 16;
                        self.esc_len += 1;
                        match (b as char).to_digit(16) {
                            Some(d) => self.value += i64::from(d),
                            None => self.state = self.next,
                        }
                        if self.esc_len == 2 {
                            self.state = self.next;
                        }
                    } else {
                        self.state = self.next;
                        self.next = State::Bad;
                    }
                    i += 1;
                }
            }
        }
        true
    }

    /// A multi-byte character: bytes past ASCII gathered (three at most),
    /// then written as they came, or as `.` for the ideographic full stops.
    fn eight_bit(&mut self, b: u8) -> usize {
        if b >= 0x80 && self.mbchar < 0x10000 {
            self.mbchar = (self.mbchar << 8) | u32::from(b);
            return 1;
        }
        let m = self.mbchar;
        let mut step = 0;
        if is_full_stop(m, b) {
            self.out(b'.');
            self.out_text(b'.');
            if m == 0xa1 {
                step = 1;
            }
        } else {
            let [_, c0, c1, c2] = m.to_be_bytes();
            if c0 != 0 {
                self.out(c0);
                self.out_text(c0);
            }
            if c0 != 0 || c1 != 0 {
                self.out(c1);
                self.out_text(c1);
            }
            self.out(c2);
            // ClamAV writes the middle byte again into the text view.
            self.out_text(c1);
        }
        self.mbchar = 0;
        if step == 0 {
            self.state = self.next;
            self.next = State::Norm;
        }
        step
    }

    fn norm(&mut self, b: u8) -> usize {
        match b {
            b'<' => {
                self.out(b'<');
                self.text_gap();
                self.state = State::SkipWs;
                self.tag.clear();
                self.next = State::Tag;
                1
            }
            _ if is_space(b) => {
                self.text_gap();
                self.state = State::TrimWs;
                self.next = State::Norm;
                0
            }
            b'&' => {
                self.text_gap();
                self.state = State::CharRef;
                self.next = State::Norm;
                1
            }
            0x80.. => {
                self.state = State::EightBit;
                self.next = State::Norm;
                self.mbchar = u32::from(b);
                1
            }
            _ => {
                let mut l = b.to_ascii_lowercase();
                if self.in_tag != InTag::None && l == b'\'' {
                    l = b'"';
                }
                self.out(l);
                if self.in_tag == InTag::None {
                    if b < 0x20 {
                        self.text_gap();
                    } else {
                        self.out_text(l);
                        self.text_space = false;
                    }
                }
                1
            }
        }
    }

    fn tag(&mut self, b: u8) -> usize {
        if self.tag.is_empty() && b == b'!' {
            if self.in_tag != InTag::None {
                self.out(b'!');
            } else {
                self.o2.pop();
            }
            self.state = State::Comment;
            self.next = State::Bad;
        } else if b == b'>' {
            self.out(b'>');
            self.state = State::SkipWs;
            self.next = State::ProcessTag;
        } else if !is_space(b) {
            let l = b.to_ascii_lowercase();
            self.out(l);
            if self.in_tag != InTag::None && self.tag.is_empty() && b != b'/' {
                self.state = State::Norm;
            }
            push_capped(&mut self.tag, l);
        } else {
            self.state = State::SkipWs;
            self.tag_arg.clear();
            self.next = match self.in_tag {
                InTag::None => State::TagArg,
                _ => State::ProcessTag,
            };
            return 0;
        }
        1
    }

    fn tag_arg(&mut self, b: u8) -> usize {
        if b == b'=' {
            self.out(b'=');
            self.value_starts();
        } else if is_space(b) {
            self.state = State::SkipWs;
            self.next = State::TagArgEqual;
        } else if b == b'>' {
            self.out(b'>');
            self.add_arg(None);
            self.state = State::ProcessTag;
            self.next = State::Bad;
        } else {
            if self.tag_arg.is_empty() {
                self.out(b' ');
            }
            let l = b.to_ascii_lowercase();
            self.out(l);
            push_capped(&mut self.tag_arg, l);
        }
        1
    }

    /// After `=`: white space, then the value.
    fn value_starts(&mut self) {
        self.state = State::SkipWs;
        self.escape = false;
        self.quoted = Quoted::Not;
        self.tag_val.clear();
        self.next = State::TagArgVal;
    }

    /// Record the attribute read (if it has a name) without a value.
    fn add_arg(&mut self, value: Option<Vec<u8>>) {
        if !self.tag_arg.is_empty() {
            self.keep_arg(value);
        }
        self.tag_arg.clear();
    }

    /// Keep the attribute read with `value` if a view is to show it (the
    /// first `href` or `src` of a tag): a tag of a million attributes holds
    /// no more than two.
    fn keep_arg(&mut self, value: Option<Vec<u8>>) {
        let name = std::mem::take(&mut self.tag_arg);
        let shown = matches!(&name[..], b"href" | b"src");
        if shown && !self.args.iter().any(|(n, _)| *n == name) {
            self.args.push((name, value));
        }
    }

    /// The attribute value ends here.
    fn end_value(&mut self) {
        let value = self.tag_val.clone();
        self.keep_arg(Some(value));
        self.state = State::SkipWs;
        self.next = State::TagArg;
    }

    /// A byte of an attribute value: how far to move on, and whether the
    /// escape flag is to be set from the next byte.
    fn tag_arg_val(&mut self, b: u8) -> (usize, bool) {
        let starts_uri = match self.tag_val.len() {
            5 => self.tag_val == b"data:",
            6 => self.tag_val == b"\"data:",
            _ => false,
        };
        if starts_uri {
            // The `:` goes, the rest of the URI is kept out of the view.
            self.o2.pop();
            if self.quoted != Quoted::Not {
                self.out(b'"');
            }
            self.tag_val.clear();
            self.state = State::DataType;
            self.next = State::TagArg;
            return (0, true);
        }
        let quote = match b {
            b'\'' => Some(Quoted::Single),
            b'"' => Some(Quoted::Double),
            _ => None,
        };
        if b == b'&' {
            self.state = State::CharRef;
            self.next = State::TagArgVal;
            return (1, true);
        }
        if let Some(q) = quote {
            self.out(b'"');
            push_capped(&mut self.tag_val, b'"');
            if self.tag_val.len() == 1 {
                self.quoted = q;
            } else if !self.escape && self.quoted == q {
                self.end_value();
            }
            return (1, true);
        }
        if is_space(b) || b == b'>' {
            if self.quoted == Quoted::Not {
                self.end_value();
                return (0, true);
            }
            self.out(b);
            push_capped(&mut self.tag_val, if is_space(b) { b' ' } else { b'>' });
            self.state = State::SkipWs;
            self.escape = false;
            self.quoted = Quoted::Not;
            self.next = State::TagArgVal;
            return (1, true);
        }
        if self.mbchar2 != 0 && (b < 0x80 || self.mbchar2 >= 0x10000) {
            let m = self.mbchar2;
            if is_full_stop(m, b) {
                self.out(b'.');
                push_capped(&mut self.tag_val, b'.');
                if m == 0xa1 {
                    self.mbchar2 = 0;
                    return (1, false);
                }
            } else {
                let [_, c0, c1, c2] = m.to_be_bytes();
                for (keep, c) in [(c0 != 0, c0), (c0 != 0 || c1 != 0, c1), (true, c2)] {
                    if keep {
                        self.out(c);
                        push_capped(&mut self.tag_val, c);
                    }
                }
            }
            self.mbchar2 = 0;
        }
        if b >= 0x80 {
            self.mbchar2 = (self.mbchar2 << 8) | u32::from(b);
        } else {
            self.out(b.to_ascii_lowercase());
            push_capped(&mut self.tag_val, b);
        }
        (1, true)
    }

    /// Act on the tag just read, `at` where the chunk is now; `false` when
    /// ClamAV would give up: a style block whose end tag it cannot place
    /// after its start (the end tag ends a chunk or comes in the next one).
    fn process_tag(&mut self, at: usize) -> bool {
        self.state = State::SkipWs;
        self.next = State::Norm;
        match &self.tag[..] {
            b"/script" => self.in_tag = InTag::None,
            b"/style" if self.in_tag == InTag::Style => {
                if at < self.style_begin + b"</style>".len() {
                    return false;
                }
                self.in_tag = InTag::None;
            }
            b"script" => self.in_tag = InTag::Script,
            b"style" => {
                self.in_tag = InTag::Style;
                self.style_begin = at;
            }
            b"a" => self.link_text(b"href"),
            b"img" => self.link_text(b"src"),
            _ => {}
        }
        self.args.clear();
        true
    }

    /// A link's target or an image's source goes into the text view.
    fn link_text(&mut self, name: &[u8]) {
        let Some(value) = self
            .args
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
        else {
            return;
        };
        // A quoted value loses its quotes (the last byte, whatever it is).
        let value = match value.split_first() {
            Some((b'"', rest)) => &rest[..rest.len().saturating_sub(1)],
            _ => value,
        };
        if !value.is_empty() && self.want_text {
            self.text.extend_from_slice(value);
            self.text.push(b' ');
            self.text_space = true;
        }
    }

    fn entity_ref(&mut self, b: u8) -> usize {
        if b == b';' {
            let name = std::mem::take(&mut self.entity);
            match entities::lookup(&name) {
                Some(u) => self.out_char(u, true),
                None => {
                    self.out(b'&');
                    self.val(b'&');
                    for c in name.iter().map(u8::to_ascii_lowercase) {
                        self.out(c);
                        self.val(c);
                    }
                    self.val(b';');
                    self.out(b';');
                }
            }
            self.state = self.next;
            self.next = State::Bad;
            return 1;
        }
        let name_byte = b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-');
        if name_byte && self.entity.len() < STR_MAX {
            self.entity.push(b);
            return 1;
        }
        // Too long or not a name: written as it came.
        let name = std::mem::take(&mut self.entity);
        self.val(b'&');
        self.out(b'&');
        for c in name.iter().map(u8::to_ascii_lowercase) {
            self.out(c);
            self.val(c);
        }
        self.state = self.next;
        self.next = State::Bad;
        0
    }

    /// A character as ClamAV writes one past ASCII: below U+00FF the byte,
    /// the ideographic full stops as `.`, else `&#xhhhh;` (NUL is dropped).
    fn out_char(&mut self, u: u16, into_val: bool) {
        let mut buf = [0u8; 8];
        let s: &[u8] = match u {
            0 => &[],
            1..0xff => {
                buf[0] = u as u8;
                &buf[..1]
            }
            0x3002 | 0xff0e | 0xfe52 => b".",
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf[..3].copy_from_slice(b"&#x");
                for k in 0..4 {
                    buf[3 + k] = HEX[usize::from(u >> (12 - 4 * k)) & 0xf];
                }
                buf[7] = b';';
                &buf
            }
        };
        for &c in s {
            self.out(c);
            if into_val {
                self.val(c);
            }
        }
    }

    fn char_ref(&mut self, b: u8) -> usize {
        if self.value == 0 && matches!(b, b'x' | b'X') {
            self.hex = true;
            return 1;
        }
        if b == b';' {
            self.val(self.value as u8);
            if self.value < 0x80 {
                self.out((self.value as u8).to_ascii_lowercase());
            } else {
                self.out_char(self.value as u16, false);
            }
            self.state = self.next;
            self.next = State::Bad;
            return 1;
        }
        let digit = match self.hex {
            true => (b as char).to_digit(16),
            false => (b as char).to_digit(10),
        };
        let Some(d) = digit else {
            self.out(self.value as u8);
            self.state = self.next;
            self.next = State::Bad;
            return 0;
        };
        let base = if self.hex { 16 } else { 10 };
        match self
            .value
            .checked_mul(base)
            .and_then(|v| v.checked_add(i64::from(d)))
        {
            Some(v) if self.value < i64::MAX / base => self.value = v,
            _ => {
                self.out(self.value as u8);
                self.state = self.next;
                self.next = State::Bad;
            }
        }
        1
    }

    /// The media type of a `data:` URI, up to its `,`.
    fn data_type(&mut self, b: u8) -> usize {
        let quote = match b {
            b'\'' => Some(Quoted::Single),
            b'"' => Some(Quoted::Double),
            _ => None,
        };
        if let Some(q) = quote {
            if !self.escape && self.quoted == q {
                // The URI ends before its data.
                self.state = State::SkipWs;
                self.tag_arg.clear();
                self.next = State::TagArg;
            } else {
                push_capped(&mut self.tag_val, b'"');
            }
            return 1;
        }
        if is_space(b) || b == b'>' {
            if self.quoted == Quoted::Not {
                self.state = State::SkipWs;
                self.tag_arg.clear();
                self.next = State::TagArg;
                return 0;
            }
            push_capped(&mut self.tag_val, if is_space(b) { b' ' } else { b'>' });
            self.state = State::SkipWs;
            self.escape = false;
            self.quoted = Quoted::Not;
            self.next = State::DataType;
            return 1;
        }
        if b == b',' {
            self.state = State::DataInit;
            self.escape = false;
            self.next = State::Bad;
            return 1;
        }
        push_capped(&mut self.tag_val, b.to_ascii_lowercase());
        1
    }

    /// A byte of a `data:` URI's payload.
    fn data(&mut self, b: u8) -> usize {
        let quote = match b {
            b'\'' => Some(Quoted::Single),
            b'"' => Some(Quoted::Double),
            _ => None,
        };
        match b {
            b'&' => {
                self.state = State::CharRef;
                self.next = State::Data;
            }
            b'%' => {
                self.esc_len = 0;
                self.value = 0;
                self.state = State::EscapeChar;
                self.next = State::DataEsc;
            }
            _ if quote.is_some() => {
                if !self.escape && Some(self.quoted) == quote {
                    self.state = State::DataFinish;
                } else {
                    self.out_uri(b);
                }
            }
            _ if is_space(b) || b == b'>' => {
                if self.quoted == Quoted::Not {
                    self.state = State::DataFinish;
                } else {
                    self.out_uri(b);
                }
            }
            _ => self.out_uri(b),
        }
        1
    }

    /// The payload of the URI read, decoded, joins the members.
    fn end_uri(&mut self) {
        if let Some((kind, payload)) = self.uri.take() {
            let base64 = kind.windows(7).any(|w| w == b";base64");
            self.data.push(match base64 {
                true => decode_base64(&payload),
                false => payload,
            });
        }
    }

    /// At the end of the file: an entity still being read is decoded, and
    /// a URI still being read is kept.
    fn finish(&mut self) {
        let name = std::mem::take(&mut self.entity);
        match entities::lookup(&name) {
            Some(u) => self.out_char(u, false),
            None if !name.is_empty() => {
                self.out(b'&');
                for c in name.iter().map(u8::to_ascii_lowercase) {
                    self.out(c);
                }
            }
            None => {}
        }
        self.end_uri();
    }
}

/// The ideographic full stops (UTF-8 `。`, `．`, `﹒`, and a GB2312 one)
/// that are written as `.`.
fn is_full_stop(m: u32, next: u8) -> bool {
    matches!(m, 0xe38082 | 0xefbc8e | 0xefb992) || (m == 0xa1 && matches!(next, 0x43 | 0x44 | 0x4f))
}

/// Base64 as a mail reader decodes it: whatever is not in the alphabet is
/// skipped.
fn decode_base64(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn views(html: &[u8]) -> Views {
        let mut v = Views::default();
        normalize(html, true, &mut v);
        v
    }

    #[test]
    fn as_clamav_writes_them() {
        // Both views as clamscan 1.4 leaves them in its temporary directory.
        let v = views(
            b"<html><body>Hello World <b>Evil</b>  THING\n here bad &amp; <!-- x -->stuff  Now \
              <IMG  SRC=x> seven SIG<script>var zz='abc'</script></body></html>\n",
        );
        assert_eq!(
            v.nocomment,
            b"<html><body>hello world <b>evil</b>thing here bad & stuff now <img src=x>seven sig\
              <script>varzz=\"abc\"</script></body></html>"
        );
        assert_eq!(
            v.notags,
            b" hello world evil thing here bad stuff now x seven sig "
        );
    }

    #[test]
    fn references_and_uris() {
        let v = views(
            b"<p a='X Y'>&#x41;&#66;&euro;&bogus;&lt</p><a href=\"data:text/plain;base64,aGk=\">",
        );
        assert_eq!(
            v.nocomment,
            b"<p a=\"x y\">ab&#x20ac;&bogus;&lt</p><a href=\"data\">"
        );
        assert_eq!(v.data, vec![b"hi".to_vec()]);
        // `%4>` takes the `>` as its second digit, and the file ends
        // before the escape is written.
        let v = views(b"<img src=data:,a%41b%4>");
        assert_eq!(v.data, vec![b"aAb".to_vec()]);
    }

    #[test]
    fn chunks_are_cut_after_white_space() {
        let mut html = b"<b>".to_vec();
        html.extend(std::iter::repeat_n(b'x', CHUNK - 10));
        html.extend_from_slice(b" yyyyyyyyyyyyyyyyyyyy");
        assert_eq!(chunk_end(&html, 0), CHUNK - 10 + 4);
        assert_eq!(chunk_end(&html[..5], 0), 5);
    }
}
