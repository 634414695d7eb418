//! fsck finds each class of damage in a populated image (-n: exit 4), repairs
//! it (-y: exit 1), and the repaired image checks clean (exit 0).
mod common;
use common::*;

use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::*;
use vexfs_core::format::{bitmap, dir, journal};
use vexfs_tools::fsimage::fsck::Repair;
use vexfs_tools::fsimage::Fs;

fn edit_inode(fs: &Fs, ino: u32, f: impl FnOnce(&mut InodeMem)) {
    let mut m = fs.read_inode(ino).unwrap().unwrap();
    f(&mut m);
    fs.write_inode(ino, &m).unwrap();
}

/// Write the bitmaps only (superblock free counts untouched).
fn write_bitmaps(fs: &Fs) {
    let g = &fs.geom;
    fs.img.write_blocks(g.inode_bitmap_start as u64, &fs.imap).unwrap();
    fs.img.write_blocks(g.block_bitmap_start as u64, &fs.bmap).unwrap();
}

#[test]
fn populated_image_is_clean() {
    let (t, tree) = populated_image();
    let (r, out) = fsck_lib(&t.path, Repair::No);
    assert_eq!(r.exit_code, 0, "{out}");
    let fs = open_fs(&t.path);
    let big = fs.read_inode(tree.big).unwrap().unwrap();
    assert_ne!(big.block[VEXFS_DIND_BLOCK as usize], 0, "the big file should use the double indirect level");
    let b = fs.read_inode(tree.dir_b).unwrap().unwrap();
    assert!(b.size > 4096, "dir b should span several blocks");
    let (code, out) = fsck_bin(&t.path, &["-y"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn block_bitmap_used_but_unmarked() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    let b = fs.read_inode(tree.small).unwrap().unwrap().block[0];
    bitmap::clear(&mut fs.bmap, b as u64);
    write_bitmaps(&fs);
    assert_detect_and_repair(&t.path, "block bitmap differs");
}

#[test]
fn block_bitmap_marked_but_unused() {
    let (t, _) = populated_image();
    let mut fs = open_fs(&t.path);
    let free = bitmap::find_zero(&fs.bmap, fs.geom.data_start as u64, fs.geom.blocks_count).unwrap();
    bitmap::set(&mut fs.bmap, free);
    write_bitmaps(&fs);
    assert_detect_and_repair(&t.path, "marked in use but free");
}

#[test]
fn inode_bitmap_mismatch() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    bitmap::clear(&mut fs.imap, (tree.linked - 1) as u64);
    bitmap::set(&mut fs.imap, (fs.geom.inodes_count - 1) as u64);
    write_bitmaps(&fs);
    assert_detect_and_repair(&t.path, "inode bitmap differs");
}

#[test]
fn inode_with_no_name_goes_to_lost_found() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    fs.remove_entry(tree.dir_a, b"big").unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {} (regular file, 6291456 bytes) has no name", tree.big));
    let fs = open_fs(&t.path);
    let (_, lf) = fs.lookup(2, b"lost+found").unwrap().unwrap();
    let (_, e) = fs.lookup(lf.ino, format!("#{}", tree.big).as_bytes()).unwrap().unwrap();
    assert_eq!(e.ino, tree.big);
}

#[test]
fn unreachable_directory_goes_to_lost_found() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    fs.remove_entry(2, b"a").unwrap();
    edit_inode(&fs, 2, |m| m.links_count -= 1);
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {} (directory", tree.dir_a));
    let fs = open_fs(&t.path);
    let (_, lf) = fs.lookup(2, b"lost+found").unwrap().unwrap();
    let (_, e) = fs.lookup(lf.ino, format!("#{}", tree.dir_a).as_bytes()).unwrap().unwrap();
    assert_eq!(e.ino, tree.dir_a);
    let (_, dd) = fs.lookup(tree.dir_a, b"..").unwrap().unwrap();
    assert_eq!(dd.ino, lf.ino);
}

#[test]
fn empty_inode_with_no_name_is_cleared() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    fs.remove_entry(2, b"empty").unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, "it is empty, clearing it");
    let fs = open_fs(&t.path);
    assert!(fs.read_inode(tree.empty).unwrap().is_none());
}

#[test]
fn entry_pointing_at_free_inode() {
    let (t, _) = populated_image();
    let mut fs = open_fs(&t.path);
    let free = bitmap::find_zero(&fs.imap, 20, fs.geom.inodes_count as u64).unwrap() as u32 + 1;
    fs.add_entry(2, b"ghost", free, VEXFS_FT_REG_FILE).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("entry 'ghost' in directory 2 points at free inode {free}"));
    assert!(open_fs(&t.path).lookup(2, b"ghost").unwrap().is_none());
}

#[test]
fn wrong_link_counts() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    edit_inode(&fs, tree.linked, |m| m.links_count = 1);
    edit_inode(&fs, tree.dir_a, |m| m.links_count = 7);
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {} (regular file): link count 1 but 2 names found", tree.linked));
    let fs = open_fs(&t.path);
    assert_eq!(fs.read_inode(tree.dir_a).unwrap().unwrap().links_count, 3);
}

#[test]
fn blocks_claimed_twice_are_reported() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let shared = fs.read_inode(tree.small).unwrap().unwrap().block[0];
    edit_inode(&fs, tree.linked, |m| m.block[0] = shared);
    drop(fs);
    let (r, out) = fsck_lib(&t.path, Repair::No);
    assert_eq!(r.exit_code, 4, "{out}");
    assert!(
        out.contains(&format!("block {shared} is claimed more than once (by inode {}, inode {})", tree.small, tree.linked)),
        "{out}"
    );
    // Not repairable: -y leaves it (exit 4), and the rest stays consistent.
    let (code, out) = fsck_bin(&t.path, &["-y"]);
    assert_eq!(code, 4, "{out}");
}

#[test]
fn orphan_is_freed() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    // Unlinked while open, then a crash: no name, links 0, still in use.
    fs.remove_entry(tree.dir_a, b"big").unwrap();
    edit_inode(&fs, tree.big, |m| m.links_count = 0);
    let blocks_before = bitmap::count_set(&fs.bmap, fs.geom.blocks_count);
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {} (regular file, 6291456 bytes) is an orphan", tree.big));
    let fs = open_fs(&t.path);
    assert!(fs.read_inode(tree.big).unwrap().is_none());
    let blocks_after = bitmap::count_set(&fs.bmap, fs.geom.blocks_count);
    assert!(blocks_before - blocks_after > 1536, "the orphan's blocks were not freed");
}

#[test]
fn damaged_directory_block() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let m = fs.read_inode(tree.dir_b).unwrap().unwrap();
    let b = m.block[1];
    let mut blk = fs.img.read_block(b as u64).unwrap();
    blk[100] ^= 0xff;
    fs.img.write_blocks(b as u64, &blk).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("directory {} block 1 (disk block {b}) is damaged", tree.dir_b));
}

#[test]
fn wrong_i_blocks() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    edit_inode(&fs, tree.big, |m| m.blocks += 8);
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {}: i_blocks", tree.big));
}

#[test]
fn dirent_file_type_mismatch() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let (b, e) = fs.lookup(2, b"small").unwrap().unwrap();
    let mut blk = fs.img.read_block(b as u64).unwrap();
    dir::retarget(&mut blk, 2, e.rec_offset, tree.small, VEXFS_FT_SYMLINK).unwrap();
    fs.img.write_blocks(b as u64, &blk).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, "entry 'small' in directory 2: file type 7 but inode");
}

#[test]
fn wrong_dotdot() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let (b, e) = fs.lookup(tree.dir_b, b"..").unwrap().unwrap();
    let mut blk = fs.img.read_block(b as u64).unwrap();
    dir::retarget(&mut blk, tree.dir_b, e.rec_offset, 2, VEXFS_FT_DIR).unwrap();
    fs.img.write_blocks(b as u64, &blk).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("'..' is inode 2, should be {}", tree.dir_a));
}

#[test]
fn directory_with_two_names() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    fs.add_entry(2, b"b-again", tree.dir_b, VEXFS_FT_DIR).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("directory {} already has a name", tree.dir_b));
}

#[test]
fn inode_checksum_only() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let mut raw = fs.read_inode_raw(tree.small).unwrap();
    let off = core::mem::offset_of!(vexfs_inode, i_checksum);
    raw[off] ^= 0x5a;
    fs.write_inode_raw(tree.small, &raw).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {}: checksum is wrong but the fields are valid", tree.small));
}

#[test]
fn damaged_inode_is_cleared_and_unnamed() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let mut raw = fs.read_inode_raw(tree.small).unwrap();
    raw[0] = 0xff; // mode
    raw[1] = 0xff;
    raw[2] = 0x01; // links
    fs.write_inode_raw(tree.small, &raw).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {} is damaged", tree.small));
    let fs = open_fs(&t.path);
    assert!(fs.read_inode(tree.small).unwrap().is_none());
    assert!(fs.lookup(2, b"small").unwrap().is_none());
}

#[test]
fn free_inode_not_zero() {
    let (t, _) = populated_image();
    let fs = open_fs(&t.path);
    let free = bitmap::find_zero(&fs.imap, 20, fs.geom.inodes_count as u64).unwrap() as u32 + 1;
    fs.write_inode_raw(free, &[0x33; 256]).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("free inode {free} is not zero"));
}

#[test]
fn bad_indirect_pointer() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let m = fs.read_inode(tree.big).unwrap().unwrap();
    let ind = m.block[VEXFS_IND_BLOCK as usize];
    let mut blk = fs.img.read_block(ind as u64).unwrap();
    // Inside the metadata, in a block resealed to match: the range check
    // is what must catch it.
    bmap::indirect_set_sealed(&mut blk, 10, 5).unwrap();
    fs.img.write_blocks(ind as u64, &blk).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("inode {}: block pointer 5 outside the data area", tree.big));
}

/// A pointer in an indirect block redirected to another file's data block,
/// the block not resealed: the checksum catches it. The repair clears that
/// entry (its block is the other file's), keeps the others, reseals the
/// block, and leaves the other file as it was.
#[test]
fn redirected_indirect_pointer() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let small = fs.read_inode(tree.small).unwrap().unwrap();
    let victim = small.block[0];
    let small_data = fs.img.read_block(victim as u64).unwrap();
    let m = fs.read_inode(tree.big).unwrap().unwrap();
    let ind = m.block[VEXFS_IND_BLOCK as usize];
    let before = fs.img.read_block(ind as u64).unwrap();
    let mut blk = before.clone();
    bmap::indirect_set(&mut blk, 3, victim).unwrap();
    fs.img.write_blocks(ind as u64, &blk).unwrap();
    drop(fs);
    assert_detect_and_repair(
        &t.path,
        &format!("inode {}: block {ind}, its level 1 indirect block: indirect block checksum mismatch", tree.big),
    );
    let (code, out) = fsck_bin(&t.path, &["-n"]);
    assert_eq!(code, 0, "{out}");
    let fs = open_fs(&t.path);
    let m = fs.read_inode(tree.big).unwrap().unwrap();
    assert_eq!(m.block[VEXFS_IND_BLOCK as usize], ind);
    let after = fs.img.read_block(ind as u64).unwrap();
    bmap::indirect_check(&after, tree.big, 1, &mut String::new()).unwrap();
    assert_eq!(bmap::indirect_get(&after, 3), Some(0), "the redirected entry is cleared");
    for idx in (0..VEXFS_ADDR_PER_BLOCK).filter(|&i| i != 3) {
        assert_eq!(bmap::indirect_get(&after, idx), bmap::indirect_get(&before, idx), "entry {idx} kept");
    }
    assert_eq!(fs.read_inode(tree.small).unwrap().unwrap().block[0], victim);
    assert_eq!(fs.img.read_block(victim as u64).unwrap(), small_data);
}

/// Damage to the checksum word alone: every entry is sound, all are kept.
#[test]
fn indirect_checksum_word_only() {
    let (t, tree) = populated_image();
    let fs = open_fs(&t.path);
    let m = fs.read_inode(tree.big).unwrap().unwrap();
    let dind = m.block[VEXFS_DIND_BLOCK as usize];
    let before = fs.img.read_block(dind as u64).unwrap();
    let mut blk = before.clone();
    blk[4095] ^= 0x40;
    fs.img.write_blocks(dind as u64, &blk).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, "its level 2 indirect block: indirect block checksum mismatch");
    let fs = open_fs(&t.path);
    assert_eq!(fs.img.read_block(dind as u64).unwrap(), before, "resealed as it was");
}

/// An indirect block of one file put in another file's map (its own
/// checksum is valid): refused by owner, and each file's blocks stay its own.
#[test]
fn indirect_block_of_another_inode() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    let other = fs.create_file(tree.dir_a, b"other-big", &vec![7u8; 40 * 4096]).unwrap();
    fs.flush().unwrap();
    let theirs = fs.read_inode(other).unwrap().unwrap().block[VEXFS_IND_BLOCK as usize];
    let mut m = fs.read_inode(tree.big).unwrap().unwrap();
    m.block[VEXFS_IND_BLOCK as usize] = theirs;
    fs.write_inode(tree.big, &m).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, &format!("indirect block of inode {other}, not of inode {}", tree.big));
    let fs = open_fs(&t.path);
    assert_eq!(fs.read_inode(other).unwrap().unwrap().block[VEXFS_IND_BLOCK as usize], theirs);
}

#[test]
fn journal_superblock_damaged() {
    let (t, _) = populated_image();
    let fs = open_fs(&t.path);
    let js = fs.geom.journal_start as u64;
    let mut blk = fs.img.read_block(js).unwrap();
    blk[0] = 0;
    fs.img.write_blocks(js, &blk).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, "journal superblock at block");
}

#[test]
fn journal_needing_recovery_is_reported() {
    let (t, _) = populated_image();
    let fs = open_fs(&t.path);
    let js = fs.geom.journal_start as u64;
    let mut blk = fs.img.read_block(js).unwrap();
    // s_start: an absolute log block number, inside the journal region.
    blk[0x1c..0x20].copy_from_slice(&(fs.geom.journal_start + 3).to_be_bytes());
    fs.img.write_blocks(js, &blk).unwrap();
    let mut why = String::new();
    assert!(journal::validate(&blk, fs.geom.journal_start, fs.geom.journal_blocks, &[0; 16], &mut why).unwrap().needs_recovery());
    drop(fs);
    for flags in [&["-n"][..], &["-y"][..]] {
        let (code, out) = fsck_bin(&t.path, flags);
        assert_eq!(code, 4, "{out}");
        assert!(out.contains("replay"), "{out}");
    }
}

#[test]
fn error_state_is_cleared() {
    let (t, _) = populated_image();
    let mut fs = open_fs(&t.path);
    fs.geom.state = VEXFS_STATE_ERROR;
    fs.flush().unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, "marked as having errors");
}

#[test]
fn several_problems_at_once() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    fs.remove_entry(tree.dir_a, b"big").unwrap();
    edit_inode(&fs, tree.linked, |m| m.links_count = 9);
    let b = fs.read_inode(tree.small).unwrap().unwrap().block[0];
    bitmap::clear(&mut fs.bmap, b as u64);
    write_bitmaps(&fs);
    let free = bitmap::find_zero(&fs.imap, 20, fs.geom.inodes_count as u64).unwrap() as u32 + 1;
    fs.add_entry(tree.dir_b, b"ghost", free, VEXFS_FT_REG_FILE).unwrap();
    drop(fs);
    let (r, out) = fsck_lib(&t.path, Repair::No);
    assert!(r.left >= 4, "{out}");
    assert_detect_and_repair(&t.path, "has no name");
}

#[test]
fn orphan_after_relink_frees_its_blocks() {
    let (t, tree) = populated_image();
    let mut fs = open_fs(&t.path);
    // small (lower inode number) loses its name; big becomes an orphan.
    fs.remove_entry(2, b"small").unwrap();
    fs.remove_entry(tree.dir_a, b"big").unwrap();
    edit_inode(&fs, tree.big, |m| m.links_count = 0);
    drop(fs);
    assert!(tree.small < tree.big);
    assert_detect_and_repair(&t.path, "is an orphan");
    let fs = open_fs(&t.path);
    let (_, lf) = fs.lookup(2, b"lost+found").unwrap().unwrap();
    assert!(fs.lookup(lf.ino, format!("#{}", tree.small).as_bytes()).unwrap().is_some());
    assert!(fs.read_inode(tree.big).unwrap().is_none());
}
