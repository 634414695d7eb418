//! vexctl: attach embedding vectors to VexFS files and search them.
//!
//! Exit status: 0 success, 1 operational error (the message names the file
//! and the cause), 2 usage error. See `vexctl --help`.
fn main() -> std::process::ExitCode {
    vexfs_tools::vexctl::main()
}
