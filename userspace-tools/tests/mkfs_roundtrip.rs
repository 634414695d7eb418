//! mkfs then fsck round trips, mkfs refusals, superblock rejection.
mod common;
use common::*;

use vexfs_core::format::superblock;
use vexfs_core::format::*;
use vexfs_core::format::journal;
use vexfs_tools::fsimage::fsck::Repair;
use vexfs_tools::fsimage::mkfs::MkfsOptions;
use vexfs_tools::fsimage::Image;

#[test]
fn roundtrip_sizes_dims_metrics() {
    let cases: &[(u64, u32, u32, u32, u32)] = &[
        // bytes, dim, metric, inodes, journal blocks
        (5 << 20, 1, VEXFS_METRIC_L2, 0, 0),
        (64 << 20, 128, VEXFS_METRIC_COSINE, 0, 0),
        (100 << 20, 768, VEXFS_METRIC_DOT, 5000, 2048),
        (256 << 20, 4096, VEXFS_METRIC_L2, 0, 0),
        ((1 << 30) + 12345, 384, VEXFS_METRIC_COSINE, 100_000, 0),
    ];
    for &(bytes, dim, metric, inodes, journal_blocks) in cases {
        let o = MkfsOptions { dim, metric, inodes, journal_blocks, label: "test".into(), ..Default::default() };
        let t = make_image(bytes, &o);
        let img = Image::open(&t.path, false).unwrap();
        let b0 = img.read_block(0).unwrap();
        let mut why = String::new();
        let g = superblock::validate(&b0, img.blocks(), &mut why).unwrap_or_else(|_| panic!("{why}"));
        assert_eq!((g.vector_dim, g.vector_metric), (dim, metric));
        assert_eq!(g.blocks_count, bytes / 4096);
        if inodes != 0 {
            assert_eq!(g.inodes_count, inodes);
        }
        if journal_blocks != 0 {
            assert_eq!(g.journal_blocks, journal_blocks);
        }
        let jb = img.read_block(g.journal_start as u64).unwrap();
        let info = journal::validate(&jb, g.journal_start, g.journal_blocks, &[0; 16], &mut why).unwrap();
        assert!(!info.needs_recovery());
        let (code, out) = fsck_bin(&t.path, &["-n"]);
        assert_eq!(code, 0, "{bytes} bytes dim {dim}: {out}");
        let (code, out) = fsck_bin(&t.path, &["-f", "-y"]);
        assert_eq!(code, 0, "{out}");
    }
}

/// Each mkfs starts its journal at a random transaction ID. mkfs zeroes
/// only the head of the log; with every log starting at 1, a recovery that
/// ran past the new log's end replayed the previous filesystem's
/// transactions (the fault-injection rounds lost files and bitmaps to it).
#[test]
fn mkfs_journal_starts_at_a_random_transaction() {
    let t = default_image();
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let img = Image::open(&t.path, true).unwrap();
        vexfs_tools::fsimage::mkfs::make(&img, &MkfsOptions::default()).unwrap();
        let b0 = img.read_block(0).unwrap();
        let mut why = String::new();
        let g = superblock::validate(&b0, img.blocks(), &mut why).unwrap();
        let jb = img.read_block(g.journal_start as u64).unwrap();
        let info = journal::validate(&jb, g.journal_start, g.journal_blocks, &[0; 16], &mut why).unwrap();
        assert!(!info.needs_recovery());
        seqs.push(info.sequence);
    }
    assert!(seqs[0] != seqs[1] && seqs[1] != seqs[2] && seqs[0] != seqs[2], "first transaction IDs {seqs:?}");
}

#[test]
fn mkfs_cli_roundtrip_and_summary() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("cli.img");
    let ps = p.to_str().unwrap();
    let (code, out) = mkfs_bin(&["--dim", "384", "--metric", "cosine", "-L", "docs", ps, "32M"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("dim 384") && out.contains("cosine"), "{out}");
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 32 << 20);
    let (code, out) = fsck_bin(&p, &[]);
    assert_eq!(code, 0, "{out}");
    // Reformat an existing file in place, quietly.
    let (code, out) = mkfs_bin(&["-q", "-N", "2000", "-J", "1024", "-M", "32", "--ef-construction", "100", ps]);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out) = fsck_bin(&p, &["-n"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn mkfs_refusals() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("small.img");
    let ps = p.to_str().unwrap();
    let (code, out) = mkfs_bin(&[ps, "1M"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(ps) && out.contains("too small"), "{out}");
    for (args, needle) in [
        (vec!["--dim", "0"], "dimension 0"),
        (vec!["--dim", "4097"], "dimension 4097"),
        (vec!["--metric", "manhattan"], "unknown metric"),
        (vec!["-M", "1"], "HNSW M"),
        (vec!["-J", "100"], "journal"),
        (vec!["-L", "a-label-longer-than-sixteen"], "label"),
    ] {
        let mut a = args.clone();
        a.push(ps);
        a.push("64M");
        let (code, out) = mkfs_bin(&a);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(out.contains(needle) && out.contains(ps), "{args:?}: {out}");
    }
    let (code, _) = mkfs_bin(&[]);
    assert_eq!(code, 2);
    let (code, out) = mkfs_bin(&["/nonexistent-dir/x.img"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("/nonexistent-dir/x.img"), "{out}");
}

/// Rewrite superblock fields, optionally resealing the checksum.
fn patch_sb(p: &std::path::Path, reseal: bool, f: impl FnOnce(&mut [u8])) {
    let img = Image::open(p, true).unwrap();
    let mut b0 = img.read_block(0).unwrap();
    f(&mut b0);
    if reseal {
        superblock::seal(&mut b0[..VEXFS_SUPER_BLOCK_SIZE as usize]).unwrap();
    }
    img.write_blocks(0, &b0).unwrap();
}

#[test]
fn damaged_superblocks_are_rejected() {
    use core::mem::offset_of;
    type S = vexfs_super_block;
    let put32 = |b: &mut [u8], o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_le_bytes());
    let put64 = |b: &mut [u8], o: usize, v: u64| b[o..o + 8].copy_from_slice(&v.to_le_bytes());
    struct Case {
        name: &'static str,
        reseal: bool,
        patch: Box<dyn Fn(&mut [u8])>,
        needle: &'static str,
        exit: i32,
    }
    let cases = vec![
        Case { name: "bad magic", reseal: true, patch: Box::new(move |b| put32(b, 0, 0x1234_5678)), needle: "magic", exit: 8 },
        Case { name: "bad checksum", reseal: false, patch: Box::new(move |b| b[offset_of!(S, s_mount_count)] ^= 1), needle: "checksum", exit: 4 },
        Case {
            name: "blocks beyond the device",
            reseal: true,
            patch: Box::new(move |b| put64(b, offset_of!(S, s_blocks_count), 1 << 30)),
            needle: "exceeds the device",
            exit: 4,
        },
        Case {
            name: "absurd inode count",
            reseal: true,
            patch: Box::new(move |b| put32(b, offset_of!(S, s_inodes_count), 0xffff_fff0)),
            needle: "inode count",
            exit: 4,
        },
        Case {
            name: "overlapping regions",
            reseal: true,
            patch: Box::new(move |b| {
                let it = u32::from_le_bytes(b[offset_of!(S, s_inode_table_start)..][..4].try_into().unwrap());
                put32(b, offset_of!(S, s_journal_start), it + 1)
            }),
            needle: "journal",
            exit: 4,
        },
        Case {
            name: "data start inside the journal",
            reseal: true,
            patch: Box::new(move |b| put32(b, offset_of!(S, s_data_start), 300)),
            needle: "data area",
            exit: 4,
        },
        Case {
            name: "free count above total",
            reseal: true,
            patch: Box::new(move |b| put64(b, offset_of!(S, s_free_blocks_count), 1 << 40)),
            needle: "free block count",
            exit: 4,
        },
        Case {
            name: "dimension zero",
            reseal: true,
            patch: Box::new(move |b| put32(b, offset_of!(S, s_vector_dim), 0)),
            needle: "dimension",
            exit: 4,
        },
        Case {
            name: "unknown incompat feature",
            reseal: true,
            patch: Box::new(move |b| put32(b, offset_of!(S, s_feature_incompat), 0x8001)),
            needle: "incompatible",
            exit: 4,
        },
        Case {
            // An image from a mkfs before checksummed indirect blocks.
            name: "required incompat feature missing",
            reseal: true,
            patch: Box::new(move |b| put32(b, offset_of!(S, s_feature_incompat), VEXFS_FEATURE_INCOMPAT_JOURNAL)),
            needle: "required incompatible features 0x6 missing",
            exit: 4,
        },
        Case {
            // Vector store format 1: refused, not converted (exit 8: not
            // damage, a format this fsck does not check).
            name: "vector store format 1",
            reseal: true,
            patch: Box::new(move |b| {
                put32(b, offset_of!(S, s_feature_incompat), VEXFS_FEATURE_INCOMPAT_JOURNAL | VEXFS_FEATURE_INCOMPAT_IND_CSUM)
            }),
            needle: "vector store format 1 (required incompatible feature 0x4, chunked vector store, missing): \
                     made by an older mkfs.vexfs; nothing converts it, reformat with this mkfs.vexfs",
            exit: 8,
        },
    ];
    for c in cases {
        let t = default_image();
        patch_sb(&t.path, c.reseal, |b| (c.patch)(b));
        let img = Image::open(&t.path, false).unwrap();
        let b0 = img.read_block(0).unwrap();
        let mut why = String::new();
        assert!(superblock::validate(&b0, img.blocks(), &mut why).is_err(), "{}: core accepted it", c.name);
        assert!(why.contains(c.needle), "{}: core said '{why}'", c.name);
        let (code, out) = fsck_bin(&t.path, &["-n"]);
        assert_eq!(code, c.exit, "{}: {out}", c.name);
        assert!(out.contains(c.needle), "{}: {out}", c.name);
        let (code, _) = fsck_bin(&t.path, &["-y"]);
        assert_eq!(code, c.exit, "{}: -y cannot repair a superblock", c.name);
    }
}

#[test]
fn fsck_usage_and_operational_errors() {
    let (code, _) = fsck_bin(std::path::Path::new("/nonexistent.img"), &["-n"]);
    assert_eq!(code, 8);
    let t = default_image();
    let (code, _) = fsck_bin(&t.path, &["-n", "-y"]);
    assert_eq!(code, 16);
    let (r, _) = fsck_lib(&t.path, Repair::No);
    assert_eq!(r.exit_code, 0);
}
