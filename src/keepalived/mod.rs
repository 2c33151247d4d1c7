//! keepalived.conf in and out: `ipvsadm import keepalived FILE` and
//! `ipvsadm export keepalived [FILE|-]`.
//!
//! * [`parse`]: keepalived's tokenizer and `include` (globs relative to the
//!   including file, loops found) → a tree of statements with FILE:LINE.
//! * [`import`]: the tree's IPVS half (`virtual_server_group`,
//!   `virtual_server`, `real_server`, checkers, `lvs_timeouts`,
//!   `lvs_sync_daemon`) → [`doc::Doc`], with keepalived's defaults and
//!   cascade; what cannot be mapped is a warning naming FILE:LINE.
//! * [`doc`]: the document `ipvsadm serve` reads, as JSON or rules; every
//!   import is read back through [`crate::serve::config`] before it is
//!   printed.
//! * [`export`]: a `serve`/`apply` document → `virtual_server` blocks.
//!
//! Only `cli` uses this module; it uses `serve::config`, `apply`, `lang`
//! and `model`.

pub mod doc;
pub mod export;
pub mod import;
pub mod parse;

use crate::serve::config;

/// The output format of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Rules,
}

/// An import: the document's text and the warnings.
#[derive(Debug)]
pub struct Imported {
    pub doc: doc::Doc,
    pub text: String,
    pub warnings: Vec<String>,
}

/// Import keepalived.conf `text` (read from `file`; includes through
/// `loader`) as the document in `format`, checked by reading it back as
/// `ipvsadm serve` would. Errors are `FILE:LINE: message`.
pub fn import_text(
    text: &str,
    file: &str,
    loader: &dyn parse::Loader,
    format: Format,
) -> Result<Imported, Vec<String>> {
    let (nodes, conditional) = parse::parse(text, file, loader)?;
    let imported = import::import(&nodes, conditional)?;
    let out = match format {
        Format::Json => imported.doc.json(),
        Format::Rules => imported.doc.rules(),
    };
    let name = match format {
        Format::Json => "imported document (JSON)",
        Format::Rules => "imported document (rules)",
    };
    if let Err(errors) = config::read(&out, name) {
        return Err(errors
            .into_iter()
            .map(|e| format!("{file}: the document does not read back: {e}"))
            .collect());
    }
    Ok(Imported {
        doc: imported.doc,
        text: out,
        warnings: imported.warnings,
    })
}

/// Import the keepalived.conf at `path` (its includes from the file
/// system).
pub fn import_file(path: &str, format: Format) -> Result<Imported, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{path}: {e}")])?;
    import_text(&text, path, &parse::Files, format)
}

/// Export a `serve`/`apply` document (`text`, read from `file`) as
/// keepalived.conf.
pub fn export_text(text: &str, file: &str) -> Result<export::Exported, Vec<String>> {
    let cfg = config::read(text, file)?;
    Ok(export::export(&cfg, file))
}
