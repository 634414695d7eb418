//! `vexctl`: the VexFS command line (set/get/rm vectors, import, search,
//! range, similar, batch-search, sync, status, stats, config, rebuild) over
//! the ioctl ABI of `shim/uapi/vexfs_ioctl.h`, and `embed` (text to vectors,
//! with the cargo feature `embed`).
pub mod chunker;
pub mod cli;
pub mod cmd;
pub mod embed;
pub mod errors;
pub mod index;
pub mod ioctl;
pub mod output;
pub mod vecfile;

use std::process::ExitCode;

/// vexctl's entry point: 0 success, 1 operational error, 2 usage error.
pub fn main() -> ExitCode {
    use clap::Parser;
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
