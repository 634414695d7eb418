//! `vexctl index` (every UTF-8 text file under the given paths becomes a
//! chunk set: [`super::chunker`] ranges embedded with the built-in model,
//! set with VEXFS_IOC_SET_CHUNKS; files whose set is present and not stale
//! are skipped) and the text side of `vexctl search --text` (the query
//! embedded with the same model; each hit printed with its chunk's text,
//! read from the file at the chunk's byte range).
//!
//! The model is loaded only when a file needs embedding, so a run over an
//! up-to-date tree neither loads nor runs it. Single-threaded; no locking.
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use vexfs_core::uapi::VEXFS_IOC_MAX_CHUNKS;

use super::chunker::{self, Params};
use super::cli::ResultOpts;
use super::errors::{io_text, Error, Op};
use super::ioctl::VexFile;
use super::output::{self, Resolved};

type Res<T> = Result<T, Error>;

fn disp(p: &Path) -> String {
    p.display().to_string()
}

/// The parsed arguments of `vexctl index`.
#[derive(Debug, Clone)]
pub struct IndexArgs {
    pub paths: Vec<PathBuf>,
    pub recursive: bool,
    pub watch: bool,
    pub model: Option<PathBuf>,
    pub cache: Option<PathBuf>,
    pub batch: usize,
    pub params: Params,
}

/// What indexing needs from a sentence-embedding model.
pub trait TextModel {
    /// Floats per vector.
    fn dim(&self) -> usize;
    /// Tokens of text the model reads per input (its limit less the special
    /// tokens it adds).
    fn max_tokens(&self) -> usize;
    fn count_tokens(&mut self, text: &str) -> Result<usize, String>;
    /// One unit vector per text, and how many of them came from a cache.
    fn embed(&mut self, texts: &[&str]) -> Result<(Vec<Vec<f32>>, usize), String>;
}

/// Loads the model on first use.
pub type Loader = Box<dyn FnMut() -> Result<Box<dyn TextModel>, String>>;

#[cfg(not(feature = "embed"))]
pub fn loader(_model: Option<PathBuf>, _cache: Option<PathBuf>, _batch: usize) -> Loader {
    Box::new(|| {
        Err("this vexctl was built without the embedding model runtime; build one with \
             `cargo build --release -p vexfs-tools --features embed --bin vexctl`"
            .to_string())
    })
}

#[cfg(feature = "embed")]
pub fn loader(model: Option<PathBuf>, cache: Option<PathBuf>, batch: usize) -> Loader {
    Box::new(move || {
        let dir = crate::embed::model_dir(model.as_deref())?;
        let e = crate::embed::Embedder::load(&dir)?;
        Ok(Box::new(minilm::Minilm { e, cache: cache.clone(), batch }) as Box<dyn TextModel>)
    })
}

#[cfg(feature = "embed")]
mod minilm {
    use std::path::PathBuf;

    use crate::embed::Embedder;

    pub struct Minilm {
        pub e: Embedder,
        pub cache: Option<PathBuf>,
        pub batch: usize,
    }

    impl super::TextModel for Minilm {
        fn dim(&self) -> usize {
            self.e.dim
        }
        fn max_tokens(&self) -> usize {
            self.e.max_tokens.saturating_sub(self.e.special_tokens())
        }
        fn count_tokens(&mut self, text: &str) -> Result<usize, String> {
            self.e.count_tokens(text)
        }
        fn embed(&mut self, texts: &[&str]) -> Result<(Vec<Vec<f32>>, usize), String> {
            self.e.embed_cached(texts, self.batch, self.cache.as_deref(), |_, _| {}).map_err(|x| x.to_string())
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new chunk set: chunks, of which `cached` came from the cache.
    Indexed { chunks: usize, cached: usize },
    /// Its set is present and not stale.
    UpToDate,
    /// Not UTF-8, or holds a NUL byte.
    NotText,
    /// No text to embed (empty or whitespace only); a stale set is dropped.
    Empty,
}

/// State shared by the files of one run.
pub struct Indexer {
    loader: Loader,
    model: Option<Box<dyn TextModel>>,
    params: Params,
    /// The filesystem dimension per device (checked against the model's).
    fs_dims: HashMap<u64, u32>,
}

/// (mtime, mtime_nsec, size): what changes when the data does.
fn data_stamp(m: &std::fs::Metadata) -> (i64, i64, u64) {
    (m.mtime(), m.mtime_nsec(), m.len())
}

impl Indexer {
    pub fn new(loader: Loader, params: Params) -> Indexer {
        Indexer { loader, model: None, params, fs_dims: HashMap::new() }
    }

    fn model(&mut self) -> Res<&mut Box<dyn TextModel>> {
        if self.model.is_none() {
            let m = (self.loader)().map_err(|m| Error::new("index", m))?;
            let limit = m.max_tokens();
            if self.params.max_tokens > limit {
                return Err(Error::new(
                    "index",
                    format!("--chunk-tokens {} is more than the model reads ({limit} tokens)", self.params.max_tokens),
                ));
            }
            self.model = Some(m);
        }
        Ok(self.model.as_mut().expect("loaded above"))
    }

    /// Indexes one regular file unless its set is up to date. Fatal
    /// problems (the model cannot load, or makes vectors of another
    /// dimension than the filesystem's) come back as `Err(true, ..)`.
    pub fn index_file(&mut self, path: &Path) -> Result<Outcome, (bool, Error)> {
        let name = disp(path);
        let rf = VexFile::open_read(path).map_err(|e| (false, Error::io(&name, &e)))?;
        let had_set = match rf.get_chunks() {
            Ok(set) if !set.stale && !set.chunks.is_empty() => return Ok(Outcome::UpToDate),
            Ok(set) => !set.chunks.is_empty(),
            Err(libc::ENODATA) => false,
            Err(e) => return Err((false, Error::errno(&name, e, Op::GetChunks))),
        };
        // The data may change while it is read and embedded: the kernel
        // stamps the set with the data version of the moment it is set, so
        // a set of older text would look fresh. Compare mtime and size
        // before reading and after setting, and do it again if they moved.
        for _ in 0..3 {
            let before = rf.file().metadata().map_err(|e| (false, Error::io(&name, &e)))?;
            let mut bytes = Vec::with_capacity(before.len() as usize);
            let mut f = rf.file();
            f.seek(SeekFrom::Start(0)).and_then(|_| f.read_to_end(&mut bytes)).map_err(|e| (false, Error::io(&name, &e)))?;
            let Some(text) = (!bytes.contains(&0)).then(|| std::str::from_utf8(&bytes).ok()).flatten() else {
                return Ok(Outcome::NotText);
            };
            // Nothing to embed: no need for the model.
            let out = if text.trim().is_empty() {
                if had_set {
                    let dim = rf.status().map_err(|e| (false, Error::errno(&name, e, Op::Status)))?.dim;
                    let wf = VexFile::open_write(path).map_err(|e| (false, Error::io(&name, &e)))?;
                    wf.set_chunks(&[], &[], dim).map_err(|e| (false, Error::errno(&name, e, Op::SetChunks)))?;
                }
                Outcome::Empty
            } else {
                self.set_text(path, &rf, text)?
            };
            let after = rf.file().metadata().map_err(|e| (false, Error::io(&name, &e)))?;
            if data_stamp(&before) == data_stamp(&after) {
                return Ok(out);
            }
        }
        Err((false, Error::new(name, "the file kept changing while it was indexed (3 tries); index it again later")))
    }

    fn set_text(&mut self, path: &Path, rf: &VexFile, text: &str) -> Result<Outcome, (bool, Error)> {
        let name = disp(path);
        let dev = rf.file().metadata().map(|m| m.dev()).map_err(|e| (false, Error::io(&name, &e)))?;
        let fs_dim = match self.fs_dims.get(&dev) {
            Some(&d) => d,
            None => {
                let d = rf.status().map_err(|e| (false, Error::errno(&name, e, Op::Status)))?.dim;
                self.fs_dims.insert(dev, d);
                d
            }
        };
        let params = self.params;
        let m = self.model().map_err(|e| (true, e))?;
        if m.dim() != fs_dim as usize {
            return Err((
                true,
                Error::new(&name, format!("the model makes {}-dimensional vectors, this filesystem stores {fs_dim}", m.dim())),
            ));
        }
        let mut count_err = None;
        let chunks = chunker::chunk_text(text, &params, &mut |s| match m.count_tokens(s) {
            Ok(n) => n,
            Err(e) => {
                count_err.get_or_insert(e);
                chunker::estimate_tokens(s)
            }
        });
        if let Some(e) = count_err {
            return Err((false, Error::new(&name, e)));
        }
        if chunks.len() > VEXFS_IOC_MAX_CHUNKS as usize {
            return Err((
                false,
                Error::new(&name, format!("{} chunks, more than a file can carry ({VEXFS_IOC_MAX_CHUNKS})", chunks.len())),
            ));
        }
        if chunks.is_empty() {
            // Only characters the tokenizer drops.
            return Ok(Outcome::Empty);
        }
        let wf = VexFile::open_write(path).map_err(|e| (false, Error::io(&name, &e)))?;
        let texts: Vec<&str> = chunks.iter().map(|c| &text[c.offset..c.offset + c.length]).collect();
        let (vecs, cached) = m.embed(&texts).map_err(|e| (false, Error::new(&name, e)))?;
        let ranges: Vec<(u64, u64)> = chunks.iter().map(|c| (c.offset as u64, c.length as u64)).collect();
        let flat: Vec<f32> = vecs.concat();
        wf.set_chunks(&ranges, &flat, fs_dim).map_err(|e| (false, Error::errno(&name, e, Op::SetChunks)))?;
        Ok(Outcome::Indexed { chunks: chunks.len(), cached })
    }
}

/// The regular files under `path`: itself if it is one; a directory's
/// entries (sorted; with `recursive` at any depth). Symbolic links inside
/// directories are not followed; other file types are left out.
pub fn walk(path: &Path, recursive: bool, out: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) -> Res<()> {
    let md = std::fs::metadata(path).map_err(|e| Error::io(disp(path), &e))?;
    if md.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    if !md.is_dir() {
        return Err(Error::new(disp(path), "not a regular file or directory"));
    }
    dirs.push(path.to_path_buf());
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .and_then(|d| d.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::io(disp(path), &e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let ft = e.file_type().map_err(|x| Error::io(disp(&p), &x))?;
        if ft.is_file() {
            out.push(p);
        } else if ft.is_dir() && recursive {
            walk(&p, true, out, dirs)?;
        }
    }
    Ok(())
}

/// Counts of one run, for the summary line.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub indexed: u64,
    pub up_to_date: u64,
    pub not_text: u64,
    pub empty: u64,
    pub failed: u64,
    pub chunks: u64,
    pub cached: u64,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Indexed { chunks, cached } => {
                self.indexed += 1;
                self.chunks += chunks as u64;
                self.cached += cached as u64;
            }
            Outcome::UpToDate => self.up_to_date += 1,
            Outcome::NotText => self.not_text += 1,
            Outcome::Empty => self.empty += 1,
        }
    }

    pub fn summary(&self, secs: f64) -> String {
        format!(
            "vexctl index: {} files indexed, {} skipped (up to date), {} not text, {} empty, {} failed; \
             {} chunks ({} embedded, {} from the cache) in {secs:.1} s",
            self.indexed,
            self.up_to_date,
            self.not_text,
            self.empty,
            self.failed,
            self.chunks,
            self.chunks - self.cached,
            self.cached
        )
    }
}

/// `vexctl index`.
pub fn run(a: IndexArgs) -> Res<()> {
    if a.params.overlap_tokens * 2 > a.params.max_tokens {
        return Err(Error::bare("index: --overlap-tokens must be at most half of --chunk-tokens"));
    }
    let t0 = Instant::now();
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for p in &a.paths {
        walk(p, a.recursive, &mut files, &mut dirs)?;
    }
    let mut ix = Indexer::new(loader(a.model.clone(), a.cache.clone(), a.batch), a.params);
    let mut t = Tally::default();
    let pb = super::cmd::progress(Some(files.len() as u64), "indexing");
    for p in &files {
        match ix.index_file(p) {
            Ok(o) => t.add(o),
            Err((true, e)) => {
                pb.abandon();
                return Err(e);
            }
            Err((false, e)) => {
                t.failed += 1;
                pb.suspend(|| eprintln!("{e}"));
            }
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    println!("{}", t.summary(t0.elapsed().as_secs_f64()));
    if a.watch {
        return watch(&a, &mut ix, &dirs);
    }
    if t.failed > 0 {
        return Err(Error::bare(format!("index: {} of {} files failed", t.failed, files.len())));
    }
    Ok(())
}

/// One inotify instance watching directories (IN_CLOSE_WRITE, IN_MOVED_TO
/// and, for new subdirectories, IN_CREATE).
struct Inotify {
    fd: File,
    dirs: HashMap<i32, PathBuf>,
}

const WATCH_MASK: u32 = libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO | libc::IN_CREATE | libc::IN_ONLYDIR;

impl Inotify {
    fn new() -> std::io::Result<Inotify> {
        // SAFETY: plain syscall; the descriptor is owned by the File.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        Ok(Inotify { fd, dirs: HashMap::new() })
    }

    fn add(&mut self, dir: &Path) -> std::io::Result<()> {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: c is a NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(std::os::fd::AsRawFd::as_raw_fd(&self.fd), c.as_ptr(), WATCH_MASK) };
        if wd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        self.dirs.insert(wd, dir.to_path_buf());
        Ok(())
    }

    /// Waits up to `timeout_ms` (-1: forever) for events; returns the
    /// (path, is_dir, created) of each.
    fn read(&mut self, timeout_ms: i32) -> std::io::Result<Vec<(PathBuf, bool, bool)>> {
        use std::os::fd::AsRawFd;
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::EINTR) { Ok(Vec::new()) } else { Err(e) };
        }
        if r == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; 64 * 1024];
        let n = (&self.fd).read(&mut buf)?;
        let mut out = Vec::new();
        let hdr = std::mem::size_of::<libc::inotify_event>();
        let mut off = 0;
        while off + hdr <= n {
            // SAFETY: the kernel wrote a whole inotify_event at off (read
            // returns whole events); read_unaligned copes with alignment.
            let ev: libc::inotify_event = unsafe { std::ptr::read_unaligned(buf[off..].as_ptr() as *const _) };
            let name_len = ev.len as usize;
            let raw = &buf[off + hdr..(off + hdr + name_len).min(n)];
            let name = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
            if let (Some(d), false) = (self.dirs.get(&ev.wd), name.is_empty()) {
                use std::os::unix::ffi::OsStrExt;
                let p = d.join(std::ffi::OsStr::from_bytes(name));
                out.push((p, ev.mask & libc::IN_ISDIR != 0, ev.mask & libc::IN_CREATE != 0));
            }
            off += hdr + name_len;
        }
        Ok(out)
    }
}

/// `--watch`: re-indexes files as they are written or moved in, until
/// interrupted. Changes are gathered until 300 ms pass without one.
fn watch(a: &IndexArgs, ix: &mut Indexer, dirs: &[PathBuf]) -> Res<()> {
    let mut ino = Inotify::new().map_err(|e| Error::new("index --watch", format!("inotify: {}", io_text(&e))))?;
    // Plain file arguments: watch their directories, for those files only.
    let named: BTreeSet<PathBuf> = a.paths.iter().filter(|p| p.is_file()).cloned().collect();
    let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
    for d in dirs.iter().cloned().chain(named.iter().map(|p| p.parent().unwrap_or(Path::new(".")).to_path_buf())) {
        let d = if d.as_os_str().is_empty() { PathBuf::from(".") } else { d };
        if watched.insert(d.clone()) {
            ino.add(&d).map_err(|e| Error::io(disp(&d), &e))?;
        }
    }
    let only_named: BTreeSet<PathBuf> = named.iter().filter(|p| !dirs.iter().any(|d| p.starts_with(d))).cloned().collect();
    // Directories whose every file is indexed (the walked ones, and new
    // subdirectories of them with --recursive).
    let mut tree: BTreeSet<PathBuf> = dirs.iter().cloned().collect();
    eprintln!("vexctl index: watching {} directories; interrupt to stop", watched.len());
    loop {
        let mut pending: BTreeSet<PathBuf> = BTreeSet::new();
        let mut timeout = -1;
        loop {
            let evs = ino.read(timeout).map_err(|e| Error::new("index --watch", format!("inotify: {}", io_text(&e))))?;
            if evs.is_empty() && timeout >= 0 {
                break;
            }
            for (p, is_dir, created) in evs {
                if is_dir {
                    if a.recursive && created {
                        let mut fs = Vec::new();
                        let mut ds = Vec::new();
                        if walk(&p, true, &mut fs, &mut ds).is_ok() {
                            for d in ds {
                                ino.add(&d).map_err(|e| Error::io(disp(&d), &e))?;
                                tree.insert(d);
                            }
                            pending.extend(fs);
                        }
                    }
                } else if !created && (only_named.contains(&p) || p.parent().is_some_and(|d| tree.contains(d))) {
                    pending.insert(p);
                }
            }
            timeout = 300;
        }
        for p in pending {
            if !std::fs::symlink_metadata(&p).map(|m| m.is_file()).unwrap_or(false) {
                continue;
            }
            let t0 = Instant::now();
            match ix.index_file(&p) {
                Ok(Outcome::Indexed { chunks, .. }) => {
                    println!("vexctl index: {}: {chunks} chunks ({:.1} s)", disp(&p), t0.elapsed().as_secs_f64())
                }
                Ok(Outcome::NotText) => println!("vexctl index: {}: not text", disp(&p)),
                Ok(Outcome::Empty) => println!("vexctl index: {}: empty", disp(&p)),
                // Our own SET_CHUNKS closes a written file: that event lands here.
                Ok(Outcome::UpToDate) => {}
                Err((true, e)) => return Err(e),
                Err((false, e)) => eprintln!("{e}"),
            }
        }
    }
}

/// The query vector of `vexctl search --text`.
pub fn query_vector(text: &str, model: Option<PathBuf>) -> Res<Vec<f32>> {
    let mut m = loader(model, None, 1)().map_err(|m| Error::new("search --text", m))?;
    let (mut v, _) = m.embed(&[text]).map_err(|m| Error::new("search --text", m))?;
    v.pop().ok_or_else(|| Error::new("search --text", "the model returned no vector"))
}

/// The mount point of the filesystem holding `path`, which search result
/// paths are relative to: `path` less its own INO_PATH answer, or failing
/// that the highest directory above it on the same device.
pub fn mount_root(path: &Path) -> Res<PathBuf> {
    let p = std::fs::canonicalize(path).map_err(|e| Error::io(disp(path), &e))?;
    let md = std::fs::metadata(&p).map_err(|e| Error::io(disp(&p), &e))?;
    if let Ok(rel) = VexFile::open_read(&p).map_err(|_| 0).and_then(|f| f.ino_path(md.ino(), 0)) {
        let mut root = p.clone();
        let mut ok = true;
        for _ in Path::new(&rel).components() {
            ok &= root.pop();
        }
        if ok && root.join(&rel) == p {
            return Ok(root);
        }
    }
    let mut root = if md.is_dir() { p.clone() } else { p.parent().unwrap_or(&p).to_path_buf() };
    while let Some(up) = root.parent() {
        match std::fs::metadata(up) {
            Ok(m) if m.dev() == md.dev() => root = up.to_path_buf(),
            _ => break,
        }
    }
    Ok(root)
}

/// Most bytes of a chunk read back for printing.
const TEXT_MAX: u64 = 64 * 1024;

/// The chunk's text as the file holds it now (lossy UTF-8; a stale set's
/// ranges may no longer fall on character boundaries), or why it cannot
/// be read.
pub fn chunk_text(file: &Path, offset: u64, length: u64) -> Result<String, String> {
    let f = File::open(file).map_err(|e| io_text(&e))?;
    let size = f.metadata().map_err(|e| io_text(&e))?.len();
    let len = if length == 0 { size.saturating_sub(offset) } else { length };
    let len = len.min(size.saturating_sub(offset)).min(TEXT_MAX);
    let mut buf = vec![0u8; len as usize];
    let mut got = 0;
    while got < buf.len() {
        match f.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_text(&e)),
        }
    }
    buf.truncate(got);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The first `n` non-blank lines of a text, each cut to `width` characters.
pub fn first_lines(text: &str, n: usize, width: usize) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end())
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .map(|l| {
            if l.chars().count() > width {
                format!("{}...", l.chars().take(width.saturating_sub(3)).collect::<String>())
            } else {
                l.to_string()
            }
        })
        .collect()
}

/// Prints `search --text` hits: each with its path, byte range, distance
/// and the first lines of its chunk (JSON: the search objects plus "text").
pub fn print_text_hits(path: &Path, rs: &[Resolved], out: &ResultOpts) -> Res<()> {
    let root = mount_root(path)?;
    let text_of = |r: &Resolved| chunk_text(&root.join(&r.path), r.hit.offset, r.hit.length);
    if out.json {
        let mut s = String::from("[");
        for (i, r) in rs.iter().enumerate() {
            // The object `search --json` prints, with "text" added last.
            let one = output::results_json(std::slice::from_ref(r), out.metadata);
            let obj = one.trim_start_matches('[').trim_end_matches(']').trim_end_matches('}');
            let text = match text_of(r) {
                Ok(t) => serde_json::Value::String(t),
                Err(_) => serde_json::Value::Null,
            };
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!("{obj},\"text\":{text}}}"));
        }
        s.push(']');
        println!("{s}");
        return Ok(());
    }
    if rs.is_empty() {
        println!("no results");
        return Ok(());
    }
    let tty = std::io::stdout().is_terminal();
    for (i, r) in rs.iter().enumerate() {
        let h = &r.hit;
        let end = if h.length == 0 { "end".to_string() } else { (h.offset + h.length).to_string() };
        println!(
            "{:>3}. {:.4}  {}  bytes {}..{}  (chunk {}){}",
            i + 1,
            h.distance,
            r.path,
            h.offset,
            end,
            h.chunk,
            if h.stale { "  STALE: the file changed since it was indexed" } else { "" }
        );
        match text_of(r) {
            Ok(t) => {
                for l in first_lines(&t, 3, if tty { 100 } else { 160 }) {
                    println!("       | {l}");
                }
            }
            Err(e) => println!("       (cannot read the chunk: {e})"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_sorts_skips_links_and_recurses_on_request() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::write(r.join("b.txt"), "b").unwrap();
        std::fs::write(r.join("a.txt"), "a").unwrap();
        std::fs::create_dir(r.join("sub")).unwrap();
        std::fs::write(r.join("sub/c.txt"), "c").unwrap();
        std::os::unix::fs::symlink(r.join("a.txt"), r.join("link")).unwrap();
        let (mut f, mut ds) = (Vec::new(), Vec::new());
        walk(r, false, &mut f, &mut ds).unwrap();
        assert_eq!(f, vec![r.join("a.txt"), r.join("b.txt")]);
        assert_eq!(ds, vec![r.to_path_buf()]);
        let (mut f, mut ds) = (Vec::new(), Vec::new());
        walk(r, true, &mut f, &mut ds).unwrap();
        assert_eq!(f, vec![r.join("a.txt"), r.join("b.txt"), r.join("sub/c.txt")]);
        assert_eq!(ds, vec![r.to_path_buf(), r.join("sub")]);
        // A named file (or link to one) is taken as it is.
        let (mut f, mut ds) = (Vec::new(), Vec::new());
        walk(&r.join("link"), false, &mut f, &mut ds).unwrap();
        assert_eq!(f, vec![r.join("link")]);
        let e = walk(&r.join("nope"), false, &mut f, &mut ds).unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("No such file"), "{e}");
    }

    #[test]
    fn chunk_text_reads_the_range() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t");
        std::fs::write(&p, "hello world\nsecond line\n").unwrap();
        assert_eq!(chunk_text(&p, 6, 5).unwrap(), "world");
        assert_eq!(chunk_text(&p, 12, 0).unwrap(), "second line\n");
        assert_eq!(chunk_text(&p, 20, 100).unwrap(), "ine\n");
        assert_eq!(chunk_text(&p, 100, 5).unwrap(), "");
        assert!(chunk_text(&d.path().join("x"), 0, 1).unwrap_err().contains("No such file"));
        assert_eq!(first_lines("\n a\n\nbcdefgh\nc\nd", 3, 5), vec![" a", "bc...", "c"]);
    }

    #[test]
    fn summary_line() {
        let mut t = Tally::default();
        t.add(Outcome::Indexed { chunks: 5, cached: 2 });
        t.add(Outcome::UpToDate);
        t.add(Outcome::NotText);
        t.failed = 1;
        assert_eq!(
            t.summary(1.25),
            "vexctl index: 1 files indexed, 1 skipped (up to date), 1 not text, 0 empty, 1 failed; \
             5 chunks (3 embedded, 2 from the cache) in 1.2 s"
        );
    }
}
