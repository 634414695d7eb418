//! Hash-indexed directories on images built by the host writer: fsck finds
//! them clean at 100,000 names, and finds and repairs damage to the index.
mod common;
use common::*;

use vexfs_core::format::defs::vexfs_super_block;
use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::*;
use vexfs_core::format::{dir, dx};
use vexfs_tools::fsimage::fsck::Repair;
use vexfs_tools::fsimage::mkfs::MkfsOptions;
use vexfs_tools::fsimage::Fs;

fn name(i: u32) -> Vec<u8> {
    format!("entry-{i:06}.txt").into_bytes()
}

/// An image with directory /big holding `n` empty files: (image, dir ino).
fn image_with_big_dir(n: u32) -> (TempImage, u32) {
    let o = MkfsOptions { inodes: n + 1000, ..Default::default() };
    let t = make_image(256 << 20, &o);
    let mut fs = open_fs(&t.path);
    let d = fs.mkdir(2, b"big").unwrap();
    for i in 0..n {
        fs.create_file(d, &name(i), b"").unwrap();
    }
    fs.flush().unwrap();
    (t, d)
}

fn dir_inode(fs: &Fs, d: u32) -> InodeMem {
    fs.read_inode(d).unwrap().unwrap()
}

/// Disk block of file block `i` of directory `d`.
fn dir_block(fs: &Fs, d: u32, i: u64) -> u32 {
    let m = dir_inode(fs, d);
    fs.bmap(d, &m, i).unwrap()
}

fn all_present(fs: &Fs, d: u32, n: u32) {
    for i in 0..n {
        assert!(fs.lookup(d, &name(i)).unwrap().is_some(), "name {i} lost");
    }
}

#[test]
fn hundred_thousand_names_check_clean() {
    let n = 100_000;
    let start = std::time::Instant::now();
    let (t, d) = image_with_big_dir(n);
    let built = start.elapsed();
    let fs = open_fs(&t.path);
    let m = dir_inode(&fs, d);
    assert_eq!(m.dir_depth, 2);
    assert!(fs.geom.feature_ro_compat & VEXFS_FEATURE_RO_COMPAT_DIR_INDEX != 0);
    for i in (0..n).step_by(997) {
        assert!(fs.lookup(d, &name(i)).unwrap().is_some());
    }
    assert!(fs.lookup(d, b"absent").unwrap().is_none());
    assert_eq!(fs.lookup(d, b"..").unwrap().unwrap().1.ino, 2);
    drop(fs);
    let start = std::time::Instant::now();
    let (r, out) = fsck_lib(&t.path, Repair::No);
    assert_eq!(r.exit_code, 0, "{out}");
    assert!(out.contains(&format!("{n} names, checked")), "{out}");
    eprintln!(
        "100,000-name directory: built in {built:?} ({} blocks, depth {}), fsck in {:?}",
        m.size / 4096,
        m.dir_depth,
        start.elapsed()
    );
    // Unlink and re-add through the index keeps it clean.
    let mut fs = open_fs(&t.path);
    let mut inos = std::collections::HashMap::new();
    for i in (0..n).step_by(2) {
        inos.insert(i, fs.remove_entry(d, &name(i)).unwrap());
    }
    for i in (0..n).step_by(4) {
        fs.add_entry(d, &name(i), inos[&i], VEXFS_FT_REG_FILE).unwrap();
    }
    for i in 0..n {
        assert_eq!(fs.lookup(d, &name(i)).unwrap().is_some(), i % 2 == 1 || i % 4 == 0);
    }
    drop(fs);
    let (r, out) = fsck_lib(&t.path, Repair::No);
    // Removed names left their inodes unnamed: fsck reports those, but not
    // the index.
    assert!(!out.contains("damaged hash index") && out.contains("75000 names, checked"), "{out}");
    assert!(r.exit_code == 4 && out.contains("has no name"), "exit {}: {}", r.exit_code, &out[out.len().saturating_sub(2000)..]);
}

#[test]
fn damaged_root_converts_to_linear() {
    let n = 3000;
    let (t, d) = image_with_big_dir(n);
    let fs = open_fs(&t.path);
    assert_eq!(dir_inode(&fs, d).dir_depth, 1);
    // Bad level count in the root, resealed so the block checksum is fine.
    let b0 = dir_block(&fs, d, 0);
    let mut blk = fs.img.read_block(b0 as u64).unwrap();
    blk[VEXFS_DX_ROOT_INFO_OFFSET as usize + 6] = 3;
    dir::seal(&mut blk, d).unwrap();
    fs.img.write_blocks(b0 as u64, &blk).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, "damaged hash index");
    let fs = open_fs(&t.path);
    assert_eq!(dir_inode(&fs, d).dir_depth, 0);
    all_present(&fs, d, n);
}

#[test]
fn name_in_the_wrong_leaf_is_found() {
    let n = 3000;
    let (t, d) = image_with_big_dir(n);
    let fs = open_fs(&t.path);
    // Move one name from its leaf into another leaf.
    let (from, e) = fs.lookup(d, &name(17)).unwrap().unwrap();
    let m = dir_inode(&fs, d);
    let mut to = 0;
    for i in 1..m.size / 4096 {
        let b = fs.bmap(d, &m, i).unwrap();
        if b != from && !dx::is_node(&fs.img.read_block(b as u64).unwrap()) {
            to = b;
            break;
        }
    }
    let mut src = fs.img.read_block(from as u64).unwrap();
    dir::remove(&mut src, d, e.rec_offset).unwrap();
    fs.img.write_blocks(from as u64, &src).unwrap();
    let mut dst = fs.img.read_block(to as u64).unwrap();
    dir::add(&mut dst, d, &name(17), e.ino, VEXFS_FT_REG_FILE).unwrap();
    fs.img.write_blocks(to as u64, &dst).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, "outside its key range");
    all_present(&open_fs(&t.path), d, n);
}

#[test]
fn damaged_index_node_and_unreferenced_leaf() {
    let n = 45_000;
    let (t, d) = image_with_big_dir(n);
    let fs = open_fs(&t.path);
    let m = dir_inode(&fs, d);
    assert_eq!(m.dir_depth, 2);
    // Drop the last entry of the first index node: its leaf is then
    // referenced by nobody.
    let root = fs.img.read_block(dir_block(&fs, d, 0) as u64).unwrap();
    let node_fb = dx::entry(&root, dx::Kind::Root, 0).unwrap().block;
    let nb = dir_block(&fs, d, node_fb as u64);
    let mut node = fs.img.read_block(nb as u64).unwrap();
    let (_, count) = dx::node_info(&node, &mut String::new()).unwrap();
    let off = VEXFS_DX_NODE_INFO_OFFSET as usize + 10;
    node[off..off + 2].copy_from_slice(&((count - 1) as u16).to_le_bytes());
    dir::seal(&mut node, d).unwrap();
    fs.img.write_blocks(nb as u64, &node).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, "is not referenced by the index");
    all_present(&open_fs(&t.path), d, n);
}

#[test]
fn missing_feature_bit_is_set() {
    let (t, d) = image_with_big_dir(600);
    let mut fs = open_fs(&t.path);
    assert_eq!(dir_inode(&fs, d).dir_depth, 1);
    let off = core::mem::offset_of!(vexfs_super_block, s_feature_ro_compat);
    fs.sb_block[off..off + 4].copy_from_slice(&0u32.to_le_bytes());
    fs.geom.feature_ro_compat = 0;
    fs.flush().unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, "lacks the dir_index feature");
}

#[test]
fn linear_directories_stay_linear_when_indexing_is_off() {
    let o = MkfsOptions::default();
    let t = make_image(64 << 20, &o);
    let mut fs = open_fs(&t.path);
    fs.dir_index = false;
    let d = fs.mkdir(2, b"lin").unwrap();
    for i in 0..2000 {
        fs.create_file(d, &name(i), b"").unwrap();
    }
    fs.flush().unwrap();
    assert_eq!(dir_inode(&fs, d).dir_depth, 0);
    assert!(dir_inode(&fs, d).size > 4 * 4096);
    // A later writer with indexing on keeps a multi-block linear directory
    // linear (only one-block directories convert).
    fs.dir_index = true;
    fs.create_file(d, b"one-more", b"").unwrap();
    assert_eq!(dir_inode(&fs, d).dir_depth, 0);
    fs.flush().unwrap();
    drop(fs);
    let (r, out) = fsck_lib(&t.path, Repair::No);
    assert_eq!(r.exit_code, 0, "{out}");
}
