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
    drop(fs);
    // --no-graph: records and flags, no graph (the kernel builds it at mount).
    std::fs::write(d.path().join("one.jsonl"), r#"{"path": "docs/a.txt", "vector": [1, 2]}"#).unwrap();
    let (code, out) = mkfs_bin(&["--dim", "2", "-d", src.to_str().unwrap(), "--manifest",
        d.path().join("one.jsonl").to_str().unwrap(), "--no-graph", img.to_str().unwrap()]);
    assert!(code == 0 && out.contains("1 vectors, HNSW graph left to the kernel"), "{out}");
    let (code, out) = fsck_bin(&img, &["-n", "-f"]);
    assert_eq!(code, 0, "{out}");
    let fs = open_fs(&img);
    assert!(fs.read_inode(VEXFS_GRAPH_INO).unwrap().is_none());
    assert!(fs.geom.vector_generation > fs.geom.graph_generation);

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
