//! vexctl end to end on the host, over tests/vexctl_fake.c: an LD_PRELOAD
//! stand-in for the VexFS ioctls (vectors in the user.vexfs.vector xattr,
//! brute-force L2 search, INO_PATH by walking the tree). It exercises
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
        Command::new(env!("CARGO_BIN_EXE_vexctl"))
            .args(args)
            .current_dir(cwd)
            .env("LD_PRELOAD", &self.so)
            .env("VEXFS_FAKE_ROOT", &self.root)
            .env("VEXFS_FAKE_DIM", DIM.to_string())
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
    assert_eq!(arr[1].as_object().unwrap().len(), 3);
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
