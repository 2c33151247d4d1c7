//! `ipvsadm import keepalived`: the tokenizer, the importer and the
//! document's read-back must never panic; what imports must export and
//! import again to the same document (the round trip).
#![no_main]

use ipvsadm_rs::keepalived::{self, parse::NoIncludes, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ipvsadm_rs::names::disable_host_lookups();
    let text = String::from_utf8_lossy(data);
    if let Ok(first) = keepalived::import_text(&text, "fuzz", &NoIncludes, Format::Json) {
        let exported = keepalived::export_text(&first.text, "doc").expect("an import reads back");
        let again = keepalived::import_text(&exported.text, "exported", &NoIncludes, Format::Json)
            .expect("an export imports");
        assert_eq!(first.doc, again.doc, "round trip");
        let rules = keepalived::import_text(&text, "fuzz", &NoIncludes, Format::Rules)
            .expect("rules import as JSON does");
        assert_eq!(first.doc, rules.doc);
    }
});
