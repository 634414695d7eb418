//! tests/vm/lib/imgdamage.py (the damaged-images VM test's image damager)
//! finds and patches on-disk fields by offset, which it reads from
//! shim/vexfs_format.h with its own small parser. This checks every offset and
//! constant it uses (`imgdamage.py layout`) against the bindgen view of the
//! same header and the core's graph-block constants, in both directions: a
//! value that differs, a name the script prints that is not checked here, and
//! a field checked here that the script did not print all fail. So a header
//! change the parser misreads fails `cargo test`, instead of turning the VM
//! test's "damage field X" into damage somewhere else.
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of_val};
use std::path::PathBuf;
use std::process::Command;

use vexfs_core::format::*;
use vexfs_core::hnsw::layout::{BLOCK_PAYLOAD_WORDS, GRAPH_MAGIC};

/// "STRUCT.FIELD" -> "OFFSET SIZE" for each listed field of a bindgen struct.
macro_rules! fields {
    ($map:ident, $t:ident: $($f:ident),+ $(,)?) => {{
        let v = $t::default();
        $(
            $map.insert(
                format!("{}.{}", stringify!($t), stringify!($f)),
                format!("{} {}", offset_of!($t, $f), size_of_val(&v.$f)),
            );
        )+
    }};
}

fn expected() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (name, value) in [
        ("BS", VEXFS_BLOCK_SIZE as u64),
        ("ISZ", VEXFS_INODE_SIZE as u64),
        ("PER", VEXFS_ADDR_PER_BLOCK as u64),
        ("IND_TAIL", (VEXFS_BLOCK_SIZE - VEXFS_IND_TAIL_SIZE) as u64),
        ("DIR_USABLE", VEXFS_DIR_USABLE as u64),
        ("DIRENT_HDR", VEXFS_DIRENT_HEADER_SIZE as u64),
        ("CREC_HDR", VEXFS_CHUNK_RECORD_HEADER_SIZE as u64),
        ("VECSTORE_INO", VEXFS_VECSTORE_INO as u64),
        ("GRAPH_INO", VEXFS_GRAPH_INO as u64),
        ("SLOTMAP_INO", VEXFS_SLOTMAP_INO as u64),
        ("FL_INLINE_SYMLINK", VEXFS_INODE_FL_INLINE_SYMLINK as u64),
        ("NDIR", VEXFS_NDIR_BLOCKS as u64),
        ("N_BLOCKS", VEXFS_N_BLOCKS as u64),
        ("IND_BLOCK", VEXFS_IND_BLOCK as u64),
        ("DIND_BLOCK", VEXFS_DIND_BLOCK as u64),
        ("TIND_BLOCK", VEXFS_TIND_BLOCK as u64),
        ("DIR_TAIL_MAGIC", VEXFS_DIR_TAIL_MAGIC as u64),
        ("GRAPH_MAGIC", GRAPH_MAGIC as u64),
        ("GRAPH_PAYLOAD_WORDS", BLOCK_PAYLOAD_WORDS as u64),
    ] {
        m.insert(name.to_string(), value.to_string());
    }
    fields!(m, vexfs_super_block:
        s_magic, s_version, s_block_size, s_inode_size, s_blocks_count, s_free_blocks_count,
        s_inodes_count, s_free_inodes_count, s_inode_bitmap_start, s_inode_bitmap_blocks,
        s_block_bitmap_start, s_block_bitmap_blocks, s_inode_table_start, s_inode_table_blocks,
        s_journal_start, s_journal_blocks, s_data_start, s_root_ino, s_first_ino, s_state,
        s_feature_compat, s_feature_incompat, s_feature_ro_compat, s_vector_dim, s_vector_metric,
        s_hnsw_m, s_hnsw_ef_construction, s_mount_count, s_mkfs_time, s_mount_time, s_write_time,
        s_graph_generation, s_vector_generation, s_uuid, s_volume_name, s_index_generation, s_index_live,
        s_index_files, s_index_stale, s_reserved, s_checksum, s_pad);
    fields!(m, vexfs_inode:
        i_mode, i_links_count, i_uid, i_gid, i_flags, i_size, i_blocks, i_atime, i_mtime, i_ctime,
        i_crtime, i_atime_nsec, i_mtime_nsec, i_ctime_nsec, i_crtime_nsec, i_generation, i_rdev,
        i_block, i_xattr_block, i_dir_depth, i_orphan_next, i_vector_dim, i_parent, i_names_block, i_chunk_first,
        i_chunk_count, i_data_version, i_chunk_version, i_reserved,
        i_checksum);
    fields!(m, vexfs_ind_tail: it_magic, it_ino, it_level, it_checksum);
    fields!(m, vexfs_dirent: d_ino, d_rec_len, d_name_len, d_file_type);
    fields!(m, vexfs_dir_tail: dt_magic, dt_checksum);
    fields!(m, vexfs_chunk_record: cr_ino, cr_generation, cr_chunk, cr_checksum, cr_offset, cr_length);
    m
}

#[test]
fn imgdamage_layout_matches_the_format_header() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vm/lib/imgdamage.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg("layout")
        .output()
        .unwrap_or_else(|e| panic!("running python3 {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} layout failed ({}): {}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("layout output is UTF-8");
    let mut got = BTreeMap::new();
    for line in text.lines() {
        let (name, value) = line.split_once(' ').unwrap_or_else(|| panic!("malformed layout line '{line}'"));
        assert!(got.insert(name.to_string(), value.to_string()).is_none(), "{name} printed twice");
    }
    let want = expected();
    let mut problems = Vec::new();
    for (name, w) in &want {
        match got.get(name) {
            None => problems.push(format!("{name}: not printed by imgdamage.py (expected {w})")),
            Some(g) if g != w => problems.push(format!("{name}: imgdamage.py has {g}, the header/core {w}")),
            Some(_) => {}
        }
    }
    for (name, g) in &got {
        if !want.contains_key(name) {
            problems.push(format!("{name}: imgdamage.py uses {g}, not checked by this test (add it)"));
        }
    }
    assert!(problems.is_empty(), "imgdamage.py layout disagrees with shim/vexfs_format.h:\n{}", problems.join("\n"));
    // Sanity: the comparison covered the structs, not only the constants.
    assert!(want.len() > 80, "only {} names compared", want.len());
}
