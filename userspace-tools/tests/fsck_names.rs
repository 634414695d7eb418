//! Names blocks (RO_COMPAT_LINK_DIRS): mkfs -d and the Fs writer give every
//! hard-linked file one listing its directories and keep i_parent exact;
//! fsck finds each kind of damage to them (-n: exit 4), repairs it (-y:
//! exit 1) from the directories, and the repaired image checks clean.
mod common;
use common::*;

use std::path::Path;

use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::*;
use vexfs_core::format::{bitmap, names};
use vexfs_tools::fsimage::fsck::Repair;
use vexfs_tools::fsimage::Fs;

fn edit_inode(fs: &Fs, ino: u32, f: impl FnOnce(&mut InodeMem)) {
    let mut m = fs.read_inode(ino).unwrap().unwrap();
    f(&mut m);
    fs.write_inode(ino, &m).unwrap();
}

/// Walk a path from the root: the inode number.
fn resolve(fs: &Fs, path: &str) -> u32 {
    let mut ino = VEXFS_ROOT_INO;
    for c in path.split('/') {
        let (_, e) = fs.lookup(ino, c.as_bytes()).unwrap().unwrap_or_else(|| panic!("{path}: no {c}"));
        ino = e.ino;
    }
    ino
}

/// The (directory, names) pairs of `ino`'s names block, which must check
/// against its link count and be marked in the block bitmap.
fn names_of(fs: &Fs, ino: u32) -> Vec<(u32, u32)> {
    let m = fs.read_inode(ino).unwrap().unwrap();
    assert_ne!(m.names_block, 0, "inode {ino} ({} links) has no names block", m.links_count);
    assert_eq!(bitmap::test(&fs.bmap, m.names_block as u64), Some(true), "inode {ino}: names block free in the bitmap");
    let blk = fs.img.read_block(m.names_block as u64).unwrap();
    let mut why = String::new();
    let n = names::check(&blk, ino, m.links_count, fs.geom.inodes_count, &mut why).unwrap_or_else(|_| panic!("{why}"));
    (0..n as usize).map(|i| names::entry(&blk, i).unwrap()).collect()
}

fn sorted(mut v: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    v.sort_unstable();
    v
}

/// A one-link file: no names block, i_parent its directory.
fn assert_single(fs: &Fs, ino: u32, dir: u32) {
    let m = fs.read_inode(ino).unwrap().unwrap();
    assert_eq!((m.links_count, m.names_block, m.parent), (1, 0, dir), "inode {ino}");
}

/// A host tree with hard links: one file in two directories, one with two
/// names in one directory, one in three directories, and a plain file.
fn make_tree(root: &Path) {
    for d in ["d1", "d2", "d3"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("d1/two-dirs"), "in d1 and d2\n").unwrap();
    std::fs::hard_link(root.join("d1/two-dirs"), root.join("d2/two-dirs-too")).unwrap();
    std::fs::write(root.join("d1/same-a"), "twice in d1\n").unwrap();
    std::fs::hard_link(root.join("d1/same-a"), root.join("d1/same-b")).unwrap();
    std::fs::write(root.join("d3/three"), vec![3u8; 10_000]).unwrap();
    std::fs::hard_link(root.join("d3/three"), root.join("d1/three")).unwrap();
    std::fs::hard_link(root.join("d3/three"), root.join("d2/three")).unwrap();
    std::fs::write(root.join("d2/plain"), "one name\n").unwrap();
}

#[test]
fn mkfs_d_lists_hard_links_in_names_blocks() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    make_tree(&src);
    let img = d.path().join("p.img");
    let (code, out) = mkfs_bin(&["-d", src.to_str().unwrap(), img.to_str().unwrap(), "32M"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 hard links"), "{out}");
    let (code, out) = fsck_bin(&img, &["-n", "-f", "-v"]);
    assert_eq!(code, 0, "{out}");

    let fs = open_fs(&img);
    assert!(fs.geom.feature_ro_compat & VEXFS_FEATURE_RO_COMPAT_LINK_DIRS != 0, "new volumes have link_dirs");
    let (d1, d2, d3) = (resolve(&fs, "d1"), resolve(&fs, "d2"), resolve(&fs, "d3"));

    let two = resolve(&fs, "d1/two-dirs");
    assert_eq!(resolve(&fs, "d2/two-dirs-too"), two);
    assert_eq!(names_of(&fs, two), sorted(vec![(d1, 1), (d2, 1)]));
    let same = resolve(&fs, "d1/same-a");
    assert_eq!(resolve(&fs, "d1/same-b"), same);
    assert_eq!(names_of(&fs, same), vec![(d1, 2)]);
    let three = resolve(&fs, "d3/three");
    assert_eq!(names_of(&fs, three), sorted(vec![(d1, 1), (d2, 1), (d3, 1)]));
    for (ino, dirs) in [(two, vec![d1, d2]), (same, vec![d1]), (three, vec![d1, d2, d3])] {
        let m = fs.read_inode(ino).unwrap().unwrap();
        assert!(dirs.contains(&m.parent), "inode {ino}: i_parent {} not among {dirs:?}", m.parent);
    }
    // The names block is not counted in i_blocks: three's data is 3 blocks.
    assert_eq!(fs.read_inode(three).unwrap().unwrap().blocks, 3 * 8);
    assert_single(&fs, resolve(&fs, "d2/plain"), d2);
}

/// The Fs writer: link adds the block with the second name and counts
/// later ones; unlink uncounts them, moves i_parent off a directory that
/// holds no name any more, and frees the block at one name. Every step
/// checks clean.
#[test]
fn fs_link_and_unlink_keep_the_names_block() {
    let t = default_image();
    let mut fs = open_fs(&t.path);
    let a = fs.mkdir(VEXFS_ROOT_INO, b"a").unwrap();
    let b = fs.mkdir(VEXFS_ROOT_INO, b"b").unwrap();
    let f = fs.create_file(a, b"f", b"data").unwrap();
    assert_single(&fs, f, a);
    let clean = |fs: &mut Fs, step: &str| {
        fs.flush().unwrap();
        let (r, out) = fsck_lib(&t.path, Repair::No);
        assert_eq!(r.exit_code, 0, "after {step}: {out}");
    };
    fs.link(b, b"f1", f).unwrap();
    assert_eq!(names_of(&fs, f), vec![(a, 1), (b, 1)]);
    let block = fs.read_inode(f).unwrap().unwrap().names_block;
    clean(&mut fs, "the second name");
    fs.link(b, b"f2", f).unwrap();
    assert_eq!(names_of(&fs, f), vec![(a, 1), (b, 2)]);
    clean(&mut fs, "the third name");
    // i_parent (a) loses its only name there: it moves to b.
    assert_eq!(fs.unlink(a, b"f").unwrap(), f);
    assert_eq!(names_of(&fs, f), vec![(b, 2)]);
    assert_eq!(fs.read_inode(f).unwrap().unwrap().parent, b);
    clean(&mut fs, "unlinking the name in a");
    fs.unlink(b, b"f1").unwrap();
    assert_single(&fs, f, b);
    assert_eq!(bitmap::test(&fs.bmap, block as u64), Some(false), "the names block is freed at one name");
    clean(&mut fs, "unlinking down to one name");
    assert!(fs.unlink(b, b"f2").is_err(), "the last name is not unlinked by this writer");
}

/// A populated image (common::populate: /a/b/linked is also /linked2).
fn linked_image() -> (TempImage, Tree, u32) {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let nb = fs.read_inode(tree.linked).unwrap().unwrap().names_block;
    assert_eq!(names_of(&fs, tree.linked), sorted(vec![(VEXFS_ROOT_INO, 1), (tree.dir_b, 1)]));
    (t, tree, nb)
}

fn assert_linked_repaired(p: &Path, tree: &Tree) {
    let fs = open_fs(p);
    assert_eq!(names_of(&fs, tree.linked), sorted(vec![(VEXFS_ROOT_INO, 1), (tree.dir_b, 1)]));
    let m = fs.read_inode(tree.linked).unwrap().unwrap();
    assert!([VEXFS_ROOT_INO, tree.dir_b].contains(&m.parent), "i_parent {}", m.parent);
}

#[test]
fn names_block_checksum_damaged() {
    let (t, tree, nb) = linked_image();
    let fs = open_fs(&t.path);
    let mut blk = fs.img.read_block(nb as u64).unwrap();
    blk[20] ^= 0x01; // entry 0's directory, not resealed
    fs.img.write_blocks(nb as u64, &blk).unwrap();
    drop(fs);
    assert_detect_and_repair(
        &t.path,
        &format!("inode {} (regular file, 2 names in 2 directories): names block {nb} is damaged: inode {}: names block checksum mismatch", tree.linked, tree.linked),
    );
    assert_linked_repaired(&t.path, &tree);
    assert_eq!(open_fs(&t.path).read_inode(tree.linked).unwrap().unwrap().names_block, nb, "rebuilt in place");
}

/// A sealed, well-formed block that leaves a directory out: the counts
/// still sum to the links, only the comparison with the scan catches it.
#[test]
fn names_block_misses_a_directory() {
    let (t, tree, nb) = linked_image();
    let fs = open_fs(&t.path);
    let mut blk = vec![0u8; BLOCK_SIZE];
    names::init(&mut blk, tree.linked, &[tree.dir_b, tree.dir_b]).unwrap();
    fs.img.write_blocks(nb as u64, &blk).unwrap();
    edit_inode(&fs, tree.linked, |m| m.parent = tree.dir_b);
    drop(fs);
    assert_detect_and_repair(
        &t.path,
        &format!("names block {nb} lists directory {} (2 names), but the directories hold directory 2 (1 name), directory {} (1 name)", tree.dir_b, tree.dir_b),
    );
    assert_linked_repaired(&t.path, &tree);
}

/// A name added behind the block's back (entry and link count, not the
/// block): the block's sum no longer matches.
#[test]
fn name_added_without_the_names_block() {
    let (t, tree, nb) = linked_image();
    let mut fs = open_fs(&t.path);
    fs.add_entry(tree.dir_a, b"linked3", tree.linked, VEXFS_FT_REG_FILE).unwrap();
    edit_inode(&fs, tree.linked, |m| m.links_count = 3);
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("names block {nb} is damaged: inode {}: names block counts 2 names, the inode 3 links", tree.linked));
    let fs = open_fs(&t.path);
    assert_eq!(names_of(&fs, tree.linked), sorted(vec![(VEXFS_ROOT_INO, 1), (tree.dir_a, 1), (tree.dir_b, 1)]));
}

#[test]
fn names_block_on_a_one_link_file() {
    let (t, tree, _) = linked_image();
    let mut fs = open_fs(&t.path);
    let b = fs.alloc_block().unwrap();
    let mut blk = vec![0u8; BLOCK_SIZE];
    names::init(&mut blk, tree.small, &[VEXFS_ROOT_INO, VEXFS_ROOT_INO]).unwrap();
    fs.img.write_blocks(b as u64, &blk).unwrap();
    edit_inode(&fs, tree.small, |m| m.names_block = b);
    fs.flush().unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {} (regular file) has one name, in directory 2, but names block {b}; freeing it", tree.small));
    let fs = open_fs(&t.path);
    assert_single(&fs, tree.small, VEXFS_ROOT_INO);
    assert_eq!(bitmap::test(&fs.bmap, b as u64), Some(false), "the block is freed");
}

#[test]
fn names_block_pointer_zeroed_on_a_two_link_file() {
    let (t, tree, nb) = linked_image();
    let fs = open_fs(&t.path);
    edit_inode(&fs, tree.linked, |m| m.names_block = 0);
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {} (regular file, 2 names in 2 directories): no names block", tree.linked));
    // The old block is unclaimed (pass 6 frees it); a new one is built.
    let (_, out) = fsck_lib(&t.path, Repair::No);
    assert!(!out.contains("names block"), "{out}");
    assert_linked_repaired(&t.path, &tree);
    let _ = nb;
}

#[test]
fn i_parent_names_a_directory_without_a_name() {
    let (t, tree, _) = linked_image();
    let fs = open_fs(&t.path);
    edit_inode(&fs, tree.linked, |m| m.parent = tree.dir_a);
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {} (regular file): i_parent is {}, which holds none of its names", tree.linked, tree.dir_a));
    assert_linked_repaired(&t.path, &tree);
}

#[test]
fn i_parent_of_a_one_link_file_is_exact() {
    let (t, tree, _) = linked_image();
    let fs = open_fs(&t.path);
    edit_inode(&fs, tree.big, |m| m.parent = VEXFS_ROOT_INO);
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {} (regular file): i_parent is 2 but its one name is in directory {}; setting it", tree.big, tree.dir_a));
    assert_single(&open_fs(&t.path), tree.big, tree.dir_a);
}

/// A directory's i_parent is exact on every volume: scoped searches walk it.
#[test]
fn i_parent_of_a_directory_is_its_parent() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    edit_inode(&fs, tree.dir_b, |m| m.parent = VEXFS_ROOT_INO);
    edit_inode(&fs, tree.dir_a, |m| m.parent = 0);
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("directory {}: i_parent is 2 but its parent is directory {}; setting it", tree.dir_b, tree.dir_a));
    let fs = open_fs(&t.path);
    assert_eq!(fs.read_inode(tree.dir_b).unwrap().unwrap().parent, tree.dir_a);
    assert_eq!(fs.read_inode(tree.dir_a).unwrap().unwrap().parent, VEXFS_ROOT_INO);
}

/// The names pointer redirected at another file's data block: that block
/// stays the other file's, and the list is rebuilt in a new block.
#[test]
fn names_block_claimed_by_another_file() {
    let (t, tree, nb) = linked_image();
    let fs = open_fs(&t.path);
    let victim = fs.read_inode(tree.small).unwrap().unwrap().block[0];
    let small_data = fs.img.read_block(victim as u64).unwrap();
    edit_inode(&fs, tree.linked, |m| m.names_block = victim);
    drop(fs);
    assert_detect_and_repair(
        &t.path,
        &format!("inode {}: names block {victim} is also in the block map of inode {}", tree.linked, tree.small),
    );
    assert_linked_repaired(&t.path, &tree);
    let fs = open_fs(&t.path);
    let m = fs.read_inode(tree.linked).unwrap().unwrap();
    assert!(m.names_block != victim, "a new block");
    assert_eq!(fs.img.read_block(victim as u64).unwrap(), small_data, "the other file's block is untouched");
    let _ = nb;
}

/// A volume without the feature: i_parent is a hint and no inode may point
/// at a names block; fsck zeroes the pointer and does not add the bit.
#[test]
fn names_block_without_the_feature_is_zeroed() {
    let (t, tree, nb) = linked_image();
    let mut fs = open_fs(&t.path);
    let off = core::mem::offset_of!(vexfs_super_block, s_feature_ro_compat);
    let ro = fs.geom.feature_ro_compat & !VEXFS_FEATURE_RO_COMPAT_LINK_DIRS;
    fs.sb_block[off..off + 4].copy_from_slice(&ro.to_le_bytes());
    fs.geom.feature_ro_compat = ro;
    // A hint may be anything: not reported.
    edit_inode(&fs, tree.big, |m| m.parent = VEXFS_ROOT_INO);
    fs.flush().unwrap();
    drop(fs);
    assert_detect_and_repair(
        &t.path,
        &format!("inode {} (regular file): i_names_block is {nb} but the volume lacks the link_dirs feature; zeroing it", tree.linked),
    );
    let fs = open_fs(&t.path);
    assert_eq!(fs.geom.feature_ro_compat & VEXFS_FEATURE_RO_COMPAT_LINK_DIRS, 0);
    assert_eq!(fs.read_inode(tree.linked).unwrap().unwrap().names_block, 0);
    assert_eq!(bitmap::test(&fs.bmap, nb as u64), Some(false), "the old names block is freed");
}

/// A hard-linked file that lost both names goes to /lost+found with one:
/// its names block goes, i_parent names lost+found.
#[test]
fn relinked_hard_link_loses_its_names_block() {
    let (t, tree, nb) = linked_image();
    let mut fs = open_fs(&t.path);
    fs.remove_entry(tree.dir_b, b"linked").unwrap();
    fs.remove_entry(VEXFS_ROOT_INO, b"linked2").unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {} (regular file, 5 bytes) has no name", tree.linked));
    let fs = open_fs(&t.path);
    let (_, lf) = fs.lookup(VEXFS_ROOT_INO, b"lost+found").unwrap().unwrap();
    assert_single(&fs, tree.linked, lf.ino);
    assert_eq!(bitmap::test(&fs.bmap, nb as u64), Some(false), "the names block is freed");
}
