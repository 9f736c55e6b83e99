//! ClamAV extended body signatures (`.ndb`):
//! `Name:TargetType:Offset:HexSignature[:MinFLevel[:MaxFLevel]]`.

use super::hexpat;
use super::{BodySig, LineError, Offset, TargetType};

/// The ClamAV functionality level ward implements (ClamAV 1.4). Signatures whose
/// `MaxFLevel` is below it are meant for older engines and are dropped, as
/// ClamAV drops them.
pub const FLEVEL: u32 = 220;

/// What a line turned into.
pub enum Parsed {
    /// A signature ward will match.
    Sig(BodySig),
    /// A well-formed signature ward will not use, and why (a warning, not an error).
    Unsupported(String),
    /// A signature for a different engine level, dropped silently.
    OutOfLevel,
}

/// Parse one `.ndb` line (without its line ending).
pub fn parse_line(line: &str) -> Result<Parsed, LineError> {
    let fields: Vec<&str> = line.split(':').collect();
    let col = |idx: usize| fields[..idx].iter().map(|f| f.len() + 1).sum::<usize>();
    if fields.len() < 4 || fields.len() > 6 {
        return Err(LineError::new(
            0,
            format!(
                "expected 4 to 6 ':'-separated fields, found {}",
                fields.len()
            ),
        ));
    }
    let name = fields[0];
    if name.is_empty() {
        return Err(LineError::new(0, "empty signature name"));
    }
    let target: u32 = super::decimal(fields[1]).ok_or_else(|| {
        LineError::new(
            col(1),
            format!("target type '{}' is not a number", fields[1]),
        )
    })?;
    let nodes =
        hexpat::parse(fields[3]).map_err(|e| LineError::new(col(3) + e.column, e.reason))?;
    let offset = match parse_offset(fields[2]) {
        Ok(Some(o)) => o,
        Ok(None) => {
            return Ok(Parsed::Unsupported(format!(
                "offset '{}' (entry point and section offsets) is not supported",
                fields[2]
            )));
        }
        Err(e) => return Err(LineError::new(col(2) + e.column, e.reason)),
    };
    for (idx, text) in fields.iter().enumerate().skip(4) {
        let level: u32 = super::decimal(text).ok_or_else(|| {
            LineError::new(
                col(idx),
                format!("functionality level '{text}' is not a number"),
            )
        })?;
        let too_new = idx == 4 && level > FLEVEL;
        let too_old = idx == 5 && level < FLEVEL;
        if too_new || too_old {
            return Ok(Parsed::OutOfLevel);
        }
    }
    let target = match target {
        0 => TargetType::Any,
        1 => TargetType::Pe,
        6 => TargetType::Elf,
        9 => TargetType::MachO,
        3 => TargetType::Html,
        7 => TargetType::Text,
        4 => TargetType::Mail,
        t @ 2..=14 => {
            return Ok(Parsed::Unsupported(format!(
                "target type {t} (needs a file-type normaliser) is not supported"
            )));
        }
        t => return Err(LineError::new(col(1), format!("unknown target type {t}"))),
    };
    if !super::has_static_byte(&nodes) {
        return Err(LineError::new(
            col(3),
            "pattern has no fixed byte to anchor on",
        ));
    }
    Ok(Parsed::Sig(BodySig {
        name: name.into(),
        target,
        offset,
        nodes,
        trailer: None,
    }))
}

/// Parse an offset field; `Ok(None)` for well-formed offsets ward does not support.
pub(crate) fn parse_offset(text: &str) -> Result<Option<Offset>, hexpat::PatternError> {
    let bad = |column: usize, reason: String| hexpat::PatternError { column, reason };
    if text == "*" {
        return Ok(Some(Offset::Any));
    }
    let (base, shift) = match text.split_once(',') {
        Some((b, s)) => {
            let shift: u64 = super::decimal(s)
                .ok_or_else(|| bad(b.len() + 1, format!("maximum shift '{s}' is not a number")))?;
            (b, shift)
        }
        None => (text, 0),
    };
    let number = |s: &str, at: usize| {
        super::decimal::<u64>(s).ok_or_else(|| bad(at, format!("offset '{s}' is not a number")))
    };
    if let Some(n) = base.strip_prefix("EOF-") {
        return Ok(Some(Offset::FromEnd {
            back: number(n, 4)?,
            shift,
        }));
    }
    if base.starts_with("EP")
        || base.starts_with("SE")
        || base.starts_with("SL")
        || base.starts_with('S')
        || base.starts_with("VI")
    {
        return Ok(None);
    }
    Ok(Some(Offset::FromStart {
        at: number(base, 0)?,
        shift,
    }))
}
