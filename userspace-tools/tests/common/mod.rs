//! Helpers shared by the host tests: make images, build trees, run fsck.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::Command;

use vexfs_tools::fsimage::fsck::{self, FsckOptions, FsckReport, Repair};
use vexfs_tools::fsimage::mkfs::{self, MkfsOptions};
use vexfs_tools::fsimage::{Fs, Image};

pub const MKFS: &str = env!("CARGO_BIN_EXE_mkfs-vexfs");
pub const FSCK: &str = env!("CARGO_BIN_EXE_fsck-vexfs");

pub struct TempImage {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// A sparse file of `bytes` bytes, formatted with `o`.
pub fn make_image(bytes: u64, o: &MkfsOptions) -> TempImage {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vexfs.img");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(bytes).unwrap();
    drop(f);
    let img = Image::open(&path, true).unwrap();
    mkfs::make(&img, o).unwrap();
    TempImage { dir, path }
}

pub fn default_image() -> TempImage {
    make_image(64 << 20, &MkfsOptions::default())
}

pub fn open_fs(p: &Path) -> Fs {
    Fs::open(Image::open(p, true).unwrap()).unwrap()
}

pub fn fsck_lib(p: &Path, repair: Repair) -> (FsckReport, String) {
    let mut out = Vec::new();
    let r = fsck::check(p, FsckOptions { repair, verbose: true }, &mut out);
    (r, String::from_utf8_lossy(&out).into_owned())
}

/// Run the fsck binary: (exit code, stdout + stderr).
pub fn fsck_bin(p: &Path, flags: &[&str]) -> (i32, String) {
    let o = Command::new(FSCK).args(flags).arg(p).output().unwrap();
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.code().unwrap_or(-1), s)
}

pub fn mkfs_bin(args: &[&str]) -> (i32, String) {
    let o = Command::new(MKFS).args(args).output().unwrap();
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stderr));
    (o.status.code().unwrap_or(-1), s)
}

/// Inode numbers of a small tree built by `populate`.
pub struct Tree {
    pub dir_a: u32,
    pub dir_b: u32,
    pub small: u32,
    pub big: u32,
    pub linked: u32,
    pub empty: u32,
}

/// /a, /a/b, /small (100 bytes), /a/big (6 MiB: double indirect), /a/b/linked
/// with a second name /linked2, /empty.
pub fn populate(fs: &mut Fs) -> Tree {
    let root = 2;
    let dir_a = fs.mkdir(root, b"a").unwrap();
    let dir_b = fs.mkdir(dir_a, b"b").unwrap();
    let small = fs.create_file(root, b"small", &[7u8; 100]).unwrap();
    let data: Vec<u8> = (0..6 << 20).map(|i: u32| (i % 251) as u8).collect();
    let big = fs.create_file(dir_a, b"big", &data).unwrap();
    let linked = fs.create_file(dir_b, b"linked", b"hello").unwrap();
    fs.link(root, b"linked2", linked).unwrap();
    let empty = fs.create_file(root, b"empty", b"").unwrap();
    for i in 0..300 {
        fs.create_file(dir_b, format!("many-{i:03}-with-a-longer-name").as_bytes(), b"x").unwrap();
    }
    fs.flush().unwrap();
    Tree { dir_a, dir_b, small, big, linked, empty }
}

pub fn populated_image() -> (TempImage, Tree) {
    let t = default_image();
    let mut fs = open_fs(&t.path);
    let tree = populate(&mut fs);
    drop(fs);
    (t, tree)
}

/// Assert: -n finds the problem (exit 4, output mentions `needle`), -y
/// fixes it (exit 1), and a second -n is clean (exit 0).
pub fn assert_detect_and_repair(p: &Path, needle: &str) {
    let (r, out) = fsck_lib(p, Repair::No);
    assert_eq!(r.exit_code, 4, "fsck -n should report errors; output:\n{out}");
    assert!(out.contains(needle), "fsck -n output lacks '{needle}':\n{out}");
    let (code, out) = fsck_bin(p, &["-n"]);
    assert_eq!(code, 4, "fsck.vexfs -n exit code; output:\n{out}");
    let (code, out_y) = fsck_bin(p, &["-y"]);
    assert_eq!(code, 1, "fsck.vexfs -y should correct; output:\n{out_y}");
    let (code, out2) = fsck_bin(p, &["-n"]);
    assert_eq!(code, 0, "after -y, fsck -n should be clean; -y said:\n{out_y}\nsecond -n said:\n{out2}");
}

/// The graph file (inode 4) as the format lays it out: the graph's own
/// blocks (their count from its header), decoded into words, and the bytes
/// after them (where the int8 quantiser's copy is, when one was written);
/// holes read as zero.
pub fn graph_file(fs: &Fs) -> (Vec<u32>, Vec<u8>) {
    use vexfs_core::format::{BLOCK_SIZE, VEXFS_GRAPH_INO};
    use vexfs_core::hnsw::{decode_block, layout::params_from_header, Geometry};
    let gi = fs.read_inode(VEXFS_GRAPH_INO).unwrap().expect("graph inode");
    let mut data = Vec::new();
    for b in 0..gi.size.div_ceil(BLOCK_SIZE as u64) {
        match fs.bmap(VEXFS_GRAPH_INO, &gi, b).unwrap() {
            0 => data.extend_from_slice(&[0u8; BLOCK_SIZE]),
            p => data.extend_from_slice(&fs.img.read_block(p as u64).unwrap()),
        }
    }
    data.truncate(gi.size as usize);
    let mut head = vec![0u32; BLOCK_SIZE / 4];
    decode_block(&data[..BLOCK_SIZE], 0, &mut head).unwrap();
    let nblocks = Geometry::new(&params_from_header(&head).unwrap()).unwrap().total_blocks();
    let mut words = vec![0u32; nblocks * BLOCK_SIZE / 4];
    for (b, blk) in data[..nblocks * BLOCK_SIZE].chunks_exact(BLOCK_SIZE).enumerate() {
        decode_block(blk, b, &mut words).unwrap();
    }
    (words, data[nblocks * BLOCK_SIZE..].to_vec())
}
