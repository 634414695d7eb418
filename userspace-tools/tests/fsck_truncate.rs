//! fsck and blocks mapped past EOF: a truncate a crash cut short
//! (TRUNCATING) is finished by -y; without TRUNCATING or EOFBLOCKS the
//! blocks are an error fsck reports and leaves; with EOFBLOCKS they are
//! legitimate. Also the reserved inode fields (i_xattr_block, i_orphan_next).
mod common;
use common::*;

use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::*;
use vexfs_core::format::bitmap;
use vexfs_tools::fsimage::fsck::Repair;
use vexfs_tools::fsimage::Fs;

const BS: u64 = 4096;

fn edit_inode(fs: &Fs, ino: u32, f: impl FnOnce(&mut InodeMem)) {
    let mut m = fs.read_inode(ino).unwrap().unwrap();
    f(&mut m);
    fs.write_inode(ino, &m).unwrap();
}

/// Every block of the file (data and indirect), as the bitmap must hold them.
fn file_blocks(fs: &Fs, ino: u32) -> Vec<u32> {
    let m = fs.read_inode(ino).unwrap().unwrap();
    let mut v = Vec::new();
    for i in 0..m.size.div_ceil(BS) {
        let b = fs.bmap(ino, &m, i).unwrap();
        if b != 0 {
            v.push(b);
        }
    }
    for slot in [VEXFS_IND_BLOCK, VEXFS_DIND_BLOCK, VEXFS_TIND_BLOCK] {
        if m.block[slot as usize] != 0 {
            v.push(m.block[slot as usize]);
        }
    }
    v
}

/// The state a crash leaves after the transaction that shrank `ino` to
/// `size` and before the first block was freed.
fn cut_truncate(fs: &Fs, ino: u32, size: u64, flags: u32) {
    edit_inode(fs, ino, |m| {
        m.size = size;
        m.flags |= flags;
    });
}

#[test]
fn interrupted_truncate_to_one_block_is_finished() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let before = fs.read_inode(tree.big).unwrap().unwrap();
    assert_ne!(before.block[VEXFS_DIND_BLOCK as usize], 0);
    let old_blocks = file_blocks(&fs, tree.big);
    let first = fs.img.read_block(before.block[0] as u64).unwrap();
    cut_truncate(&fs, tree.big, 5000, VEXFS_INODE_FL_TRUNCATING);
    drop(fs);
    assert_detect_and_repair(&t.path, "mapped past EOF (file block 2 on): a truncate was in progress (TRUNCATING)");

    let fs = open_fs(&t.path);
    let m = fs.read_inode(tree.big).unwrap().unwrap();
    assert_eq!(m.size, 5000);
    assert_eq!(m.flags & (VEXFS_INODE_FL_TRUNCATING | VEXFS_INODE_FL_EOFBLOCKS), 0);
    assert_eq!(m.block[0], before.block[0]);
    assert_eq!(m.block[1], before.block[1], "block 1 holds bytes 4096..5000: kept");
    assert!(m.block[2..].iter().all(|&b| b == 0), "{:?}", m.block);
    assert_eq!(m.blocks, 2 * 8);
    assert_eq!(fs.img.read_block(m.block[0] as u64).unwrap(), first, "kept data unchanged");
    for b in &old_blocks[2..] {
        assert_eq!(bitmap::test(&fs.bmap, *b as u64), Some(false), "block {b} should be free");
    }
}

#[test]
fn interrupted_truncate_inside_the_indirect_tree_is_finished() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let before = fs.read_inode(tree.big).unwrap().unwrap();
    // Keep file blocks 0..=512 (12 direct + 501 under the single indirect block).
    let size = 512 * BS + 1;
    let kept: Vec<u32> = (0..513).map(|i| fs.bmap(tree.big, &before, i).unwrap()).collect();
    let gone: Vec<u32> = (513..before.size.div_ceil(BS)).map(|i| fs.bmap(tree.big, &before, i).unwrap()).collect();
    cut_truncate(&fs, tree.big, size, VEXFS_INODE_FL_TRUNCATING);
    drop(fs);
    assert_detect_and_repair(&t.path, "mapped past EOF (file block 513 on)");

    let fs = open_fs(&t.path);
    let m = fs.read_inode(tree.big).unwrap().unwrap();
    assert_eq!(m.block[VEXFS_IND_BLOCK as usize], before.block[VEXFS_IND_BLOCK as usize], "single indirect kept");
    assert_eq!(m.block[VEXFS_DIND_BLOCK as usize], 0, "double indirect tree wholly past EOF: dropped");
    for (i, b) in kept.iter().enumerate() {
        assert_eq!(fs.bmap(tree.big, &m, i as u64).unwrap(), *b, "file block {i}");
    }
    for i in 513..1100 {
        assert_eq!(fs.bmap(tree.big, &m, i).unwrap(), 0, "file block {i} should be unmapped");
    }
    assert_eq!(m.blocks, (513 + 1) * 8, "513 data blocks and the single indirect block");
    for b in gone {
        assert_eq!(bitmap::test(&fs.bmap, b as u64), Some(false), "block {b} should be free");
    }
}

#[test]
fn blocks_past_eof_without_a_flag_are_reported_not_freed() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    cut_truncate(&fs, tree.big, 5000, 0);
    drop(fs);
    let (r, out) = fsck_lib(&t.path, Repair::No);
    assert_eq!(r.exit_code, 4, "{out}");
    assert!(out.contains("mapped past EOF (file block 2 on), without EOFBLOCKS"), "{out}");
    let (code, out) = fsck_bin(&t.path, &["-y"]);
    assert_eq!(code, 4, "not fixable: {out}");
    assert!(out.contains("cannot be fixed"), "{out}");
    let fs = open_fs(&t.path);
    let m = fs.read_inode(tree.big).unwrap().unwrap();
    assert_ne!(m.block[VEXFS_DIND_BLOCK as usize], 0, "left alone");
}

#[test]
fn eofblocks_makes_blocks_past_eof_legitimate() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    cut_truncate(&fs, tree.big, 5000, VEXFS_INODE_FL_EOFBLOCKS);
    drop(fs);
    let (r, out) = fsck_lib(&t.path, Repair::No);
    assert_eq!(r.exit_code, 0, "{out}");
}

#[test]
fn every_file_type_with_a_block_map_is_checked() {
    // A long symlink (target in a block) with a second block mapped past its target.
    let (t, _) = populated_image();
    let mut fs = open_fs(&t.path);
    let (ino, mut m) = fs.new_inode(vexfs_core::format::defs::mode::S_IFLNK | 0o777).unwrap();
    let target = vec![b'x'; 100];
    fs.write_data(ino, &mut m, 0, &target).unwrap();
    m.links_count = 1;
    m.parent = 2; // its one name is in the root (exact on link_dirs volumes)
    fs.write_inode(ino, &m).unwrap();
    fs.add_entry(2, b"longlink", ino, VEXFS_FT_SYMLINK).unwrap();
    fs.flush().unwrap();
    let (r, out) = fsck_lib(&t.path, Repair::No);
    assert_eq!(r.exit_code, 0, "{out}");
    let mut m = fs.read_inode(ino).unwrap().unwrap();
    fs.write_data(ino, &mut m, BS, b"stale").unwrap();
    m.size = 100;
    fs.write_inode(ino, &m).unwrap();
    fs.flush().unwrap();
    drop(fs);
    let (r, out) = fsck_lib(&t.path, Repair::No);
    assert_eq!(r.exit_code, 4, "{out}");
    assert!(out.contains(&format!("inode {ino} (symlink, 100 bytes): 1 blocks mapped past EOF (file block 1 on)")), "{out}");
}

#[test]
fn truncating_flag_with_nothing_past_eof_is_cleared() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    edit_inode(&fs, tree.small, |m| m.flags |= VEXFS_INODE_FL_TRUNCATING);
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {}: flagged as being truncated, but nothing is mapped past EOF", tree.small));
    let fs = open_fs(&t.path);
    let m = fs.read_inode(tree.small).unwrap().unwrap();
    assert_eq!(m.flags & VEXFS_INODE_FL_TRUNCATING, 0);
    assert_eq!(m.size, 100);
}

#[test]
fn reserved_inode_fields_are_zeroed() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    let spare = fs.alloc_block().unwrap();
    write_bitmaps(&fs);
    edit_inode(&fs, tree.small, |m| {
        m.xattr_block = spare;
        m.orphan_next = 5;
    });
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {}: reserved fields are not zero (i_xattr_block {spare}, i_orphan_next 5)", tree.small));
    let fs = open_fs(&t.path);
    let m = fs.read_inode(tree.small).unwrap().unwrap();
    assert_eq!((m.xattr_block, m.orphan_next), (0, 0));
    assert_eq!(bitmap::test(&fs.bmap, spare as u64), Some(false), "the block it named is nobody's: freed");
}

fn write_bitmaps(fs: &Fs) {
    let g = &fs.geom;
    fs.img.write_blocks(g.inode_bitmap_start as u64, &fs.imap).unwrap();
    fs.img.write_blocks(g.block_bitmap_start as u64, &fs.bmap).unwrap();
}
