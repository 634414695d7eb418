//! vexctl end to end on the host, over tests/vexctl_fake.c: an LD_PRELOAD
//! stand-in for the VexFS ioctls (chunk sets in the user.vexfs.chunks xattr,
//! brute-force L2 search over chunks, INO_PATH by walking the tree). It exercises
//! vexctl's own logic (batching, path resolution, JSON shapes, dims,
//! errors); the real kernel is tested in the VM. Skipped with a message
//! when gcc or user xattrs are unavailable.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use vexfs_tools::vexctl::vecfile::encode_fvecs;

const DIM: usize = 4;

struct Fake {
    so: PathBuf,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

fn root_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn setup() -> Option<Fake> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let so = dir.path().join("fake.so");
    let r = root_dir();
    let out = match Command::new("gcc")
        .args(["-Wall", "-Werror", "-shared", "-fPIC", "-I"])
        .arg(r.join("shim"))
        .arg("-I")
        .arg(r.join("shim/uapi"))
        .arg("-o")
        .arg(&so)
        .arg(r.join("userspace-tools/tests/vexctl_fake.c"))
        .args(["-ldl", "-lm"])
        .output()
    {
        Ok(o) => o,
        Err(_) => {
            eprintln!("SKIP vexctl_e2e: gcc not found");
            return None;
        }
    };
    assert!(out.status.success(), "gcc: {}", String::from_utf8_lossy(&out.stderr));
    let root = dir.path().join("mnt");
    std::fs::create_dir(&root).unwrap();
    // User xattrs needed (ext4, btrfs, xfs, tmpfs >= 6.6 have them).
    let probe = root.join(".probe");
    std::fs::write(&probe, b"").unwrap();
    let cpath = std::ffi::CString::new(probe.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated strings and a 1-byte value.
    let rc = unsafe {
        libc::setxattr(cpath.as_ptr(), c"user.t".as_ptr(), b"1".as_ptr().cast(), 1, 0)
    };
    std::fs::remove_file(&probe).unwrap();
    if rc != 0 {
        eprintln!("SKIP vexctl_e2e: no user xattrs on {}", root.display());
        return None;
    }
    Some(Fake { so, root, _dir: dir })
}

impl Fake {
    fn run_in(&self, cwd: &Path, args: &[&str]) -> Output {
        self.run_env(cwd, args, false)
    }
    /// `old`: the fake plays a module older than chunk sets.
    fn run_env(&self, cwd: &Path, args: &[&str], old: bool) -> Output {
        Command::new(env!("CARGO_BIN_EXE_vexctl"))
            .args(args)
            .current_dir(cwd)
            .env("LD_PRELOAD", &self.so)
            .env("VEXFS_FAKE_ROOT", &self.root)
            .env("VEXFS_FAKE_DIM", DIM.to_string())
            .env("VEXFS_FAKE_OLD", if old { "1" } else { "0" })
            .output()
            .unwrap()
    }
    fn run(&self, args: &[&str]) -> Output {
        self.run_in(&self.root, args)
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }
    fn fail(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?} did not fail with 1");
        String::from_utf8(o.stderr).unwrap()
    }
}

fn vectors(n: usize) -> Vec<Vec<f32>> {
    (0..n).map(|i| vec![i as f32, (i % 7) as f32 * 0.5, -(i as f32) * 0.25, 1.0]).collect()
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[test]
fn import_search_get_rm_end_to_end() {
    let Some(f) = setup() else { return };
    let vs = vectors(50);
    let base = f.root.join("base.fvecs");
    std::fs::write(&base, encode_fvecs(&vs)).unwrap();

    // import in batches of 7 (the last one partial).
    let out = f.ok(&["import", "data", "--fvecs", "base.fvecs", "--batch", "7"]);
    assert!(out.starts_with("imported 50 vectors (dim 4) into data"), "{out}");
    for i in [0usize, 6, 7, 49] {
        assert!(f.root.join(format!("data/{i:08}")).exists());
    }
    assert!(!f.root.join("data/00000050").exists());

    // get: CSV and JSON.
    let csv = f.ok(&["get", "data/00000009"]);
    let want: Vec<String> = vs[9].iter().map(|x| format!("{x}")).collect();
    assert_eq!(csv.trim(), want.join(","));
    let j: Value = serde_json::from_str(&f.ok(&["get", "data/00000009", "--json"])).unwrap();
    assert_eq!(j["path"], "data/00000009");
    assert_eq!(j["dim"], 4);
    assert_eq!(j["vector"].as_array().unwrap().len(), 4);

    // search: nearest is the query's own file, paths relative to the mount.
    let q: Vec<String> = vs[20].iter().map(|x| format!("{x}")).collect();
    let q = q.join(",");
    let raw = f.ok(&["search", ".", "--vector", &q, "-k", "5", "--json"]);
    assert_eq!(raw.lines().count(), 1);
    assert!(raw.starts_with("[{\"path\":\"data/00000020\",\"ino\":"), "{raw}");
    let j: Value = serde_json::from_str(&raw).unwrap();
    let arr = j.as_array().unwrap();
    assert_eq!(arr.len(), 5);
    assert_eq!(arr[0]["path"], "data/00000020");
    assert_eq!(arr[0]["distance"], 0.0);
    assert!(arr[0]["ino"].as_u64().unwrap() > 0);
    // path, ino, distance, chunk, offset, length, stale.
    assert_eq!(arr[1].as_object().unwrap().len(), 7);
    assert_eq!(arr[0]["chunk"], 0);
    assert_eq!(arr[0]["offset"], 0);
    assert_eq!(arr[0]["length"], 0);
    assert_eq!(arr[0]["stale"], false);
    let d: Vec<f64> = arr.iter().map(|r| r["distance"].as_f64().unwrap()).collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]));
    // --metadata adds size, mtime, dim.
    let j: Value = serde_json::from_str(&f.ok(&["search", "data/00000001", "--vector", &q, "-k", "2",
                                                "--json", "--metadata"])).unwrap();
    for key in ["path", "ino", "distance", "size", "mtime", "dim"] {
        assert!(j[0].get(key).is_some(), "missing {key}");
    }
    assert_eq!(j[0]["dim"], 4);
    // Table output.
    let t = f.ok(&["search", ".", "--vector", &q, "-k", "2"]);
    assert!(t.lines().nth(1).unwrap().ends_with("data/00000020"), "{t}");

    // range and similar.
    let j: Value = serde_json::from_str(&f.ok(&["range", ".", "--vector", &q, "--max-distance", "2", "--json"])).unwrap();
    let expect = vs.iter().filter(|v| l2(v, &vs[20]) <= 2.0).count();
    assert_eq!(j.as_array().unwrap().len(), expect);
    let j: Value = serde_json::from_str(&f.ok(&["range", ".", "--vector", &q, "--max-distance", "1e9",
                                                "--json", "--limit", "3"])).unwrap();
    assert_eq!(j.as_array().unwrap().len(), 3);
    let j: Value = serde_json::from_str(&f.ok(&["similar", ".", "--vector", &q, "--threshold", "0.99", "--json"])).unwrap();
    assert_eq!(j[0]["path"], "data/00000020");

    // batch-search: one array per query, in order.
    let qs = f.root.join("q.fvecs");
    std::fs::write(&qs, encode_fvecs(&[vs[3].clone(), vs[44].clone(), vs[17].clone()])).unwrap();
    f.ok(&["batch-search", ".", "--queries", "q.fvecs", "-k", "4", "--out", "r.jsonl"]);
    let lines: Vec<Value> = std::fs::read_to_string(f.root.join("r.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (line, want) in lines.iter().zip(["data/00000003", "data/00000044", "data/00000017"]) {
        assert_eq!(line.as_array().unwrap().len(), 4);
        assert_eq!(line[0]["path"], want);
    }

    // wrong dimensions name the file and both sizes.
    let e = f.fail(&["set", "data/00000001", "--vector", "1,2,3"]);
    assert_eq!(e.trim(), "vexctl: data/00000001: vector has 3 elements, this filesystem stores 4");
    let e = f.fail(&["search", ".", "--vector", "1,2"]);
    assert!(e.contains("query has 2 elements, this filesystem stores 4"), "{e}");

    // set, then rm, then get reports no vector.
    f.ok(&["set", "data/00000001", "--vector", "9,9,9,9"]);
    assert_eq!(f.ok(&["get", "data/00000001"]).trim(), "9,9,9,9");
    f.ok(&["rm", "data/00000001"]);
    let e = f.fail(&["get", "data/00000001"]);
    assert!(e.contains("data/00000001") && e.contains("ENODATA"), "{e}");

    // an unlinked file leaves the results.
    std::fs::remove_file(f.root.join("data/00000020")).unwrap();
    let j: Value = serde_json::from_str(&f.ok(&["search", ".", "--vector", &q, "-k", "3", "--json"])).unwrap();
    assert!(j.as_array().unwrap().iter().all(|r| r["path"] != "data/00000020"));

    // manifest: paths relative to the current directory.
    std::fs::write(f.root.join("a.txt"), b"a").unwrap();
    std::fs::create_dir(f.root.join("sub")).unwrap();
    std::fs::write(f.root.join("sub/b.txt"), b"b").unwrap();
    std::fs::write(
        f.root.join("m.jsonl"),
        format!(
            "{{\"path\": \"a.txt\", \"vector\": [1, 2, 3, 4]}}\n\n{{\"path\": \"{}\", \"vector\": [5, 6, 7, 8]}}\n",
            f.root.join("sub/b.txt").display()
        ),
    )
    .unwrap();
    let out = f.ok(&["import", "--manifest", "m.jsonl"]);
    assert!(out.starts_with("attached 2 vectors"), "{out}");
    assert_eq!(f.ok(&["get", "a.txt"]).trim(), "1,2,3,4");
    assert_eq!(f.ok(&["get", "sub/b.txt"]).trim(), "5,6,7,8");
    let j: Value = serde_json::from_str(&f.ok(&["search", ".", "--vector", "5,6,7,8", "-k", "1", "--json"])).unwrap();
    assert_eq!(j[0]["path"], "sub/b.txt");
    std::fs::write(f.root.join("m2.jsonl"), "{\"path\": \"a.txt\", \"vector\": [1, 2]}\n").unwrap();
    let e = f.fail(&["import", "--manifest", "m2.jsonl"]);
    assert!(e.contains("m2.jsonl:1: a.txt: vector has 2 elements, this filesystem stores 4"), "{e}");

    // status, stats, config.
    let s: Value = serde_json::from_str(&f.ok(&["status", ".", "--json"])).unwrap();
    assert_eq!(s["dim"], 4);
    assert_eq!(s["metric"], "l2");
    assert_eq!(s["sync_mode"], "immediate");
    assert_eq!(s["graph_valid"], true);
    assert_eq!(s["last_sync"], "2023-11-14T22:13:20.123456789Z");
    let st: Value = serde_json::from_str(&f.ok(&["stats", ".", "--json"])).unwrap();
    assert!(st.get("avg_search_ns").is_some() && st.get("distance_computations").is_some());
    let c = f.ok(&["config", ".", "--sync-mode", "lazy", "--ef-search", "99", "--json"]);
    let c: Value = serde_json::from_str(&c).unwrap();
    assert_eq!(c["sync_mode"], "lazy");
    assert_eq!(c["ef_search"], 99);
    assert!(f.ok(&["config", "."]).contains("sync mode"));
    f.ok(&["sync", "."]);
    f.ok(&["rebuild", "."]);
}

/// Writes a chunks file: one line per (offset, length, vector).
fn chunks_jsonl(chunks: &[(u64, u64, Vec<f32>)]) -> String {
    chunks
        .iter()
        .map(|(o, l, v)| format!("{{\"offset\": {o}, \"length\": {l}, \"vector\": {}}}\n", serde_json::json!(v)))
        .collect()
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
fn chunk_sets_end_to_end() {
    let Some(f) = setup() else { return };
    // Three files: a has 7 chunks (more than the fake's GET page of 3),
    // b and c one whole-file vector each.
    for n in ["a.txt", "b.txt", "c.txt"] {
        std::fs::write(f.root.join(n), vec![b'x'; 1000]).unwrap();
    }
    let a: Vec<(u64, u64, Vec<f32>)> =
        (0..7).map(|i| (i * 100, 150, vec![10.0 + i as f32, 0.0, 0.0, 0.0])).collect();
    std::fs::write(f.root.join("a.jsonl"), chunks_jsonl(&a)).unwrap();
    f.ok(&["set", "a.txt", "--chunks", "a.jsonl"]);
    f.ok(&["set", "b.txt", "--vector", "10.4,0,0,0"]);
    f.ok(&["set", "c.txt", "--vector", "50,0,0,0"]);

    // get --json: every chunk, in order, and the one-chunk shape.
    let j = json(&f.ok(&["get", "a.txt", "--json"]));
    assert_eq!(j["dim"], 4);
    assert_eq!(j["stale"], false);
    assert_eq!(j["vector"], Value::Null);
    let cs = j["chunks"].as_array().unwrap();
    assert_eq!(cs.len(), 7);
    for (i, c) in cs.iter().enumerate() {
        assert_eq!(c["offset"], i as u64 * 100);
        assert_eq!(c["length"], 150);
        assert_eq!(c["vector"][0], 10.0 + i as f64);
    }
    let t = f.ok(&["get", "a.txt"]);
    assert_eq!(t.lines().count(), 7);
    assert_eq!(t.lines().nth(2).unwrap(), "200 150 12,0,0,0");
    let j = json(&f.ok(&["get", "b.txt", "--json"]));
    assert_eq!(j["vector"], serde_json::json!([10.4, 0.0, 0.0, 0.0]));
    assert_eq!(j["chunks"], serde_json::json!([{"offset": 0, "length": 0, "vector": [10.4, 0.0, 0.0, 0.0]}]));
    assert_eq!(f.ok(&["get", "b.txt"]).trim(), "10.4,0,0,0");

    // search: chunks, nearest first; a.txt appears once per chunk.
    let j = json(&f.ok(&["search", ".", "--vector", "10,0,0,0", "-k", "4", "--json"]));
    let arr = j.as_array().unwrap();
    let got: Vec<(String, u64, u64)> = arr
        .iter()
        .map(|r| (r["path"].as_str().unwrap().to_string(), r["chunk"].as_u64().unwrap(), r["offset"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![("a.txt".into(), 0, 0), ("b.txt".into(), 0, 0), ("a.txt".into(), 1, 100), ("a.txt".into(), 2, 200)]
    );
    assert_eq!(arr[0]["length"], 150);
    // --per-file: each file once, with its nearest chunk.
    let j = json(&f.ok(&["search", ".", "--vector", "12.9,0,0,0", "-k", "10", "--json", "--per-file"]));
    let arr = j.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert_eq!(arr[0]["path"], "a.txt");
    assert_eq!(arr[0]["chunk"], 3);
    assert_eq!(arr[1]["path"], "b.txt");
    assert_eq!(arr[2]["path"], "c.txt");
    // The table shows byte ranges.
    let t = f.ok(&["search", ".", "--vector", "13,0,0,0", "-k", "1"]);
    assert!(t.lines().nth(1).unwrap().contains(" 300-450 "), "{t}");
    // range / similar carry the chunk fields too.
    let j = json(&f.ok(&["range", ".", "--vector", "10,0,0,0", "--max-distance", "1.1", "--json"]));
    assert_eq!(j.as_array().unwrap().len(), 3);
    assert!(j.as_array().unwrap().iter().all(|r| r.get("chunk").is_some() && r.get("stale").is_some()));
    let j = json(&f.ok(&["range", ".", "--vector", "10,0,0,0", "--max-distance", "1.1", "--json", "--per-file"]));
    assert_eq!(j.as_array().unwrap().len(), 2);

    // Append to a.txt: its hits are stale, --fresh drops them, b unchanged.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut fa = std::fs::OpenOptions::new().append(true).open(f.root.join("a.txt")).unwrap();
    std::io::Write::write_all(&mut fa, b"more").unwrap();
    drop(fa);
    let j = json(&f.ok(&["search", ".", "--vector", "10,0,0,0", "-k", "3", "--json"]));
    assert_eq!(j[0]["path"], "a.txt");
    assert_eq!(j[0]["stale"], true);
    assert_eq!(j[1]["path"], "b.txt");
    assert_eq!(j[1]["stale"], false);
    assert!(f.ok(&["search", ".", "--vector", "10,0,0,0", "-k", "1"]).contains("a.txt (stale)"));
    let j = json(&f.ok(&["search", ".", "--vector", "10,0,0,0", "-k", "3", "--json", "--fresh"]));
    assert_eq!(j.as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect::<Vec<_>>(),
               vec!["b.txt", "c.txt"]);
    assert_eq!(json(&f.ok(&["get", "a.txt", "--json"]))["stale"], true);
    // batch-search takes the same flags.
    std::fs::write(f.root.join("q.fvecs"), encode_fvecs(&[vec![10.0, 0.0, 0.0, 0.0]])).unwrap();
    f.ok(&["batch-search", ".", "--queries", "q.fvecs", "-k", "5", "--out", "r.jsonl", "--fresh", "--per-file"]);
    let line = json(std::fs::read_to_string(f.root.join("r.jsonl")).unwrap().trim());
    assert_eq!(line.as_array().unwrap().len(), 2);
    assert_eq!(line[0]["path"], "b.txt");
    // Setting the chunks again clears it.
    f.ok(&["set", "a.txt", "--chunks", "a.jsonl"]);
    let j = json(&f.ok(&["search", ".", "--vector", "10,0,0,0", "-k", "1", "--json", "--fresh"]));
    assert_eq!(j[0]["path"], "a.txt");
    assert_eq!(j[0]["stale"], false);

    // Bad input: the message names the file, the line and the cause; exit 1;
    // the set is unchanged.
    let before = f.ok(&["get", "a.txt", "--json"]);
    let bad: [(&str, &str, &str); 6] = [
        ("dim.jsonl", "{\"offset\": 0, \"length\": 1, \"vector\": [1, 2, 3, 4]}\n{\"offset\": 0, \"length\": 1, \"vector\": [1, 2]}\n",
         "dim.jsonl:2: vector has 2 elements, this filesystem stores 4"),
        ("nan.jsonl", "{\"offset\": 0, \"length\": 1, \"vector\": [1, NaN, 3, 4]}\n", "nan.jsonl:1: invalid JSON"),
        ("big.jsonl", "{\"offset\": 0, \"length\": 1, \"vector\": [1, 1e39, 3, 4]}\n", "big.jsonl:1: element 1"),
        ("malformed.jsonl", "{\"offset\": 0, \"length\": 1, \"vector\": [1, 2, 3, 4]}\n{\"offset\": 0,\n",
         "malformed.jsonl:2: invalid JSON"),
        ("norange.jsonl", "{\"vector\": [1, 2, 3, 4]}\n", "norange.jsonl:1: missing \"offset\" and \"length\""),
        ("overflow.jsonl", "{\"offset\": 18446744073709551615, \"length\": 2, \"vector\": [1, 2, 3, 4]}\n",
         "overflow.jsonl:1: offset 18446744073709551615 + length 2 overflows 64 bits"),
    ];
    for (name, text, want) in bad {
        std::fs::write(f.root.join(name), text).unwrap();
        let e = f.fail(&["set", "a.txt", "--chunks", name]);
        assert!(e.contains(want), "{name}: {e}");
        assert_eq!(f.ok(&["get", "a.txt", "--json"]), before, "{name} changed the set");
    }
    let many: Vec<(u64, u64, Vec<f32>)> = (0..16385).map(|i| (i, 1, vec![1.0, 2.0, 3.0, 4.0])).collect();
    std::fs::write(f.root.join("many.jsonl"), chunks_jsonl(&many)).unwrap();
    let e = f.fail(&["set", "a.txt", "--chunks", "many.jsonl"]);
    assert!(e.contains("many.jsonl: more than 16384 chunks"), "{e}");
    assert_eq!(f.ok(&["get", "a.txt", "--json"]), before);
    let e = f.fail(&["set", "a.txt", "--chunks", "missing.jsonl"]);
    assert!(e.contains("missing.jsonl: No such file or directory (ENOENT)"), "{e}");

    // import --manifest with chunk lines: a path on several lines is its set.
    for n in ["d.txt", "e.txt"] {
        std::fs::write(f.root.join(n), b"data").unwrap();
    }
    std::fs::write(
        f.root.join("m.jsonl"),
        "{\"path\": \"d.txt\", \"offset\": 0, \"length\": 2, \"vector\": [-1, 0, 0, 0]}\n\
         {\"path\": \"e.txt\", \"vector\": [-5, 0, 0, 0]}\n\
         {\"path\": \"d.txt\", \"offset\": 2, \"length\": 2, \"vector\": [-2, 0, 0, 0]}\n\
         {\"path\": \"d.txt\", \"vector\": [-3, 0, 0, 0]}\n",
    )
    .unwrap();
    let out = f.ok(&["import", "--manifest", "m.jsonl"]);
    assert!(out.starts_with("attached 4 vectors (1 chunk sets) to 2 files"), "{out}");
    let j = json(&f.ok(&["get", "d.txt", "--json"]));
    assert_eq!(
        j["chunks"],
        serde_json::json!([{"offset": 0, "length": 2, "vector": [-1.0, 0.0, 0.0, 0.0]},
                           {"offset": 2, "length": 2, "vector": [-2.0, 0.0, 0.0, 0.0]},
                           {"offset": 0, "length": 0, "vector": [-3.0, 0.0, 0.0, 0.0]}])
    );
    assert_eq!(f.ok(&["get", "e.txt"]).trim(), "-5,0,0,0");
    // A bad line anywhere: nothing is set.
    std::fs::write(f.root.join("d.txt"), b"data").unwrap();
    let d_before = f.ok(&["get", "d.txt", "--json"]);
    std::fs::write(
        f.root.join("m2.jsonl"),
        "{\"path\": \"d.txt\", \"offset\": 0, \"length\": 2, \"vector\": [7, 7, 7, 7]}\n\
         {\"path\": \"e.txt\", \"offset\": 0, \"length\": 2, \"vector\": [7, 7, 7]}\n",
    )
    .unwrap();
    let e = f.fail(&["import", "--manifest", "m2.jsonl"]);
    assert!(e.contains("m2.jsonl:2: e.txt: vector has 3 elements, this filesystem stores 4"), "{e}");
    assert_eq!(f.ok(&["get", "d.txt", "--json"]), d_before);
    assert_eq!(f.ok(&["get", "e.txt"]).trim(), "-5,0,0,0");
    std::fs::write(f.root.join("m3.jsonl"), "{\"path\": \"d.txt\", \"length\": 2, \"vector\": [7, 7, 7, 7]}\n").unwrap();
    let e = f.fail(&["import", "--manifest", "m3.jsonl"]);
    assert!(e.contains("m3.jsonl:1: d.txt: \"length\" without \"offset\""), "{e}");

    // An empty chunks file drops the set.
    std::fs::write(f.root.join("empty.jsonl"), "").unwrap();
    f.ok(&["set", "e.txt", "--chunks", "empty.jsonl"]);
    let e = f.fail(&["get", "e.txt"]);
    assert!(e.contains("e.txt") && e.contains("ENODATA"), "{e}");

    // status --json: the chunk counters, vectors kept.
    let s = json(&f.ok(&["status", ".", "--json"]));
    for k in ["files", "stale_files", "index_memory_bytes", "vectors"] {
        assert!(s.get(k).is_some(), "missing {k}");
    }
    assert_eq!(s["index_memory_bytes"], 4096);
    // a (7 chunks), b, c (1 each), d (3, stale: rewritten above); e dropped.
    assert_eq!(s["files"], 4);
    assert_eq!(s["vectors"], 7 + 1 + 1 + 3);
    assert_eq!(s["stale_files"], 1);
    assert!(f.ok(&["status", "."]).contains("files with chunks"));

    // An older module: search and status fall back to the first struct
    // versions (chunk fields read as chunk 0 / whole file / fresh); get falls
    // back to GET_VECTOR.
    let o = f.run_env(&f.root, &["search", ".", "--vector", "10.4,0,0,0", "-k", "1", "--json"], true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j = json(&String::from_utf8(o.stdout).unwrap());
    assert_eq!(j[0]["path"], "b.txt");
    assert_eq!(j[0]["chunk"], 0);
    let o = f.run_env(&f.root, &["status", ".", "--json"], true);
    assert!(o.status.success());
    assert_eq!(json(&String::from_utf8(o.stdout).unwrap())["index_memory_bytes"], 0);
    let o = f.run_env(&f.root, &["get", "b.txt", "--json"], true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&String::from_utf8(o.stdout).unwrap())["chunks"][0]["length"], 0);
}
