//! fsck.vexfs pass 5b, the vector store (format 2): an image populated by
//! mkfs.vexfs with chunk sets is clean; each kind of damage to the slot
//! bitmap, the chunk records, the inodes' chunk fields or the graph is found
//! (exit 4, the message names the inode and slot), and -y repairs it to a
//! clean image (a damaged set dropped whole, stray slots freed, the graph
//! marked for rebuild), leaving the other sets alone. The int8 quantiser's
//! copy after the graph is checked too; a damaged one is zeroed.
mod common;
use common::*;

use std::path::{Path, PathBuf};

use vexfs_core::format::defs::mode;
use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::*;
use vexfs_core::format::superblock::{Geom, IndexSummary};
use vexfs_core::hnsw::chunks::{chunk_record_pos, decode_chunk_record, encode_chunk_record, slot_bit, ChunkHeader};
use vexfs_tools::fsimage::Fs;

const DIM: u32 = 4;

struct Img {
    _dir: tempfile::TempDir,
    path: PathBuf,
    /// a.txt: 3 chunks, b.txt: whole-file vector, c.txt: 2 chunks, d.txt: none.
    a: u32,
    b: u32,
    c: u32,
    d: u32,
    docs: u32,
}

fn lookup(fs: &Fs, dir: u32, name: &str) -> u32 {
    fs.lookup(dir, name.as_bytes()).unwrap().unwrap().1.ino
}

fn image() -> Img {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("docs")).unwrap();
    for (n, body) in [("a.txt", "alpha ".repeat(100)), ("b.txt", "bravo".into()), ("c.txt", "charlie ".repeat(50)), ("d.txt", "delta".into())] {
        std::fs::write(src.join("docs").join(n), body).unwrap();
    }
    let man = dir.path().join("m.jsonl");
    let v = |i: u32| -> String { format!("[{}, {}, {}, {}]", i, i as f32 * 0.5, -(i as f32), 1.0) };
    let lines = [
        format!(r#"{{"path": "docs/a.txt", "offset": 0, "length": 200, "vector": {}}}"#, v(1)),
        format!(r#"{{"path": "docs/c.txt", "offset": 0, "length": 100, "vector": {}}}"#, v(2)),
        format!(r#"{{"path": "docs/a.txt", "offset": 200, "length": 200, "vector": {}}}"#, v(3)),
        format!(r#"{{"path": "docs/b.txt", "vector": {}}}"#, v(4)),
        format!(r#"{{"path": "docs/a.txt", "offset": 400, "length": 0, "vector": {}}}"#, v(5)),
        format!(r#"{{"path": "docs/c.txt", "offset": 100, "length": 300, "vector": {}}}"#, v(6)),
    ];
    std::fs::write(&man, lines.join("\n")).unwrap();
    let path = dir.path().join("v.img");
    let (code, out) = mkfs_bin(&[
        "--dim", "4", "-d", src.to_str().unwrap(), "--manifest", man.to_str().unwrap(), path.to_str().unwrap(), "32M",
    ]);
    assert_eq!(code, 0, "{out}");
    let fs = open_fs(&path);
    let docs = lookup(&fs, VEXFS_ROOT_INO, "docs");
    let (a, b, c, d) = (lookup(&fs, docs, "a.txt"), lookup(&fs, docs, "b.txt"), lookup(&fs, docs, "c.txt"), lookup(&fs, docs, "d.txt"));
    Img { _dir: dir, path, a, b, c, d, docs }
}

fn inode(p: &Path, ino: u32) -> InodeMem {
    open_fs(p).read_inode(ino).unwrap().unwrap()
}

fn edit_inode(p: &Path, ino: u32, f: impl FnOnce(&mut InodeMem)) {
    let fs = open_fs(p);
    let mut m = fs.read_inode(ino).unwrap().unwrap();
    f(&mut m);
    fs.write_inode(ino, &m).unwrap();
}

/// Physical block and byte offset of byte `at` of hidden inode `ino`.
fn hidden_byte(fs: &Fs, ino: u32, at: u64) -> (u64, usize) {
    let m = fs.read_inode(ino).unwrap().unwrap();
    let b = fs.bmap(ino, &m, at / BLOCK_SIZE as u64).unwrap();
    assert_ne!(b, 0, "inode {ino} byte {at} is a hole");
    (b as u64, (at % BLOCK_SIZE as u64) as usize)
}

/// Rewrite slot `slot`'s record bytes with `f`.
fn edit_record(p: &Path, slot: u64, f: impl FnOnce(&mut [u8])) {
    let fs = open_fs(p);
    let pos = chunk_record_pos(slot, DIM).unwrap();
    let (b, off) = hidden_byte(&fs, VEXFS_VECSTORE_INO, pos.block * BLOCK_SIZE as u64 + pos.offset as u64);
    let mut blk = fs.img.read_block(b).unwrap();
    f(&mut blk[off..off + pos.len as usize]);
    fs.img.write_blocks(b, &blk).unwrap();
}

fn read_record(p: &Path, slot: u64) -> (ChunkHeader, Vec<u32>) {
    let fs = open_fs(p);
    let pos = chunk_record_pos(slot, DIM).unwrap();
    let (b, off) = hidden_byte(&fs, VEXFS_VECSTORE_INO, pos.block * BLOCK_SIZE as u64 + pos.offset as u64);
    let blk = fs.img.read_block(b).unwrap();
    let mut bits = vec![0u32; DIM as usize];
    let h = decode_chunk_record(&blk[off..off + pos.len as usize], DIM, Some(&mut bits)).unwrap();
    (h, bits)
}

/// Re-encode slot `slot`'s record with header changes `f` (a valid checksum).
fn reseal_record(p: &Path, slot: u64, f: impl FnOnce(&mut ChunkHeader)) {
    let (mut h, bits) = read_record(p, slot);
    f(&mut h);
    edit_record(p, slot, |rec| encode_chunk_record(&h, &bits, rec).unwrap());
}

fn slot_map(p: &Path) -> Vec<u8> {
    let fs = open_fs(p);
    let m = fs.read_inode(VEXFS_SLOTMAP_INO).unwrap().unwrap();
    let b = fs.bmap(VEXFS_SLOTMAP_INO, &m, 0).unwrap();
    let mut blk = fs.img.read_block(b as u64).unwrap();
    blk.truncate(m.size as usize);
    blk
}

fn set_slot_bit(p: &Path, slot: u64, on: bool) {
    let fs = open_fs(p);
    let (b, off) = hidden_byte(&fs, VEXFS_SLOTMAP_INO, slot / 8);
    let mut blk = fs.img.read_block(b).unwrap();
    if on {
        blk[off] |= 1 << (slot % 8);
    } else {
        blk[off] &= !(1 << (slot % 8));
    }
    fs.img.write_blocks(b, &blk).unwrap();
}

fn generations(p: &Path) -> (u64, u64) {
    let fs = open_fs(p);
    (fs.geom.vector_generation, fs.geom.graph_generation)
}

/// The set of `ino` is gone (flag, fields), and its former slots are free.
fn assert_dropped(p: &Path, ino: u32, first: u32, count: u32) {
    let m = inode(p, ino);
    assert_eq!((m.flags & VEXFS_INODE_FL_HAS_VECTOR, m.chunk_first, m.chunk_count, m.vector_dim), (0, 0, 0, 0), "inode {ino}");
    let map = slot_map(p);
    for s in first..first + count {
        assert!(!slot_bit(&map, s as u64), "slot {s} of dropped inode {ino} still allocated");
    }
}

/// `ino`'s set is intact: flag, fields, bits, records.
fn assert_intact(p: &Path, ino: u32, count: u32) {
    let m = inode(p, ino);
    assert!(m.flags & VEXFS_INODE_FL_HAS_VECTOR != 0 && m.chunk_count == count && m.vector_dim == DIM, "inode {ino}");
    let map = slot_map(p);
    for c in 0..count {
        let s = (m.chunk_first + c) as u64;
        assert!(slot_bit(&map, s));
        let (h, _) = read_record(p, s);
        assert_eq!((h.ino, h.generation, h.chunk), (ino, m.generation, c));
    }
}

/// Damage that costs inode `victim` its set: found, repaired, the rest kept,
/// the graph marked for rebuild.
fn check_drop(t: &Img, victim: u32, needle: &str, keep: &[(u32, u32)]) {
    let before = inode(&t.path, victim);
    assert_detect_and_repair(&t.path, needle);
    assert_dropped(&t.path, victim, before.chunk_first, before.chunk_count);
    for &(ino, n) in keep {
        assert_intact(&t.path, ino, n);
    }
    let (vg, gg) = generations(&t.path);
    assert_ne!(vg, gg, "the graph must be marked for rebuild");
}

#[test]
fn populated_chunk_image_is_clean() {
    let t = image();
    let (code, out) = fsck_bin(&t.path, &["-n", "-f"]);
    assert_eq!(code, 0, "{out}");
    let (r, out) = fsck_lib(&t.path, vexfs_tools::fsimage::fsck::Repair::No);
    assert!(r.problems.is_empty(), "{out}");
    // Slots in inode order: a (3), b (1), c (2).
    assert!(t.a < t.b && t.b < t.c);
    assert_eq!((inode(&t.path, t.a).chunk_first, inode(&t.path, t.b).chunk_first, inode(&t.path, t.c).chunk_first), (0, 3, 4));
    assert_intact(&t.path, t.a, 3);
    assert_intact(&t.path, t.b, 1);
    assert_intact(&t.path, t.c, 2);
    let (vg, gg) = generations(&t.path);
    assert_eq!(vg, gg);
}

#[test]
fn record_checksum_damage_drops_the_set() {
    let t = image();
    edit_record(&t.path, 1, |r| r[40] ^= 0x01);
    // The set's slots go with it: not reported again as strays.
    let (_, out) = fsck_lib(&t.path, vexfs_tools::fsimage::fsck::Repair::No);
    assert!(out.contains("dropping the set and freeing its slots") && !out.contains("no file's chunk set covers"), "{out}");
    check_drop(&t, t.a, &format!("inode {}: chunk set (slots 0..3, 3 chunks) is damaged: slot 1 (chunk 1): chunk record checksum mismatch", t.a), &[(t.b, 1), (t.c, 2)]);
}

#[test]
fn record_naming_another_inode_or_generation_or_chunk() {
    let t = image();
    let c = t.c;
    reseal_record(&t.path, 5, |h| h.ino = t.b);
    check_drop(&t, c, &format!("inode {c}: chunk set (slots 4..6, 2 chunks) is damaged: slot 5 holds inode {} generation", t.b), &[(t.a, 3), (t.b, 1)]);

    let t = image();
    reseal_record(&t.path, 3, |h| h.generation += 1);
    check_drop(&t, t.b, &format!("expected inode {} generation", t.b), &[(t.a, 3), (t.c, 2)]);

    let t = image();
    // Chunks 0 and 1 of a swapped: both records valid, indices wrong.
    let (h0, v0) = read_record(&t.path, 0);
    let (h1, v1) = read_record(&t.path, 1);
    edit_record(&t.path, 0, |r| encode_chunk_record(&h1, &v1, r).unwrap());
    edit_record(&t.path, 1, |r| encode_chunk_record(&h0, &v0, r).unwrap());
    check_drop(&t, t.a, &format!("slot 0 holds inode {} generation {} chunk 1, expected inode {} generation {} chunk 0", t.a, h0.generation, t.a, h0.generation), &[(t.b, 1), (t.c, 2)]);
}

#[test]
fn slot_free_in_the_bitmap_drops_the_set() {
    let t = image();
    set_slot_bit(&t.path, 2, false);
    check_drop(&t, t.a, &format!("inode {}: chunk set (slots 0..3, 3 chunks) is damaged: slot 2 (chunk 2) is free in the slot bitmap", t.a), &[(t.b, 1), (t.c, 2)]);
}

#[test]
fn stray_slots_are_freed() {
    // The bitmap file is one byte (slots 0..8); a set bit past its size
    // means nothing (past the end = free).
    let t = image();
    set_slot_bit(&t.path, 9, true);
    let (code, out) = fsck_bin(&t.path, &["-n", "-f"]);
    assert_eq!(code, 0, "{out}");
    set_slot_bit(&t.path, 7, true);
    assert_detect_and_repair(&t.path, "slot 7 is allocated in the slot bitmap but no file's chunk set covers it (its record does not decode: ");
    let map = slot_map(&t.path);
    assert!((0..6).all(|s| slot_bit(&map, s)) && !(6..8).any(|s| slot_bit(&map, s)));
    for (ino, n) in [(t.a, 3), (t.b, 1), (t.c, 2)] {
        assert_intact(&t.path, ino, n);
    }
    let (vg, gg) = generations(&t.path);
    assert_ne!(vg, gg, "the graph must be marked for rebuild");
    // A run of strays is one message naming its first slot.
    let t = image();
    set_slot_bit(&t.path, 6, true);
    set_slot_bit(&t.path, 7, true);
    assert_detect_and_repair(&t.path, "slots 6..8 (2 slots) are allocated in the slot bitmap but no file's chunk set covers them (slot 6: ");
}

#[test]
fn bad_inode_chunk_fields() {
    // HAS_VECTOR with no chunks.
    let t = image();
    let b = t.b;
    edit_inode(&t.path, b, |m| m.chunk_count = 0);
    check_drop(&t, b, &format!("inode {b}: chunk set (slots 3..3, 0 chunks) is damaged: chunk count 0 outside 1..=16384"), &[(t.a, 3), (t.c, 2)]);
    // More than VEXFS_MAX_CHUNKS.
    let t = image();
    edit_inode(&t.path, t.c, |m| m.chunk_count = VEXFS_MAX_CHUNKS + 1);
    assert_detect_and_repair(&t.path, &format!("inode {}: chunk set (slots 4..16389, 16385 chunks) is damaged: chunk count 16385 outside", t.c));
    assert_dropped(&t.path, t.c, 4, 2);
    // A run that overflows the slot numbers (the core's inode decode
    // refuses it: the file is kept, its set dropped).
    let t = image();
    edit_inode(&t.path, t.c, |m| m.chunk_first = u32::MAX);
    assert_detect_and_repair(&t.path, &format!("inode {}: chunk set (slots 4294967295..4294967297, 2 chunks) is damaged", t.c));
    assert_dropped(&t.path, t.c, 4, 2);
    let (code, out) = fsck_bin(&t.path, &["-n"]);
    assert!(code == 0 && !out.contains("clearing"), "{out}");
    // Wrong dimension.
    let t = image();
    edit_inode(&t.path, t.a, |m| m.vector_dim = DIM + 1);
    check_drop(&t, t.a, "vector dimension 5 but the filesystem's is 4", &[(t.b, 1), (t.c, 2)]);
    // A run past the slot bitmap.
    let t = image();
    edit_inode(&t.path, t.c, |m| m.chunk_first = 100_000);
    assert_detect_and_repair(&t.path, &format!("inode {}: chunk set (slots 100000..100002, 2 chunks) is damaged: slot 100001 is past the end of the slot bitmap", t.c));
    assert_dropped(&t.path, t.c, 4, 2);
}

#[test]
fn overlapping_runs() {
    // c's run moved onto a's slots 1..3: the records name a, so c's set is
    // the damaged one; a keeps its set, c's old slots are freed.
    let t = image();
    edit_inode(&t.path, t.c, |m| m.chunk_first = 1);
    let needle = format!("inode {}: chunk set (slots 1..3, 2 chunks) is damaged: slot 1 holds inode {} generation", t.c, t.a);
    assert_detect_and_repair(&t.path, &needle);
    assert_intact(&t.path, t.a, 3);
    assert_intact(&t.path, t.b, 1);
    assert_dropped(&t.path, t.c, 4, 2);
    // The message names the other run.
    let t = image();
    edit_inode(&t.path, t.c, |m| m.chunk_first = 1);
    let (_, out) = fsck_lib(&t.path, vexfs_tools::fsimage::fsck::Repair::No);
    assert!(out.contains(&format!("(slot 1 is also in inode {}'s run)", t.a)), "{out}");
}

#[test]
fn chunk_fields_without_a_set_are_zeroed() {
    // A regular file without HAS_VECTOR.
    let t = image();
    let d = t.d;
    edit_inode(&t.path, d, |m| {
        m.chunk_first = 7;
        m.chunk_count = 2;
    });
    assert_detect_and_repair(&t.path, &format!("inode {d} has no chunk set (HAS_VECTOR clear) but its vector fields are set (HAS_VECTOR 0, first slot 7, 2 chunks"));
    let m = inode(&t.path, d);
    assert_eq!((m.chunk_first, m.chunk_count), (0, 0));
    // A directory with HAS_VECTOR.
    let t = image();
    let docs = t.docs;
    edit_inode(&t.path, docs, |m| {
        m.flags |= VEXFS_INODE_FL_HAS_VECTOR;
        m.vector_dim = DIM;
    });
    assert_detect_and_repair(&t.path, &format!("inode {docs} is a directory but its vector fields are set (HAS_VECTOR 1"));
    let m = inode(&t.path, docs);
    assert_eq!((m.flags & VEXFS_INODE_FL_HAS_VECTOR, m.vector_dim, m.mode & mode::S_IFMT), (0, 0, mode::S_IFDIR));
    for (ino, n) in [(t.a, 3), (t.b, 1), (t.c, 2)] {
        assert_intact(&t.path, ino, n);
    }
}

#[test]
fn reserved_index_inodes_must_be_zero() {
    let t = image();
    let fs = open_fs(&t.path);
    let mut raw = vec![0u8; VEXFS_INODE_SIZE as usize];
    raw[0] = 1;
    fs.write_inode_raw(7, &raw).unwrap();
    drop(fs);
    assert_detect_and_repair(&t.path, "reserved inode 7 is not zero");
}

#[test]
fn graph_node_at_a_free_slot_marks_the_graph_for_rebuild() {
    // c's set dropped consistently (fields, flag, bits) but the graph still
    // has nodes at its slots: the store is sound, the graph is not.
    let t = image();
    let c = t.c;
    edit_inode(&t.path, c, |m| {
        m.flags &= !VEXFS_INODE_FL_HAS_VECTOR;
        m.chunk_first = 0;
        m.chunk_count = 0;
        m.vector_dim = 0;
    });
    set_slot_bit(&t.path, 4, false);
    set_slot_bit(&t.path, 5, false);
    assert_detect_and_repair(&t.path, &format!("the persisted HNSW graph (inode 4) has a live node at slot 4 (inode {c}) but the slot is free"));
    let (vg, gg) = generations(&t.path);
    assert_ne!(vg, gg);
    for (ino, n) in [(t.a, 3), (t.b, 1)] {
        assert_intact(&t.path, ino, n);
    }
}

#[test]
fn unlinked_file_with_a_set_frees_its_slots() {
    // An orphan (no name, no links): pass 4 frees it, pass 5b its slots.
    let t = image();
    let b = t.b;
    let mut fs = open_fs(&t.path);
    fs.remove_entry(t.docs, b"b.txt").unwrap();
    let mut m = fs.read_inode(b).unwrap().unwrap();
    m.links_count = 0;
    fs.write_inode(b, &m).unwrap();
    fs.flush().unwrap();
    drop(fs);
    let (_, out) = fsck_lib(&t.path, vexfs_tools::fsimage::fsck::Repair::Yes);
    assert!(out.contains("is an orphan") && out.contains("slot 3 is allocated in the slot bitmap but no file's chunk set covers it"), "{out}");
    let (code, out) = fsck_bin(&t.path, &["-n"]);
    assert_eq!(code, 0, "{out}");
    assert!(!slot_bit(&slot_map(&t.path), 3));
    assert_intact(&t.path, t.a, 3);
    assert_intact(&t.path, t.c, 2);
}

// ---- the index summary (s_index_*, COMPAT_INDEX_SUMMARY) ---------------------

/// Change superblock fields through `Fs::flush` (which reseals it).
fn edit_sb(p: &Path, f: impl FnOnce(&mut Geom)) {
    let mut fs = open_fs(p);
    f(&mut fs.geom);
    fs.flush().unwrap();
}

fn summary(p: &Path) -> IndexSummary {
    IndexSummary::of(&open_fs(p).geom)
}

/// What mkfs recorded for image(): 6 live slots in 3 files, none stale.
fn expected_summary(p: &Path) -> IndexSummary {
    IndexSummary { generation: generations(p).0, live: 6, files: 3, stale: 0 }
}

#[test]
fn index_summary_of_a_populated_image_checks() {
    let t = image();
    assert_eq!(summary(&t.path), expected_summary(&t.path));
    assert!(IndexSummary::trusted(&open_fs(&t.path).geom));
    let (code, out) = fsck_bin(&t.path, &["-n", "-f", "-v"]);
    assert!(code == 0 && !out.contains("index summary"), "{out}");
}

#[test]
fn index_summary_count_damage_is_found_and_rewritten() {
    type Field = fn(&mut Geom) -> &mut u64;
    let fields: [(&str, Field, u64); 3] = [
        ("s_index_live", |g| &mut g.index_live, 6),
        ("s_index_files", |g| &mut g.index_files, 3),
        ("s_index_stale", |g| &mut g.index_stale, 0),
    ];
    for (name, field, counted) in fields {
        let t = image();
        edit_sb(&t.path, |g| *field(g) = 1000);
        let gen = generations(&t.path).0;
        assert_detect_and_repair(
            &t.path,
            &format!("superblock index summary (vector generation {gen}): {name} is 1000 but the vector store holds {counted} "),
        );
        // Only the summary was wrong: the same generation, the counted values.
        assert_eq!(summary(&t.path), expected_summary(&t.path), "{name}");
        assert_eq!(generations(&t.path).0, gen);
    }
}

#[test]
fn index_summary_counts_stale_files_as_the_kernel_does() {
    // c's data changed after its set was written: the set is stale, and
    // the recorded 0 is wrong.
    let t = image();
    edit_inode(&t.path, t.c, |m| m.data_version = 1);
    assert_detect_and_repair(&t.path, "s_index_stale is 0 but the vector store holds 1 files with a stale chunk set");
    assert_eq!(summary(&t.path), IndexSummary { stale: 1, ..expected_summary(&t.path) });
    assert_intact(&t.path, t.c, 2);
}

#[test]
fn index_summary_not_trusted_is_not_judged() {
    // Another generation's counts, and counts of a volume not cleanly
    // unmounted, mean nothing: no error.
    let t = image();
    edit_sb(&t.path, |g| {
        g.index_generation = g.vector_generation + 5;
        g.index_live = 1000;
    });
    let (code, out) = fsck_bin(&t.path, &["-n", "-v"]);
    assert!(code == 0 && out.contains("index summary not checked: it describes another vector generation"), "{out}");
    let t = image();
    edit_sb(&t.path, |g| {
        g.state &= !VEXFS_STATE_CLEAN;
        g.index_files = 1000;
    });
    let (code, out) = fsck_bin(&t.path, &["-n", "-v"]);
    assert!(code == 0 && out.contains("index summary not checked: the volume was not cleanly unmounted"), "{out}");
}

#[test]
fn index_summary_is_rewritten_when_fsck_marks_the_volume_clean() {
    // Not cleanly unmounted, with a summary that looks current but is
    // wrong, and a stray slot: -y repairs and marks the volume clean, so
    // the summary it leaves must be the true one, not the one it found.
    let t = image();
    edit_sb(&t.path, |g| {
        g.state &= !VEXFS_STATE_CLEAN;
        g.index_live = 1000;
    });
    set_slot_bit(&t.path, 7, true);
    let (code, out) = fsck_bin(&t.path, &["-y"]);
    assert_eq!(code, 1, "{out}");
    let g = open_fs(&t.path).geom;
    assert!(g.state & VEXFS_STATE_CLEAN != 0);
    assert_eq!(summary(&t.path), expected_summary(&t.path));
    assert!(IndexSummary::trusted(&g));
    let (code, out) = fsck_bin(&t.path, &["-n", "-f"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn index_summary_after_a_vector_store_repair_describes_the_repaired_store() {
    // a's set is damaged: -n counts the slots the kernel would still take
    // (2 of a's 3), -y drops the set, bumps the vector generation and
    // records the store as it left it (3 slots in 2 files) with the new stamp.
    let t = image();
    let gen = generations(&t.path).0;
    edit_record(&t.path, 1, |r| r[40] ^= 0x01);
    let (_, out) = fsck_lib(&t.path, vexfs_tools::fsimage::fsck::Repair::No);
    assert!(out.contains("s_index_live is 6 but the vector store holds 5 live slots"), "{out}");
    assert!(!out.contains("s_index_files"), "a still has live slots: {out}");
    check_drop(&t, t.a, "chunk record checksum mismatch", &[(t.b, 1), (t.c, 2)]);
    let after = summary(&t.path);
    assert!(after.generation > gen);
    assert_eq!(after, IndexSummary { generation: generations(&t.path).0, live: 3, files: 2, stale: 0 });
}

#[test]
fn index_summary_without_the_feature_stays_zero() {
    // A volume without the bit (an older mkfs): nothing is checked, and a
    // repair leaves the reserved words zero.
    let t = image();
    let mut fs = open_fs(&t.path);
    let off = core::mem::offset_of!(vexfs_super_block, s_feature_compat);
    fs.sb_block[off..off + 4].copy_from_slice(&VEXFS_FEATURE_COMPAT_VECTORS.to_le_bytes());
    let sum = core::mem::offset_of!(vexfs_super_block, s_index_generation);
    fs.sb_block[sum..sum + 32].fill(0);
    fs.flush().unwrap();
    drop(fs);
    assert_eq!(summary(&t.path), IndexSummary::default());
    set_slot_bit(&t.path, 7, true);
    assert_detect_and_repair(&t.path, "slot 7 is allocated in the slot bitmap");
    let fs = open_fs(&t.path);
    assert_eq!(fs.geom.feature_compat, VEXFS_FEATURE_COMPAT_VECTORS);
    assert!(fs.sb_block[sum..VEXFS_SUPER_BLOCK_SIZE as usize - 8].iter().all(|&b| b == 0));
}

// ---- the int8 quantiser's copy after the graph (struct vexfs_sq8_disk) ------

/// An image of 260 one-chunk files (at least the kernel's 256): mkfs writes
/// the quantiser's copy after the graph.
fn quantiser_image() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut lines = Vec::new();
    for i in 0..260u32 {
        std::fs::write(src.join(format!("f{i:03}")), "q").unwrap();
        lines.push(format!(r#"{{"path": "f{i:03}", "vector": [{}, {}, {}, 1.0]}}"#, i, i % 7, -(i as f32) / 3.0));
    }
    let man = dir.path().join("m.jsonl");
    std::fs::write(&man, lines.join("\n")).unwrap();
    let path = dir.path().join("q.img");
    let (code, out) =
        mkfs_bin(&["--dim", "4", "-d", src.to_str().unwrap(), "--manifest", man.to_str().unwrap(), path.to_str().unwrap(), "32M"]);
    assert_eq!(code, 0, "{out}");
    (dir, path)
}

/// Rewrite byte `i` of the quantiser's copy (after the graph's blocks) with `f`.
fn edit_quantiser(p: &Path, i: usize, f: impl FnOnce(&mut u8)) {
    let fs = open_fs(p);
    let (words, _) = graph_file(&fs);
    let at = (words.len() * 4 + i) as u64;
    let (b, off) = hidden_byte(&fs, VEXFS_GRAPH_INO, at);
    let mut blk = fs.img.read_block(b).unwrap();
    f(&mut blk[off]);
    fs.img.write_blocks(b, &blk).unwrap();
}

#[test]
fn quantiser_copy_checks() {
    let (_d, p) = quantiser_image();
    let (r, out) = fsck_lib(&p, vexfs_tools::fsimage::fsck::Repair::No);
    assert!(r.problems.is_empty() && r.exit_code == 0, "{out}");
    assert!(out.contains("int8 quantiser after the HNSW graph (inode 4, generation 1) checked"), "{out}");
}

#[test]
fn quantiser_checksum_damage_is_found_and_zeroed() {
    let (_d, p) = quantiser_image();
    let gens = generations(&p);
    // A bit of scale[1] (header 64 bytes, min 16, scale from byte 80).
    edit_quantiser(&p, 84, |b| *b ^= 0x10);
    let nb = graph_file(&open_fs(&p)).0.len() / (BLOCK_SIZE / 4);
    assert_detect_and_repair(
        &p,
        &format!("the int8 quantiser's copy in the HNSW graph file (inode 4, blocks {nb}..{}) is damaged: quantiser checksum mismatch", nb + 1),
    );
    // Zeroed (the kernel trains a new one), the graph and the store kept.
    let fs = open_fs(&p);
    let (_, rest) = graph_file(&fs);
    assert!(!rest.is_empty() && rest.iter().all(|&b| b == 0));
    drop(fs);
    assert_eq!(generations(&p), gens, "the graph stays current");
    let (_, out) = fsck_lib(&p, vexfs_tools::fsimage::fsck::Repair::No);
    assert!(!out.contains("quantiser"), "an all-zero copy is no copy: {out}");
}

#[test]
fn quantiser_of_another_generation_or_dimension_is_found() {
    for (byte, needle) in [(16usize, "quantiser of generation 0, the graph's is 1"), (8, "quantiser of dimension 5"), (0, "quantiser magic 0x51535857")]
    {
        let (_d, p) = quantiser_image();
        edit_quantiser(&p, byte, |b| *b = if byte == 0 { 0x57 } else if byte == 8 { 5 } else { 0 });
        assert_detect_and_repair(&p, needle);
    }
}
