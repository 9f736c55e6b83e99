//! TNEF, BinHex or SZDD (chosen by the first byte) with the rest of the
//! input behind its magic: decoding must never panic, and every member must
//! stay within the cap, as the scanner drives it.
#![no_main]

use libfuzzer_sys::fuzz_target;

const MAGICS: [&[u8]; 3] = [
    b"\x78\x9f\x3e\x22\x00\x00",
    b"(This file must be converted with BinHex 4.0)\n:",
    b"SZDD\x88\xf0\x27\x33A_",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut file = MAGICS[usize::from(pick) % MAGICS.len()].to_vec();
    file.extend_from_slice(rest);
    ward_fuzz::unpack_nested(&file, 3);
});
