//! fsck over an image with many files (the inode table is read in bulk).
mod common;
use common::*;

use vexfs_tools::fsimage::fsck::Repair;
use vexfs_tools::fsimage::mkfs::MkfsOptions;

#[test]
fn twenty_thousand_files_check_clean() {
    let o = MkfsOptions { inodes: 40_000, ..Default::default() };
    let t = make_image(256 << 20, &o);
    let mut fs = open_fs(&t.path);
    let mut dirs = Vec::new();
    for d in 0..20 {
        dirs.push(fs.mkdir(2, format!("d{d}").as_bytes()).unwrap());
    }
    for i in 0..20_000u32 {
        let d = dirs[(i % 20) as usize];
        fs.create_file(d, format!("file-{i:06}").as_bytes(), if i % 7 == 0 { b"data" } else { b"" }).unwrap();
    }
    fs.flush().unwrap();
    drop(fs);
    let start = std::time::Instant::now();
    let (r, out) = fsck_lib(&t.path, Repair::No);
    assert_eq!(r.exit_code, 0, "{out}");
    assert!(out.contains("20030/40000 inodes"), "{out}");
    eprintln!("fsck of 20,000 files: {:?}", start.elapsed());
}
