//! The `ipvsadm` binary (also `ipvsadm-save` / `ipvsadm-restore` by argv[0]).

fn main() {
    std::process::exit(ipvsadm_rs::cli::main());
}
