//! The `ipvsadm` binary (also `ipvsadm-save` / `ipvsadm-restore` by argv[0]).

fn main() {
    eprintln!("ipvsadm-rs: command line not implemented yet");
    std::process::exit(2);
}
