//! mkfs.vexfs -d DIR --manifest M.jsonl: the populated image checks clean
//! with fsck, holds the tree byte for byte, and the vector store holds each
//! manifest vector at its inode's record, flagged on the owner.
mod common;
use common::*;

use std::ffi::CString;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use vexfs_core::format::defs::mode;
use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::*;
use vexfs_core::hnsw::chunks::{chunk_record_pos, decode_chunk_record, slot_bit};
use vexfs_core::format::sq8;
use vexfs_core::format::superblock::IndexSummary;
use vexfs_tools::fsimage::Fs;

fn read_all(fs: &Fs, ino: u32, m: &InodeMem) -> Vec<u8> {
    let mut out = Vec::new();
    let nblocks = m.size.div_ceil(BLOCK_SIZE as u64);
    for i in 0..nblocks {
        let b = fs.bmap(ino, m, i).unwrap();
        if b == 0 {
            out.extend_from_slice(&[0u8; BLOCK_SIZE]);
        } else {
            out.extend_from_slice(&fs.img.read_block(b as u64).unwrap());
        }
    }
    out.truncate(m.size as usize);
    out
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

fn vector_of(i: usize, dim: usize) -> Vec<f32> {
    (0..dim).map(|j| ((i * 31 + j * 7) % 97) as f32 / 97.0 - 0.5).collect()
}

fn manifest_line(path: &str, v: &[f32]) -> String {
    serde_json::json!({ "path": path, "vector": v }).to_string()
}

/// A source tree: nested directories, small/indirect/empty files, short and
/// long symlinks, a hard link, a FIFO, and a directory of 300 files (its
/// directory grows past one block).
fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("docs/deep/er")).unwrap();
    std::fs::create_dir_all(root.join("many")).unwrap();
    std::fs::write(root.join("docs/a.txt"), "alpha\n").unwrap();
    std::fs::write(root.join("docs/deep/er/b.txt"), "bravo ".repeat(1000)).unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(root.join("docs/big.bin"), &big).unwrap();
    std::fs::write(root.join("empty"), "").unwrap();
    std::fs::set_permissions(root.join("docs/a.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    symlink("docs/a.txt", root.join("short-link")).unwrap();
    symlink("x".repeat(100), root.join("long-link")).unwrap();
    std::fs::hard_link(root.join("docs/a.txt"), root.join("a-again.txt")).unwrap();
    let fifo = CString::new(root.join("pipe").to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path that lives across the call.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    for i in 0..300 {
        std::fs::write(root.join(format!("many/file-{i:04}-with-a-longish-name.txt")), format!("file {i}\n")).unwrap();
    }
}

#[test]
fn populate_tree_and_vectors_fsck_clean() {
    for &dim in &[8u32, 384, 1500] {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        make_tree(&src);
        let mut lines = vec![
            manifest_line("docs/a.txt", &vector_of(0, dim as usize)),
            manifest_line("./docs/deep/er/b.txt", &vector_of(1, dim as usize)),
            manifest_line("docs/big.bin", &vector_of(2, dim as usize)),
            "# a comment, then a blank line".to_string(),
            String::new(),
        ];
        for i in (0..300).step_by(3) {
            lines.push(manifest_line(&format!("many/file-{i:04}-with-a-longish-name.txt"), &vector_of(10 + i, dim as usize)));
        }
        let man = d.path().join("m.jsonl");
        std::fs::write(&man, lines.join("\n")).unwrap();
        let img = d.path().join("p.img");
        let (code, out) = mkfs_bin(&[
            "--dim", &dim.to_string(), "--metric", "cosine", "-d", src.to_str().unwrap(),
            "--manifest", man.to_str().unwrap(), img.to_str().unwrap(), "64M",
        ]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("103 vectors") && out.contains("1 hard links"), "{out}");
        let (code, out) = fsck_bin(&img, &["-n", "-f", "-v"]);
        assert_eq!(code, 0, "dim {dim}: {out}");

        let fs = open_fs(&img);
        // Files, byte for byte, with their parents.
        // (docs/a.txt is first linked as a-again.txt, in the root: its parent.)
        for rel in ["a-again.txt", "docs/deep/er/b.txt", "docs/big.bin", "empty", "many/file-0123-with-a-longish-name.txt"] {
            let ino = resolve(&fs, rel);
            let m = fs.read_inode(ino).unwrap().unwrap();
            assert_eq!(read_all(&fs, ino, &m), std::fs::read(src.join(rel)).unwrap(), "{rel}");
            let parent_rel = Path::new(rel).parent().unwrap().to_str().unwrap();
            let want_parent = if parent_rel.is_empty() { VEXFS_ROOT_INO } else { resolve(&fs, parent_rel) };
            assert_eq!(m.parent, want_parent, "{rel}");
        }
        let a = fs.read_inode(resolve(&fs, "docs/a.txt")).unwrap().unwrap();
        assert_eq!(a.mode, mode::S_IFREG | 0o640);
        assert_eq!(a.links_count, 2);
        assert_eq!(resolve(&fs, "a-again.txt"), resolve(&fs, "docs/a.txt"));
        let short = fs.read_inode(resolve(&fs, "short-link")).unwrap().unwrap();
        assert_eq!(short.mode & mode::S_IFMT, mode::S_IFLNK);
        assert!(short.flags & VEXFS_INODE_FL_INLINE_SYMLINK != 0 && short.size == 10);
        let long = fs.read_inode(resolve(&fs, "long-link")).unwrap().unwrap();
        assert_eq!(read_all(&fs, resolve(&fs, "long-link"), &long), "x".repeat(100).into_bytes());
        let pipe = fs.read_inode(resolve(&fs, "pipe")).unwrap().unwrap();
        assert_eq!(pipe.mode, mode::S_IFIFO | 0o600);
        let docs = fs.read_inode(resolve(&fs, "docs")).unwrap().unwrap();
        assert_eq!(docs.links_count, 3); // ".", its name, "deep/.."
        let many = fs.read_inode(resolve(&fs, "many")).unwrap().unwrap();
        assert!(many.size > BLOCK_SIZE as u64);

        // The vector store: inode 3, one-chunk sets by slot, allocated in
        // the slot bitmap (inode 5), named by the owners' chunk fields.
        let store = fs.read_inode(VEXFS_VECSTORE_INO).unwrap().expect("vector store inode");
        assert_eq!((store.mode, store.links_count), (mode::S_IFREG | 0o600, 1));
        let store_data = read_all(&fs, VEXFS_VECSTORE_INO, &store);
        let smap = fs.read_inode(VEXFS_SLOTMAP_INO).unwrap().expect("slot bitmap inode");
        let smap_data = read_all(&fs, VEXFS_SLOTMAP_INO, &smap);
        assert_eq!(smap.size, 103u64.div_ceil(8));
        assert!((0..103).all(|s| slot_bit(&smap_data, s)) && !slot_bit(&smap_data, 103));
        let check = |rel: &str, want: &[f32]| {
            let ino = resolve(&fs, rel);
            let m = fs.read_inode(ino).unwrap().unwrap();
            assert!(m.flags & VEXFS_INODE_FL_HAS_VECTOR != 0, "{rel}");
            assert_eq!((m.vector_dim, m.chunk_count, m.data_version, m.chunk_version), (dim, 1, 0, 0));
            let p = chunk_record_pos(m.chunk_first as u64, dim).unwrap();
            let off = (p.block * BLOCK_SIZE as u64 + p.offset as u64) as usize;
            let mut got = vec![0u32; dim as usize];
            let h = decode_chunk_record(&store_data[off..off + p.len as usize], dim, Some(&mut got)).unwrap();
            assert_eq!((h.ino, h.generation, h.chunk, h.offset, h.length), (ino, m.generation, 0, 0, 0));
            let got: Vec<f32> = got.iter().map(|b| f32::from_bits(*b)).collect();
            assert_eq!(got, want, "{rel}");
        };
        check("docs/a.txt", &vector_of(0, dim as usize));
        check("docs/deep/er/b.txt", &vector_of(1, dim as usize));
        check("many/file-0297-with-a-longish-name.txt", &vector_of(307, dim as usize));
        // The HNSW graph (inode 4): every vector a node keyed by its inode,
        // stamped with the vector generation, as the kernel loads it.
        let gi = fs.read_inode(VEXFS_GRAPH_INO).unwrap().expect("graph inode");
        let mut words: Vec<u32> = Vec::new();
        let gdata = read_all(&fs, VEXFS_GRAPH_INO, &gi);
        for (b, blk) in gdata.chunks_exact(BLOCK_SIZE).enumerate() {
            words.resize((b + 1) * 1024, 0);
            vexfs_core::hnsw::decode_block(blk, b, &mut words).unwrap();
        }
        let g = vexfs_core::hnsw::Graph::open(&mut words).unwrap();
        assert_eq!(g.len(), 103);
        assert_eq!(g.generation(), fs.geom.vector_generation);
        assert_eq!(fs.geom.graph_generation, fs.geom.vector_generation);
        // The index summary: every slot live, one file per vector, none
        // stale, stamped with the generation the graph carries too.
        assert_ne!(fs.geom.vector_generation, 0);
        assert_eq!(
            (fs.geom.index_generation, fs.geom.index_live, fs.geom.index_files, fs.geom.index_stale),
            (fs.geom.vector_generation, 103, 103, 0)
        );
        assert!(IndexSummary::trusted(&fs.geom));
        assert_eq!((g.params().dim, g.params().metric, g.params().m), (dim, VEXFS_METRIC_COSINE, fs.geom.hnsw_m));
        let a_ino = resolve(&fs, "docs/a.txt");
        assert!((0..g.capacity()).any(|s| g.node_key(s) == Some(a_ino as u64)));
        let unflagged = fs.read_inode(resolve(&fs, "many/file-0001-with-a-longish-name.txt")).unwrap().unwrap();
        assert_eq!((unflagged.flags & VEXFS_INODE_FL_HAS_VECTOR, unflagged.vector_dim), (0, 0));
        assert_eq!((unflagged.chunk_first, unflagged.chunk_count), (0, 0));
    }
}

#[test]
fn populate_without_manifest_and_refusals() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    make_tree(&src);
    let img = d.path().join("p.img");
    let (code, out) = mkfs_bin(&["-d", src.to_str().unwrap(), img.to_str().unwrap(), "32M"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 vectors"), "{out}");
    let (code, out) = fsck_bin(&img, &["-n", "-f"]);
    assert_eq!(code, 0, "{out}");
    let fs = open_fs(&img);
    assert!(fs.read_inode(VEXFS_VECSTORE_INO).unwrap().is_none());
    // No chunk set: the summary is the empty store's, stamped with the
    // generation the volume has (0: none, so a reader scans the empty store).
    assert!(fs.geom.feature_compat & VEXFS_FEATURE_COMPAT_INDEX_SUMMARY != 0);
    assert_eq!(IndexSummary::of(&fs.geom), IndexSummary { generation: fs.geom.vector_generation, ..Default::default() });
    drop(fs);
    // --no-graph: records and flags, no graph (the kernel builds it at mount).
    std::fs::write(d.path().join("one.jsonl"), r#"{"path": "docs/a.txt", "vector": [1, 2]}"#).unwrap();
    let (code, out) = mkfs_bin(&["--dim", "2", "-d", src.to_str().unwrap(), "--manifest",
        d.path().join("one.jsonl").to_str().unwrap(), "--no-graph", img.to_str().unwrap()]);
    assert!(code == 0 && out.contains("1 vectors in 1 files, HNSW graph left to the kernel"), "{out}");
    let (code, out) = fsck_bin(&img, &["-n", "-f"]);
    assert_eq!(code, 0, "{out}");
    let fs = open_fs(&img);
    assert!(fs.read_inode(VEXFS_GRAPH_INO).unwrap().is_none());
    assert!(fs.geom.vector_generation > fs.geom.graph_generation);
    // Without a graph the summary still describes the store.
    assert_eq!(IndexSummary::of(&fs.geom), IndexSummary { generation: fs.geom.vector_generation, live: 1, files: 1, stale: 0 });

    let man = d.path().join("m.jsonl");
    let run = |man_text: &str| {
        std::fs::write(&man, man_text).unwrap();
        mkfs_bin(&["--dim", "2", "-d", src.to_str().unwrap(), "--manifest", man.to_str().unwrap(), img.to_str().unwrap()])
    };
    let (code, out) = run(r#"{"path": "nope.txt", "vector": [1, 2]}"#);
    assert!(code == 1 && out.contains("\"nope.txt\" is not a regular file"), "{out}");
    let (code, out) = run(r#"{"path": "docs", "vector": [1, 2]}"#);
    assert!(code == 1 && out.contains("not a regular file"), "{out}");
    let (code, out) = run(r#"{"path": "docs/a.txt", "vector": [1, 2, 3]}"#);
    assert!(code == 1 && out.contains("m.jsonl:1: vector of 3 components, the filesystem's dimension is 2"), "{out}");
    let (code, out) = run("{\"path\": \"docs/a.txt\", \"vector\": [1, 2]}\n{\"path\": \"a-again.txt\", \"vector\": [1, 2]}");
    assert!(code == 1 && out.contains("already has a vector"), "{out}");
    let (code, out) = run(r#"{"path": "../etc/passwd", "vector": [1, 2]}"#);
    assert!(code == 1 && out.contains("bad path"), "{out}");
    let (code, out) = run("not json");
    assert!(code == 1 && out.contains("m.jsonl:1: not JSON"), "{out}");
    // --manifest needs -d: a usage error.
    let (code, _) = mkfs_bin(&["--manifest", man.to_str().unwrap(), img.to_str().unwrap()]);
    assert_eq!(code, 2);
    // Not enough room: a clear error, exit 1.
    let small = d.path().join("small.img");
    let big = d.path().join("bigsrc");
    std::fs::create_dir(&big).unwrap();
    std::fs::write(big.join("f"), vec![1u8; 8 << 20]).unwrap();
    let (code, out) = mkfs_bin(&["-d", big.to_str().unwrap(), small.to_str().unwrap(), "6M"]);
    assert!(code == 1 && out.contains("no free block"), "{out}");
}

/// Every file's chunk set read back from the image: (chunk_first, records'
/// (offset, length, vector)); checks the slot bitmap covers exactly the
/// runs and the graph has node s keyed by slot s's owner.
fn read_sets(fs: &Fs, inos: &[u32]) -> Vec<(u32, Vec<(u64, u64, Vec<f32>)>)> {
    let dim = fs.geom.vector_dim;
    let store = fs.read_inode(VEXFS_VECSTORE_INO).unwrap().expect("store");
    let data = read_all(fs, VEXFS_VECSTORE_INO, &store);
    let smap = fs.read_inode(VEXFS_SLOTMAP_INO).unwrap().expect("slot bitmap");
    let map = read_all(fs, VEXFS_SLOTMAP_INO, &smap);
    let (mut words, _) = graph_file(fs);
    let g = vexfs_core::hnsw::Graph::open(&mut words).unwrap();
    assert_eq!(g.generation(), fs.geom.vector_generation);
    assert_eq!(fs.geom.graph_generation, fs.geom.vector_generation);
    let mut total = 0u64;
    let mut out = Vec::new();
    for &ino in inos {
        let m = fs.read_inode(ino).unwrap().unwrap();
        assert!(m.flags & VEXFS_INODE_FL_HAS_VECTOR != 0 && m.vector_dim == dim, "inode {ino}");
        assert_eq!((m.data_version, m.chunk_version), (0, 0), "a fresh set is not stale");
        let mut chunks = Vec::new();
        for c in 0..m.chunk_count {
            let s = (m.chunk_first + c) as u64;
            assert!(slot_bit(&map, s), "slot {s} free");
            assert_eq!(g.node_key(s as u32), Some(ino as u64), "graph node {s}");
            let p = chunk_record_pos(s, dim).unwrap();
            let off = (p.block * BLOCK_SIZE as u64 + p.offset as u64) as usize;
            let mut bits = vec![0u32; dim as usize];
            let h = decode_chunk_record(&data[off..off + p.len as usize], dim, Some(&mut bits)).unwrap();
            assert_eq!((h.ino, h.generation, h.chunk), (ino, m.generation, c));
            chunks.push((h.offset, h.length, bits.iter().map(|b| f32::from_bits(*b)).collect()));
        }
        total += m.chunk_count as u64;
        out.push((m.chunk_first, chunks));
    }
    // Exactly the runs are allocated, and the graph holds exactly them.
    assert_eq!((0..smap.size * 8).filter(|&s| slot_bit(&map, s)).count() as u64, total);
    assert_eq!(g.len() as u64, total);
    out
}

fn write_fvecs(p: &Path, rows: &[Vec<f32>]) {
    let mut b = Vec::new();
    for r in rows {
        b.extend_from_slice(&(r.len() as i32).to_le_bytes());
        for x in r {
            b.extend_from_slice(&x.to_le_bytes());
        }
    }
    std::fs::write(p, b).unwrap();
}

fn write_npy(p: &Path, rows: &[Vec<f32>], descr: &str) {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {}), }}", rows.len(), rows[0].len());
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    for r in rows {
        for x in r {
            b.extend_from_slice(&x.to_le_bytes());
        }
    }
    std::fs::write(p, b).unwrap();
}

#[test]
fn populate_chunk_sets_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    for n in ["a", "b", "c", "e"] {
        std::fs::write(src.join("d").join(n), n.repeat(3000)).unwrap();
    }
    let dim = 6usize;
    // a: 3 chunks interleaved with c's 40 (line order = chunk order);
    // b: a whole-file vector; e: no vector. Ranges may overlap, come out of
    // order and pass the end of file.
    let mut lines = Vec::new();
    let mut want_a = Vec::new();
    let mut want_c = Vec::new();
    for i in 0..43usize {
        let v = vector_of(100 + i, dim);
        if i % 15 == 0 {
            let (o, l) = (5000 - i as u64 * 10, (i as u64) * 7);
            lines.push(serde_json::json!({"path": "d/a", "offset": o, "length": l, "vector": v}).to_string());
            want_a.push((o, l, v));
        } else {
            let (o, l) = (i as u64 * 50, 100);
            lines.push(serde_json::json!({"path": "./d/c", "offset": o, "length": l, "vector": v}).to_string());
            want_c.push((o, l, v));
        }
    }
    lines.push(manifest_line("d/b", &vector_of(7, dim)));
    let man = d.path().join("m.jsonl");
    std::fs::write(&man, lines.join("\n") + "\n").unwrap();
    let img = d.path().join("c.img");
    let (code, out) = mkfs_bin(&["--dim", "6", "-d", src.to_str().unwrap(), "--manifest", man.to_str().unwrap(), img.to_str().unwrap(), "32M"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("44 vectors in 3 files, HNSW graph of 44 nodes"), "{out}");
    assert!(!out.contains("quantiser"), "44 vectors: below the kernel's threshold: {out}");
    let (code, out) = fsck_bin(&img, &["-n", "-f"]);
    assert_eq!(code, 0, "{out}");
    let fs = open_fs(&img);
    let (a, b, c, e) = (resolve(&fs, "d/a"), resolve(&fs, "d/b"), resolve(&fs, "d/c"), resolve(&fs, "d/e"));
    let sets = read_sets(&fs, &[a, b, c]);
    // Runs in inode order, contiguous.
    assert_eq!((sets[0].0, sets[1].0, sets[2].0), (0, 3, 4));
    assert_eq!(sets[0].1, want_a);
    assert_eq!(sets[1].1, vec![(0, 0, vector_of(7, dim))]);
    assert_eq!(sets[2].1, want_c);
    let em = fs.read_inode(e).unwrap().unwrap();
    assert_eq!((em.flags & VEXFS_INODE_FL_HAS_VECTOR, em.chunk_count, em.chunk_first), (0, 0, 0));
}

#[test]
fn populate_bulk_rows_from_fvecs_and_npy() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let dim = 8usize;
    let rows: Vec<Vec<f32>> = (0..500).map(|i| vector_of(i, dim)).collect();
    let mut lines = Vec::new();
    let mut want: Vec<Vec<(u64, u64, Vec<f32>)>> = vec![Vec::new(); 20];
    for f in 0..20usize {
        std::fs::write(src.join(format!("f{f:02}")), "x".repeat(1000)).unwrap();
    }
    // 20 files x 20 chunks, rows taken in a scrambled order; a few inline vectors too.
    for k in 0..400usize {
        let f = k % 20;
        let (o, l) = ((k / 20) as u64 * 50, 50);
        if k % 97 == 0 {
            let v = vector_of(9000 + k, dim);
            lines.push(serde_json::json!({"path": format!("f{f:02}"), "offset": o, "length": l, "vector": v}).to_string());
            want[f].push((o, l, v));
        } else {
            let r = (k * 37) % 500;
            lines.push(serde_json::json!({"path": format!("f{f:02}"), "offset": o, "length": l, "row": r}).to_string());
            want[f].push((o, l, rows[r].clone()));
        }
    }
    let man = d.path().join("m.jsonl");
    std::fs::write(&man, lines.join("\n")).unwrap();
    for (name, write) in [("v.fvecs", 0), ("v.npy", 1)] {
        let vp = d.path().join(name);
        if write == 0 {
            write_fvecs(&vp, &rows);
        } else {
            write_npy(&vp, &rows, "<f4");
        }
        let img = d.path().join("b.img");
        let (code, out) = mkfs_bin(&[
            "--dim", "8", "-d", src.to_str().unwrap(), "--manifest", man.to_str().unwrap(),
            "--vectors", vp.to_str().unwrap(), img.to_str().unwrap(), "32M",
        ]);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.contains("400 vectors in 20 files"), "{out}");
        let (code, out) = fsck_bin(&img, &["-n", "-f"]);
        assert_eq!(code, 0, "{name}: {out}");
        let fs = open_fs(&img);
        let inos: Vec<u32> = (0..20).map(|f| resolve(&fs, &format!("f{f:02}"))).collect();
        let sets = read_sets(&fs, &inos);
        for (f, (first, chunks)) in sets.iter().enumerate() {
            assert_eq!(*first as usize, f * 20, "{name}: f{f:02}");
            assert_eq!(chunks, &want[f], "{name}: f{f:02}");
        }
    }
}

#[test]
fn chunk_manifest_refusals() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a"), "alpha").unwrap();
    let img = d.path().join("r.img");
    let man = d.path().join("m.jsonl");
    let vec2 = d.path().join("v.fvecs");
    write_fvecs(&vec2, &[vec![1.0, 2.0], vec![3.0, 4.0]]);
    let run = |text: &str, vectors: Option<&Path>| {
        std::fs::write(&man, text).unwrap();
        let mut args = vec!["--dim", "2", "-d", src.to_str().unwrap(), "--manifest", man.to_str().unwrap()];
        if let Some(v) = vectors {
            args.extend(["--vectors", v.to_str().unwrap()]);
        }
        args.extend([img.to_str().unwrap(), "16M"]);
        mkfs_bin(&args)
    };
    let refuse = |text: &str, vectors: Option<&Path>, needle: &str| {
        let (code, out) = run(text, vectors);
        assert!(code == 1 && out.contains(needle), "{text}: want '{needle}', got exit {code}: {out}");
    };
    refuse(r#"{"path": "a", "offset": 0, "vector": [1, 2]}"#, None, "m.jsonl:1: \"offset\" and \"length\" go together");
    refuse(r#"{"path": "a", "offset": -1, "length": 2, "vector": [1, 2]}"#, None, "\"offset\" is not a non-negative integer");
    refuse(r#"{"path": "a", "offset": 18446744073709551615, "length": 1, "vector": [1, 2]}"#, None, "offset 18446744073709551615 + length 1 overflows");
    refuse(r#"{"path": "a", "row": 0}"#, None, "\"row\" needs --vectors");
    refuse(r#"{"path": "a", "row": 2}"#, Some(&vec2), "row 2 but");
    refuse(r#"{"path": "a", "row": 0, "vector": [1, 2]}"#, Some(&vec2), "both \"vector\" and \"row\"");
    refuse(r#"{"path": "a", "vector": [1e39, 2]}"#, None, "not a finite float32");
    refuse(
        "{\"path\": \"a\", \"vector\": [1, 2]}\n{\"path\": \"a\", \"offset\": 0, \"length\": 1, \"vector\": [1, 2]}",
        None,
        "m.jsonl:2: \"a\" already has a vector (line 1)",
    );
    refuse(
        "{\"path\": \"a\", \"offset\": 0, \"length\": 1, \"vector\": [1, 2]}\n{\"path\": \"a\", \"vector\": [1, 2]}",
        None,
        "m.jsonl:2: \"a\" already has a vector (line 1)",
    );
    let many: String = (0..=VEXFS_MAX_CHUNKS).map(|i| format!("{{\"path\": \"a\", \"offset\": {i}, \"length\": 1, \"row\": 0}}\n")).collect();
    refuse(&many, Some(&vec2), "m.jsonl:16385: \"a\" has more than 16384 chunks");
    // Exactly the limit is fine.
    let most: String = (0..VEXFS_MAX_CHUNKS).map(|i| format!("{{\"path\": \"a\", \"offset\": {i}, \"length\": 1, \"row\": {}}}\n", i % 2)).collect();
    let (code, out) = run(&most, Some(&vec2));
    assert!(code == 0 && out.contains("16384 vectors in 1 files"), "{out}");
    let (code, out) = fsck_bin(&img, &["-n", "-f"]);
    assert_eq!(code, 0, "{out}");
    // Vectors files: wrong dimension, bad dtype, truncated, NaN rows, unknown type.
    let v3 = d.path().join("v3.fvecs");
    write_fvecs(&v3, &[vec![1.0, 2.0, 3.0]]);
    refuse(r#"{"path": "a", "row": 0}"#, Some(&v3), "v3.fvecs: 16 bytes is not a whole number of 12-byte fvecs rows of dimension 2");
    let bad_npy = d.path().join("v.npy");
    write_npy(&bad_npy, &[vec![1.0, 2.0]], "<f8");
    refuse(r#"{"path": "a", "row": 0}"#, Some(&bad_npy), "v.npy: dtype '<f8' is not little-endian float32");
    write_npy(&bad_npy, &[vec![1.0, 2.0, 3.0]], "<f4");
    refuse(r#"{"path": "a", "row": 0}"#, Some(&bad_npy), "v.npy: rows of dimension 3, the filesystem's is 2");
    let nan = d.path().join("nan.fvecs");
    write_fvecs(&nan, &[vec![1.0, f32::NAN]]);
    refuse(r#"{"path": "a", "row": 0}"#, Some(&nan), "row 0 of");
    let other = d.path().join("v.bin");
    std::fs::write(&other, [0u8; 8]).unwrap();
    refuse(r#"{"path": "a", "row": 0}"#, Some(&other), "unknown vectors file type");
    // --vectors needs --manifest: a usage error.
    let (code, _) = mkfs_bin(&["-d", src.to_str().unwrap(), "--vectors", vec2.to_str().unwrap(), img.to_str().unwrap()]);
    assert_eq!(code, 2);
}

/// Searches over the vectors read back by slot, for the recall check.
struct SlotProvider<'a> {
    kernel: vexfs_simd::Kernel,
    by_slot: &'a [f32],
    dim: usize,
    query: Vec<f32>,
}

impl vexfs_core::hnsw::DistanceProvider for SlotProvider<'_> {
    fn dist_batch(&mut self, q: vexfs_core::hnsw::Query, ids: &[u32], out: &mut [u32]) -> Result<(), vexfs_core::hnsw::HnswError> {
        let qv: &[f32] = match q {
            vexfs_core::hnsw::Query::Input => &self.query,
            vexfs_core::hnsw::Query::Node(n) => &self.by_slot[n as usize * self.dim..(n as usize + 1) * self.dim],
        };
        self.kernel.dist_batch_strided(qv, self.by_slot, self.dim, ids, out).map_err(|_| vexfs_core::hnsw::HnswError::Provider(-22))
    }
}

#[test]
fn bulk_graph_finds_the_nearest_chunks() {
    // 3000 rows in 30 files x 100 chunks, rows referenced out of order: the
    // graph the host builds (node s = slot s, its vector row slot_src[s])
    // must be a graph over the vectors the slots hold.
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let dim = 16usize;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let rows: Vec<Vec<f32>> = (0..3000).map(|_| (0..dim).map(|_| rnd()).collect()).collect();
    let mut lines = Vec::new();
    for f in 0..30usize {
        std::fs::write(src.join(format!("f{f:02}")), "y").unwrap();
        for c in 0..100usize {
            let r = (f * 100 + c) * 7 % 3000; // a permutation of 0..3000
            lines.push(format!("{{\"path\": \"f{f:02}\", \"offset\": {c}, \"length\": 1, \"row\": {r}}}"));
        }
    }
    let man = d.path().join("m.jsonl");
    std::fs::write(&man, lines.join("\n")).unwrap();
    let vp = d.path().join("v.fvecs");
    write_fvecs(&vp, &rows);
    let img = d.path().join("g.img");
    let (code, out) = mkfs_bin(&[
        "--dim", "16", "-d", src.to_str().unwrap(), "--manifest", man.to_str().unwrap(),
        "--vectors", vp.to_str().unwrap(), img.to_str().unwrap(), "64M",
    ]);
    assert_eq!(code, 0, "{out}");
    let fs = open_fs(&img);
    let inos: Vec<u32> = (0..30).map(|f| resolve(&fs, &format!("f{f:02}"))).collect();
    let sets = read_sets(&fs, &inos);
    let by_slot: Vec<f32> = sets.iter().flat_map(|(_, ch)| ch.iter().flat_map(|c| c.2.iter().copied())).collect();
    assert_eq!(by_slot.len(), 3000 * dim);
    let (mut words, _) = graph_file(&fs);
    let g = vexfs_core::hnsw::Graph::open(&mut words).unwrap();
    let (cap, m) = (g.capacity(), g.params().m);
    let sz = vexfs_core::hnsw::scratch_size(cap, m, 200);
    let (mut s32, mut s64) = (vec![0u32; sz.u32_words], vec![0u64; sz.u64_words]);
    let mut s = vexfs_core::hnsw::Scratch::new(&mut s32, &mut s64, cap, m, 200).unwrap();
    let kernel = vexfs_simd::Kernel::new(VEXFS_METRIC_L2, 0).unwrap();
    let mut p = SlotProvider { kernel, by_slot: &by_slot, dim, query: Vec::new() };
    let mut found = 0usize;
    for _ in 0..20 {
        p.query = (0..dim).map(|_| rnd()).collect();
        let mut out = [vexfs_core::hnsw::Hit::default(); 10];
        let n = g.search_knn(&mut p, &mut s, 10, 100, |_| true, &mut out).unwrap();
        assert_eq!(n, 10);
        let mut exact: Vec<(f32, u32)> = (0..3000u32)
            .map(|sl| {
                let v = &by_slot[sl as usize * dim..(sl as usize + 1) * dim];
                (v.iter().zip(&p.query).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(), sl)
            })
            .collect();
        exact.sort_by(|a, b| a.0.total_cmp(&b.0));
        let truth: Vec<u32> = exact[..10].iter().map(|e| e.1).collect();
        found += out.iter().filter(|h| truth.contains(&h.slot)).count();
        // Keys are the slots' owners.
        for h in &out {
            assert_eq!(h.key, inos[h.slot as usize / 100] as u64);
        }
    }
    let recall = found as f64 / 200.0;
    assert!(recall >= 0.9, "recall@10 {recall}");
}

// ---- the int8 quantiser's copy after the graph (struct vexfs_sq8_disk) ----

/// A populated image of `n` one-chunk files of dimension `dim` under
/// `metric` (l2/cosine/dot): (image path, mkfs output, the vectors in slot
/// order). Files are named so that inode order is name order.
fn quantiser_image(d: &Path, n: usize, dim: usize, metric: &str) -> (std::path::PathBuf, String, Vec<Vec<f32>>) {
    let src = d.join(format!("src-{n}-{metric}"));
    std::fs::create_dir_all(&src).unwrap();
    let mut lines = Vec::new();
    let mut by_slot = Vec::new();
    for i in 0..n {
        let name = format!("f{i:05}");
        std::fs::write(src.join(&name), "z").unwrap();
        // Spread over several magnitudes, so cosine's normalisation matters.
        let v: Vec<f32> = vector_of(i, dim).iter().map(|x| x * (1 + i % 5) as f32).collect();
        lines.push(manifest_line(&name, &v));
        by_slot.push(v);
    }
    let man = d.join(format!("m-{n}-{metric}.jsonl"));
    std::fs::write(&man, lines.join("\n")).unwrap();
    let img = d.join(format!("q-{n}-{metric}.img"));
    let dims = dim.to_string();
    let (code, out) = mkfs_bin(&[
        "--dim", &dims, "--metric", metric, "-d", src.to_str().unwrap(), "--manifest", man.to_str().unwrap(),
        img.to_str().unwrap(), "32M",
    ]);
    assert_eq!(code, 0, "{out}");
    (img, out, by_slot)
}

#[test]
fn quantiser_is_written_with_the_graph_as_the_kernel_trains_it() {
    let d = tempfile::tempdir().unwrap();
    let dim = 12usize;
    for (metric, id) in [("cosine", VEXFS_METRIC_COSINE), ("l2", VEXFS_METRIC_L2)] {
        let (img, out, by_slot) = quantiser_image(d.path(), 300, dim, metric);
        assert!(out.contains("300 vectors in 300 files, HNSW graph of 300 nodes with its int8 quantiser"), "{out}");
        let (code, fout) = fsck_bin(&img, &["-n", "-f"]);
        assert_eq!(code, 0, "{metric}: {fout}");
        let fs = open_fs(&img);
        let (mut words, rest) = graph_file(&fs);
        let g = vexfs_core::hnsw::Graph::open(&mut words).unwrap();
        // Exactly the copy's blocks follow the graph's (the kernel's
        // preallocation), stamped with the graph's generation.
        assert_eq!(rest.len(), sq8::blocks(dim as u32) * BLOCK_SIZE);
        let (mut min, mut scale) = (vec![0u32; dim], vec![0u32; dim]);
        let mut why = String::new();
        sq8::check(&rest, dim as u32, id, g.generation(), Some((&mut min, &mut scale)), &mut why).unwrap_or_else(|e| panic!("{metric}: {e:?} {why}"));
        assert_eq!(g.generation(), fs.geom.vector_generation);
        // What simd's train gives on the kernel's sample (every slot: 300 <
        // 16384), cosine over the unit-length vectors.
        assert_eq!(sq8::sample_step(300), 1);
        let seen: Vec<f32> = by_slot
            .iter()
            .flat_map(|v| {
                let mut u = v.clone();
                if id == VEXFS_METRIC_COSINE {
                    vexfs_simd::normalize(&mut u);
                }
                u
            })
            .collect();
        let (mut tmin, mut tscale) = (vec![0f32; dim], vec![0f32; dim]);
        vexfs_simd::quant::train(&seen, &mut tmin, &mut tscale).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        assert_eq!((min, scale), (bits(&tmin), bits(&tscale)), "{metric}");
        // The kernel's checksum (seed ~0, no final inversion) over min then scale.
        let crc = u32::from_le_bytes(rest[24..28].try_into().unwrap());
        assert_eq!(crc, !vexfs_core::format::checksum::crc32c(&rest[sq8::HEADER_SIZE..sq8::bytes(dim as u32)]));
    }
}

#[test]
fn no_quantiser_below_the_kernels_threshold() {
    let d = tempfile::tempdir().unwrap();
    let (img, out, _) = quantiser_image(d.path(), 255, 4, "l2");
    assert!(out.contains("HNSW graph of 255 nodes") && !out.contains("quantiser"), "{out}");
    let fs = open_fs(&img);
    let (_, rest) = graph_file(&fs);
    assert!(rest.is_empty(), "{} bytes after the graph", rest.len());
    let (code, fout) = fsck_bin(&img, &["-n", "-f"]);
    assert_eq!(code, 0, "{fout}");
}

#[test]
fn quantiser_trains_on_the_kernels_even_sample() {
    // 40,000 live slots: every 2nd one, from slot 0, in slot order (not
    // row order: slot_src maps slots to rows in reverse here).
    let (n, dim) = (40_000usize, 3usize);
    assert_eq!(sq8::sample_step(n as u64), 2);
    let mut base: Vec<f32> = (0..n * dim).map(|i| ((i * 7919) % 10007) as f32 - 5000.0).collect();
    // Row 0 is the last slot's, which the sample skips: out of every range.
    base[..dim].fill(1.0e6);
    let slot_src: Vec<u32> = (0..n as u32).rev().collect();
    let (min, scale) = vexfs_tools::fsimage::populate::train_quantiser(VEXFS_METRIC_DOT, dim, &base, &slot_src).unwrap();
    let sample: Vec<f32> = slot_src.iter().step_by(2).flat_map(|&r| base[r as usize * dim..(r as usize + 1) * dim].to_vec()).collect();
    assert_eq!(sample.len(), 20_000 * dim);
    let (mut tmin, mut tscale) = (vec![0f32; dim], vec![0f32; dim]);
    vexfs_simd::quant::train(&sample, &mut tmin, &mut tscale).unwrap();
    assert_eq!(min, tmin.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    assert_eq!(scale, tscale.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    // Training on every slot would differ (row 0's maximum).
    let (mut amin, mut ascale) = (vec![0f32; dim], vec![0f32; dim]);
    vexfs_simd::quant::train(&base, &mut amin, &mut ascale).unwrap();
    assert_ne!((tmin, tscale), (amin, ascale));
}

#[test]
fn quantiser_threshold_is_the_kernels() {
    // VEXFS_SQ8_MIN lives in a kernel-private header; the core mirrors it.
    let h = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../kernel/vindex.h")).unwrap();
    let line = h.lines().find(|l| l.starts_with("#define VEXFS_SQ8_MIN")).expect("VEXFS_SQ8_MIN in kernel/vindex.h");
    let v: u64 = line.split_whitespace().nth(2).unwrap().trim_end_matches('u').parse().unwrap();
    assert_eq!(v, sq8::MIN_LIVE);
}
