//! vexctl's command line on the host (no VexFS mount here): usage errors
//! exit 2, operational errors exit 1 with a message naming the file and the
//! cause, help texts carry examples, vector files are parsed and checked
//! before any ioctl, and ioctls on a non-VexFS file report ENOTTY.
use std::path::Path;
use std::process::{Command, Output};

use vexfs_tools::vexctl::vecfile::{encode_fvecs, encode_npy};

fn vexctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vexctl")).args(args).output().expect("running vexctl")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

const SUBCOMMANDS: [&str; 13] = [
    "set", "get", "rm", "import", "search", "range", "similar", "batch-search", "sync", "status",
    "stats", "config", "rebuild",
];

#[test]
fn help_lists_every_command_with_examples() {
    let o = vexctl(&["--help"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for c in SUBCOMMANDS {
        assert!(out.contains(&format!("  {c} ")), "--help lacks {c}");
    }
    assert!(out.contains("Examples:"));
    for c in SUBCOMMANDS {
        let o = vexctl(&[c, "--help"]);
        assert!(o.status.success(), "{c} --help failed");
        let h = stdout(&o);
        assert!(h.contains("Examples:") && h.contains(&format!("vexctl {c} ")), "{c} --help lacks examples:\n{h}");
    }
    let h = stdout(&vexctl(&["search", "--help"]));
    for flag in ["--vector", "--vector-file", "-k", "--ef", "--json", "--metadata", "--exact"] {
        assert!(h.contains(flag), "search --help lacks {flag}");
    }
    let h = stdout(&vexctl(&["config", "--help"]));
    for flag in ["--sync-mode", "--batch-size", "--sync-interval-ms", "--ef-search", "--auto-rebuild"] {
        assert!(h.contains(flag), "config --help lacks {flag}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec![],
        vec!["frobnicate"],
        vec!["set", "/tmp/x"],
        vec!["set", "/tmp/x", "--vector", "1", "--vector-file", "a.f32"],
        vec!["set", "/tmp/x", "--vector", "1,nan"],
        vec!["set", "/tmp/x", "--vector", "1,inf"],
        vec!["set", "/tmp/x", "--vector", ""],
        vec!["set", "/tmp/x", "--vector", "1,,2"],
        vec!["search", "/tmp", "--vector", "1", "-k", "0"],
        vec!["search", "/tmp", "--vector", "1", "-k", "4097"],
        vec!["search", "/tmp", "--vector", "1", "--ef", "9000"],
        vec!["range", "/tmp", "--vector", "1"],
        vec!["similar", "/tmp", "--vector", "1"],
        vec!["import", "/tmp/d"],
        vec!["import", "/tmp/d", "--fvecs", "b.fvecs", "--batch", "0"],
        vec!["import", "/tmp/d", "--fvecs", "b.fvecs", "--batch", "5000"],
        vec!["batch-search", "/tmp", "--queries", "q.fvecs"],
        vec!["config", "/tmp", "--sync-mode", "sometimes"],
        vec!["config", "/tmp", "--auto-rebuild", "maybe"],
        vec!["config", "/tmp", "--batch-size", "0"],
    ] {
        let o = vexctl(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }
}

#[test]
fn not_vexfs_reports_enotty() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("a.txt");
    std::fs::write(&f, b"hello").unwrap();
    for args in [
        vec!["set", p(&f), "--vector", "0.1,0.2,0.3"],
        vec!["get", p(&f)],
        vec!["rm", p(&f)],
        vec!["search", p(d.path()), "--vector", "-0.5,0.2"],
        vec!["range", p(d.path()), "--vector", "1", "--max-distance", "0.5"],
        vec!["similar", p(d.path()), "--vector", "1", "--threshold", "0.5"],
        vec!["sync", p(d.path())],
        vec!["status", p(d.path())],
        vec!["stats", p(d.path()), "--json"],
        vec!["config", p(d.path())],
        vec!["rebuild", p(d.path())],
    ] {
        let o = vexctl(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {e}");
        assert!(e.contains("ENOTTY") && e.contains("VexFS"), "{args:?}: {e}");
        assert!(e.starts_with("vexctl: /"), "{args:?}: {e}");
        assert!(stdout(&o).is_empty());
    }
}

#[test]
fn missing_files_name_the_file() {
    let o = vexctl(&["get", "/nonexistent/vexctl-test"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).trim(), "vexctl: /nonexistent/vexctl-test: No such file or directory (ENOENT)");
    let o = vexctl(&["search", "/nonexistent/x", "--vector", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/x: No such file or directory (ENOENT)"));
}

#[test]
fn directories_carry_no_vector() {
    let d = tempfile::tempdir().unwrap();
    for args in [vec!["set", p(d.path()), "--vector", "1"], vec!["rm", p(d.path())]] {
        let o = vexctl(&args);
        assert_eq!(o.status.code(), Some(1));
        let e = stderr(&o);
        assert!(e.contains(p(d.path())) && e.contains("directory") && e.contains("not supported"), "{e}");
    }
}

#[test]
fn bad_vector_files_name_the_file_and_cause() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("t");
    std::fs::write(&target, b"").unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("odd.f32", vec![0, 0, 0], "multiple of 4"),
        ("empty.f32", vec![], "empty"),
        ("nan.f32", f32::NAN.to_le_bytes().to_vec(), "not finite"),
        ("bad.json", b"[1, 2".to_vec(), "invalid JSON"),
        ("str.json", b"[1, \"x\"]".to_vec(), "element 1"),
        ("bad.npy", b"not numpy at all".to_vec(), "magic"),
        ("cube.npy", encode_npy(&[1.0; 8], &[2, 2, 2]), "1-D or 2-D"),
        ("trunc.fvecs", encode_fvecs(&[vec![1.0, 2.0]])[..10].to_vec(), "truncated"),
        ("x.txt", b"1,2".to_vec(), "unknown vector file format"),
    ];
    for (name, bytes, want) in cases {
        let vf = d.path().join(name);
        std::fs::write(&vf, bytes).unwrap();
        let o = vexctl(&["set", p(&target), "--vector-file", p(&vf)]);
        assert_eq!(o.status.code(), Some(1), "{name}");
        let e = stderr(&o);
        assert!(e.starts_with(&format!("vexctl: {}: ", p(&vf))) && e.contains(want), "{name}: {e}");
    }
    let o = vexctl(&["search", p(d.path()), "--vector-file", "/nonexistent/q.npy"]);
    assert_eq!(stderr(&o).trim(), "vexctl: /nonexistent/q.npy: No such file or directory (ENOENT)");
}

#[test]
fn good_vector_files_reach_the_ioctl() {
    // Parsing succeeds, so the failure is the ioctl on a non-VexFS file.
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("t");
    std::fs::write(&target, b"").unwrap();
    let f32s: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    for (name, bytes) in [
        ("v.f32", f32s),
        ("v.fvecs", encode_fvecs(&[vec![1.0, 2.0], vec![3.0, 4.0]])),
        ("v.npy", encode_npy(&[1.0, 2.0], &[2])),
        ("m.npy", encode_npy(&[1.0, 2.0, 3.0, 4.0], &[2, 2])),
        ("v.json", b"[1.0, 2.0]".to_vec()),
    ] {
        let vf = d.path().join(name);
        std::fs::write(&vf, bytes).unwrap();
        let o = vexctl(&["set", p(&target), "--vector-file", p(&vf)]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}");
        assert!(e.starts_with(&format!("vexctl: {}: ", p(&target))) && e.contains("ENOTTY"), "{name}: {e}");
    }
}

#[test]
fn import_and_batch_search_inputs_are_checked() {
    let d = tempfile::tempdir().unwrap();
    let o = vexctl(&["import", p(&d.path().join("out")), "--fvecs", "/nonexistent/b.fvecs"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/b.fvecs: No such file or directory (ENOENT)"));
    // A manifest with a bad line names the line, before touching any file.
    let m = d.path().join("m.jsonl");
    std::fs::write(&m, "{\"path\": \"a\", \"vector\": [1]}\n{\"path\": \"b\", \"vector\": \"x\"}\n").unwrap();
    let o = vexctl(&["import", "--manifest", p(&m)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!("{}:2: b: ", p(&m))), "{}", stderr(&o));
    // A manifest naming a missing file names the line and the file.
    std::fs::write(&m, "{\"path\": \"/nonexistent/zz\", \"vector\": [1]}\n").unwrap();
    let o = vexctl(&["import", "--manifest", p(&m)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!("{}:1: /nonexistent/zz: No such file", p(&m))), "{}", stderr(&o));
    // Importing into a directory outside VexFS: ENOTTY, naming the directory.
    let b = d.path().join("b.fvecs");
    std::fs::write(&b, encode_fvecs(&[vec![1.0, 2.0]])).unwrap();
    let out = d.path().join("imp");
    let o = vexctl(&["import", p(&out), "--fvecs", p(&b)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!("{}: VexFS ioctl not supported (ENOTTY)", p(&out))), "{}", stderr(&o));
    let o = vexctl(&["batch-search", p(d.path()), "--queries", p(&b), "--out", p(&d.path().join("r.jsonl"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("ENOTTY"));
}
