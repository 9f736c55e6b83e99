//! Any bytes as an HTML file: the normaliser must never panic, its views
//! stay within a small multiple of the input (a reference `&#256;` of six
//! bytes is written as `&#x0100;`, eight), and the scanner's HTML path
//! (file type, views, data: URIs as members) runs through.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward::unpack::html;

fuzz_target!(|data: &[u8]| {
    let _ = html::has_tag(data);
    let mut views = html::Views::default();
    html::normalize(data, true, &mut views);
    let bound = 2 * data.len() + 16;
    assert!(views.nocomment.len() <= bound, "no-comment view too long");
    assert!(views.notags.len() <= bound, "no-tag view too long");
    let payload: usize = views.data.iter().map(Vec::len).sum();
    assert!(payload <= data.len(), "data: URIs longer than the file");
    let mut page = b"<html>".to_vec();
    page.extend_from_slice(data);
    let set = ward::SignatureSet::builtin();
    let mut scanner = ward::Scanner::new(&set);
    scanner.all_matches(true);
    let _ = scanner.scan_bytes(&page);
});
