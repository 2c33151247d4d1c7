//! `--json` output: the [`Document`] serialised with serde, one value per
//! field of the model, 64-bit counters included. The schema is described
//! in README.md ("JSON").

use crate::model::Document;

/// Pretty-printed JSON and a final newline. serde_json fails only on
/// what the model cannot hold (maps with non-string keys, a failing
/// `Serialize`); the error is the caller's to report, never hidden.
pub fn document(doc: &Document) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(doc)?;
    s.push('\n');
    Ok(s)
}
