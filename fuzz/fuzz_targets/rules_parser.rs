//! Rules and JSON input as `ipvsadm apply` and `ipvsadm -R` read it: the
//! `-R` tokenizer, the ipvsadm command-line parser on every line, and the
//! apply reader (rules or JSON). None may panic.
#![no_main]

use ipvsadm_rs::apply;
use ipvsadm_rs::lang::parse::parse;
use ipvsadm_rs::lang::stream::ConfigStream;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ipvsadm_rs::names::disable_host_lookups();
    let mut stream = ConfigStream::new(data);
    let mut lines = 0;
    while let Some(words) = stream.next_command() {
        lines += 1;
        if lines > 64 {
            break;
        }
        let mut argv: Vec<&str> = vec!["ipvsadm"];
        argv.extend(words.iter().map(|w| w.as_ref()));
        let _ = parse(&argv);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(want) = apply::read(&text, "fuzz") {
        // Planning against an empty state must not panic either.
        let empty = ipvsadm_rs::model::Document {
            timeouts: Some(Default::default()),
            daemons: Some(Vec::new()),
            ..Default::default()
        };
        for step in apply::plan(&empty, &want, true) {
            let _ = ipvsadm_rs::lang::render::op_command(&step.op);
        }
    }
});
