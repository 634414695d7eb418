//! fsck.vexfs: check a VexFS filesystem and repair what is safe.
//!
//! Exit status (fsck(8)): 0 no errors, 1 errors corrected, 4 errors left
//! uncorrected, 8 operational error (cannot open or read, not VexFS, or a
//! vector store format 1 image: reformat), 16 usage error.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use vexfs_tools::fsimage::fsck::{self, FsckOptions, Repair};

#[derive(Parser, Debug)]
#[command(
    name = "fsck.vexfs",
    bin_name = "fsck.vexfs",
    version,
    about = "Check a VexFS filesystem (e2fsck conventions)",
    after_help = "Without -n, -y or -p the check is read-only, as with -n.\n\
Exit status: 0 clean, 1 errors corrected, 4 errors left uncorrected, 8 operational error (also an image \
of vector store format 1: nothing converts it, reformat), 16 usage error.\n\
Vector store: a file whose chunk set is damaged loses the whole set with -y; stray slots are freed; \
the persisted graph is then rebuilt by the kernel at the next mount.\n\
A journal that needs recovery is replayed by the kernel at mount; fsck.vexfs reports it and exits 4."
)]
struct Args {
    /// Open read-only and answer "no" to every repair
    #[arg(short = 'n', conflicts_with_all = ["yes", "preen"])]
    no: bool,
    /// Repair every problem that is safe to repair
    #[arg(short = 'y', conflicts_with = "preen")]
    yes: bool,
    /// Preen: repair safe problems without questions (same as -y here)
    #[arg(short = 'p', short_alias = 'a')]
    preen: bool,
    /// Force a check even when the filesystem is clean (VexFS always checks fully)
    #[arg(short = 'f')]
    force: bool,
    /// Verbose: also print notes (free-count hints, unclean unmount)
    #[arg(short = 'v')]
    verbose: bool,
    /// Regular file or block device holding the filesystem
    target: PathBuf,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => fsck::EXIT_USAGE as u8,
            };
            return ExitCode::from(code);
        }
    };
    let repair = if args.yes || args.preen { Repair::Yes } else { Repair::No };
    let _ = args.force;
    let opts = FsckOptions { repair, verbose: args.verbose };
    let mut out = std::io::stdout();
    let report = fsck::check(&args.target, opts, &mut out);
    ExitCode::from(report.exit_code as u8)
}
