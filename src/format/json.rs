//! `--json` output: the [`Document`] serialised with serde, one value per
//! field of the model, 64-bit counters included. The schema is described
//! in README.md ("JSON").

use crate::model::Document;

/// Pretty-printed JSON and a final newline.
pub fn document(doc: &Document) -> String {
    // Serialising plain data with string keys cannot fail.
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
