//! vexctl's commands over the ioctl wrappers.
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vexfs_core::uapi::*;

use super::cli::{ChunkOpts, Cli, Cmd, OnOff, ResultOpts, SetSrc, SyncModeArg, VectorSrc};
use super::errors::{io_text, Error, Op};
use super::ioctl::{raise_nofile_limit, ChunkSet, Hit, Kind, SearchReq, SearchOut, VexFile};
use super::output::{self, Resolved};
use super::vecfile::{self, FvecsReader};

pub type Res<T> = Result<T, Error>;

fn disp(p: &Path) -> String {
    p.display().to_string()
}

/// Loads the vector of --vector / --vector-file.
pub fn load_vector(src: &VectorSrc) -> Res<Vec<f32>> {
    if let Some(v) = &src.vector {
        return Ok(v.0.clone());
    }
    let f = src
        .vector_file
        .as_ref()
        .ok_or_else(|| Error::bare("one of --vector or --vector-file is required"))?;
    vecfile::read_vector_file(f).map_err(|m| Error::new(disp(f), m))
}

fn open_read(path: &Path) -> Res<VexFile> {
    VexFile::open_read(path).map_err(|e| Error::io(disp(path), &e))
}

/// Opens a file for SET/DEL: needs write permission; directories refused.
fn open_write(path: &Path, what: &str) -> Res<VexFile> {
    match VexFile::open_write(path) {
        Ok(f) => Ok(f),
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => Err(Error::new(
            disp(path),
            format!("is a directory: {what} is not supported (directories carry no vector)"),
        )),
        Err(e) => Err(Error::io(disp(path), &e)),
    }
}

fn status_of(f: &VexFile, path: &Path) -> Res<vexfs_ioc_status> {
    f.status().map_err(|e| Error::errno(disp(path), e, Op::Status))
}

fn check_dim(subject: &Path, what: &str, have: usize, fs_dim: u32) -> Res<()> {
    if have != fs_dim as usize {
        return Err(Error::new(
            disp(subject),
            format!("{what} has {have} elements, this filesystem stores {fs_dim}"),
        ));
    }
    Ok(())
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Res<()> {
    match cli.cmd {
        Cmd::Set { file, src } => cmd_set(&file, &src),
        Cmd::Get { file, json } => cmd_get(&file, json),
        Cmd::Rm { file } => cmd_rm(&file),
        Cmd::Import { dir, fvecs, manifest, batch, content } => match (dir, fvecs, manifest) {
            (_, _, Some(m)) => import_manifest(&m, batch),
            (Some(d), Some(b), None) => import_fvecs(&d, &b, batch, content.as_deref()),
            _ => Err(Error::bare("import needs DIR --fvecs FILE, or --manifest FILE")),
        },
        Cmd::Search { path, src, model, k, ef, out } => match (src.vector_src(), &src.text) {
            (Some(v), _) => cmd_search(&path, &load_vector(&v)?, Kind::Knn, k, ef, 0.0, None, &out),
            (None, Some(t)) => {
                let q = super::index::query_vector(t, model)?;
                let rs = search_resolved(&path, &q, Kind::Knn, k, ef, 0.0, None, &out)?;
                super::index::print_text_hits(&path, &rs, &out)
            }
            (None, None) => Err(Error::bare("one of --vector, --vector-file or --text is required")),
        },
        Cmd::Index { paths, recursive, watch, model, cache, chunk_tokens, overlap_tokens, batch } => {
            super::index::run(super::index::IndexArgs {
                paths,
                recursive,
                watch,
                model,
                cache,
                batch: batch as usize,
                params: super::chunker::Params {
                    max_tokens: chunk_tokens as usize,
                    overlap_tokens: overlap_tokens as usize,
                },
            })
        }
        Cmd::Range { path, src, max_distance, limit, out } => {
            let q = load_vector(&src)?;
            cmd_search(&path, &q, Kind::Range, 0, 0, max_distance, limit, &out)
        }
        Cmd::Similar { path, src, threshold, limit, out } => {
            let q = load_vector(&src)?;
            cmd_search(&path, &q, Kind::Similar, 0, 0, threshold, limit, &out)
        }
        Cmd::BatchSearch { path, queries, k, ef, out, metadata, exact, all, chunk } => {
            cmd_batch_search(&path, &queries, k, ef, &out, metadata, exact, all, chunk)
        }
        Cmd::Sync { path } => {
            let f = open_read(&path)?;
            f.sync().map_err(|e| Error::errno(disp(&path), e, Op::Sync))
        }
        Cmd::Embed { model, text, dir, manifest, path_prefix, cache, out, batch, chunks, chunk_tokens, overlap_tokens } => {
            super::embed::run(super::embed::EmbedArgs {
                model,
                text,
                dir,
                manifest,
                path_prefix,
                cache,
                out,
                batch: batch as usize,
                chunks: chunks.then_some(super::chunker::Params {
                    max_tokens: chunk_tokens as usize,
                    overlap_tokens: overlap_tokens as usize,
                }),
            })
        }
        Cmd::Rebuild { path } => {
            let f = open_read(&path)?;
            f.rebuild().map_err(|e| Error::errno(disp(&path), e, Op::Rebuild))
        }
        Cmd::Status { path, json } => {
            let f = open_read(&path)?;
            let s = status_of(&f, &path)?;
            if json {
                println!("{}", output::status_json(&s));
            } else {
                print!("{}", output::status_text(&s));
            }
            Ok(())
        }
        Cmd::Stats { path, json } => {
            let f = open_read(&path)?;
            let s = f.stats().map_err(|e| Error::errno(disp(&path), e, Op::Stats))?;
            if json {
                println!("{}", output::stats_json(&s));
            } else {
                print!("{}", output::stats_text(&s));
            }
            Ok(())
        }
        Cmd::Config { path, sync_mode, batch_size, sync_interval_ms, ef_search, auto_rebuild, json } => {
            let f = open_read(&path)?;
            let mut c = f.get_config().map_err(|e| Error::errno(disp(&path), e, Op::GetConfig))?;
            let mut mask = 0u32;
            if let Some(m) = sync_mode {
                c.sync_mode = match m {
                    SyncModeArg::Immediate => VEXFS_SYNC_IMMEDIATE,
                    SyncModeArg::Lazy => VEXFS_SYNC_LAZY,
                };
                mask |= VEXFS_CONFIG_SYNC_MODE;
            }
            if let Some(b) = batch_size {
                c.batch_size = b;
                mask |= VEXFS_CONFIG_BATCH_SIZE;
            }
            if let Some(i) = sync_interval_ms {
                c.sync_interval_ms = i;
                mask |= VEXFS_CONFIG_SYNC_INTERVAL;
            }
            if let Some(e) = ef_search {
                c.ef_search = e;
                mask |= VEXFS_CONFIG_EF_SEARCH;
            }
            if let Some(a) = auto_rebuild {
                c.auto_rebuild = (a == OnOff::On) as u32;
                mask |= VEXFS_CONFIG_AUTO_REBUILD;
            }
            if mask != 0 {
                c.set_mask = mask;
                f.set_config(&c).map_err(|e| Error::errno(disp(&path), e, Op::SetConfig))?;
                c = f.get_config().map_err(|e| Error::errno(disp(&path), e, Op::GetConfig))?;
            }
            if json {
                println!("{}", output::config_json(&c));
            } else {
                print!("{}", output::config_text(&c));
            }
            Ok(())
        }
    }
}

fn cmd_set(file: &Path, src: &SetSrc) -> Res<()> {
    if let Some(c) = &src.chunks {
        return cmd_set_chunks(file, c);
    }
    let vsrc = VectorSrc { vector: src.vector.clone(), vector_file: src.vector_file.clone() };
    let v = load_vector(&vsrc)?;
    let f = open_write(file, "setting a vector on a directory")?;
    let st = status_of(&f, file)?;
    check_dim(file, "vector", v.len(), st.dim)?;
    f.set_vector(&v).map_err(|e| Error::errno(disp(file), e, Op::SetVector))
}

/// The message for a line that is not JSON; NaN and Infinity (which
/// Python's json.dumps writes) get their own cause.
fn json_error(line: &str, e: &serde_json::Error) -> String {
    if line.contains("NaN") || line.contains("Infinity") {
        format!("invalid JSON: NaN and Infinity are not JSON numbers, and vectors must be finite ({e})")
    } else {
        format!("invalid JSON: {e}")
    }
}

/// One chunk of a chunks file or manifest: its 1-based line, byte range
/// and vector.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkLine {
    pub line: usize,
    pub offset: u64,
    pub length: u64,
    pub vector: Vec<f32>,
}

/// The byte range of a JSON object's "offset" and "length": both or
/// neither (None), non-negative integers whose sum fits in 64 bits.
fn chunk_range(obj: &serde_json::Map<String, serde_json::Value>) -> Result<Option<(u64, u64)>, String> {
    let get = |k: &str| -> Result<Option<u64>, String> {
        match obj.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("\"{k}\" must be a non-negative integer, not {v}")),
        }
    };
    match (get("offset")?, get("length")?) {
        (None, None) => Ok(None),
        (Some(o), Some(l)) => {
            if o.checked_add(l).is_none() {
                return Err(format!("offset {o} + length {l} overflows 64 bits"));
            }
            Ok(Some((o, l)))
        }
        (Some(_), None) => Err("\"offset\" without \"length\"".into()),
        (None, Some(_)) => Err("\"length\" without \"offset\"".into()),
    }
}

/// Parses a chunks file for `set --chunks`: `{"offset": N, "length": N,
/// "vector": [...]}` per line, blank lines skipped. Errors name the file and
/// the line (1-based).
pub fn parse_chunks(name: &str, r: impl BufRead) -> Res<Vec<ChunkLine>> {
    let mut out = Vec::new();
    json_lines(name, r, "{\"offset\": N, \"length\": N, \"vector\": [...]}", |lno, at, obj| {
        let (offset, length) = chunk_range(obj)
            .map_err(at)?
            .ok_or_else(|| at("missing \"offset\" and \"length\"".into()))?;
        let vec = obj.get("vector").ok_or_else(|| at("missing \"vector\" array".into()))?;
        let vector = vecfile::json_numbers(vec).map_err(at)?;
        vecfile::validate(&vector).map_err(at)?;
        out.push(ChunkLine { line: lno, offset, length, vector });
        if out.len() > VEXFS_IOC_MAX_CHUNKS as usize {
            return Err(Error::new(
                name,
                format!("more than {VEXFS_IOC_MAX_CHUNKS} chunks (the most one file can carry)"),
            ));
        }
        Ok(())
    })?;
    Ok(out)
}

type JsonObject = serde_json::Map<String, serde_json::Value>;

/// Calls `each(line number, error maker, object)` for every non-blank line
/// of a JSON-lines file, each line one object (`what` shows the expected
/// one in the error). Errors name the file and the line (1-based).
fn json_lines(
    name: &str,
    r: impl BufRead,
    what: &str,
    mut each: impl FnMut(usize, &dyn Fn(String) -> Error, &JsonObject) -> Res<()>,
) -> Res<()> {
    for (i, line) in r.lines().enumerate() {
        let lno = i + 1;
        let at = |m: String| Error::new(format!("{name}:{lno}"), m);
        let line = line.map_err(|e| at(io_text(&e)))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| at(json_error(&line, &e)))?;
        let obj = v.as_object().ok_or_else(|| at(format!("expected an object {what}")))?;
        each(lno, &at, obj)?;
    }
    Ok(())
}

/// A chunk set packed for SET_CHUNKS: the (offset, length) ranges and the
/// vectors back to back.
type PackedSet = (Vec<(u64, u64)>, Vec<f32>);

/// Checks every chunk's dimension and packs the set for SET_CHUNKS.
fn pack_chunks(subject: &str, chunks: &[ChunkLine], fs_dim: u32) -> Res<PackedSet> {
    let mut ranges = Vec::with_capacity(chunks.len());
    let mut vecs = Vec::with_capacity(chunks.len() * fs_dim as usize);
    for c in chunks {
        if c.vector.len() != fs_dim as usize {
            return Err(Error::new(
                format!("{subject}:{}", c.line),
                format!("vector has {} elements, this filesystem stores {fs_dim}", c.vector.len()),
            ));
        }
        ranges.push((c.offset, c.length));
        vecs.extend_from_slice(&c.vector);
    }
    Ok((ranges, vecs))
}

fn cmd_set_chunks(file: &Path, chunks_file: &Path) -> Res<()> {
    let name = disp(chunks_file);
    let r = File::open(chunks_file).map_err(|e| Error::io(&name, &e))?;
    let chunks = parse_chunks(&name, BufReader::new(r))?;
    let f = open_write(file, "setting chunks on a directory")?;
    let st = status_of(&f, file)?;
    let (ranges, vecs) = pack_chunks(&name, &chunks, st.dim)?;
    f.set_chunks(&ranges, &vecs, st.dim).map_err(|e| Error::errno(disp(file), e, Op::SetChunks))
}

/// Reads a file's whole set; a module without GET_CHUNKS (ENOTTY) is asked
/// for the single vector instead.
fn read_set(f: &VexFile, file: &Path, fs_dim: u32) -> Res<ChunkSet> {
    match f.get_chunks() {
        Ok(s) => Ok(s),
        Err(libc::ENOTTY) => {
            let cap = if fs_dim == 0 { VEXFS_IOC_MAX_DIM } else { fs_dim };
            let v = match f.get_vector(cap) {
                Err(libc::ERANGE) if cap < VEXFS_IOC_MAX_DIM => f.get_vector(VEXFS_IOC_MAX_DIM),
                r => r,
            }
            .map_err(|e| Error::errno(disp(file), e, Op::GetVector))?;
            Ok(ChunkSet { dim: v.len() as u32, stale: false, data_version: 0, chunks: vec![(0, 0)], vectors: v })
        }
        Err(e) => Err(Error::errno(disp(file), e, Op::GetChunks)),
    }
}

fn cmd_get(file: &Path, json: bool) -> Res<()> {
    let f = open_read(file)?;
    let st = status_of(&f, file)?;
    let set = read_set(&f, file, st.dim)?;
    if json {
        println!("{}", output::chunks_json(&disp(file), &set));
    } else {
        print!("{}", output::chunks_text(&set));
    }
    Ok(())
}

fn cmd_rm(file: &Path) -> Res<()> {
    let f = open_write(file, "removing a vector from a directory")?;
    f.del_vector().map_err(|e| Error::errno(disp(file), e, Op::DelVector))
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub(super) fn progress(total: Option<u64>, what: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let pb = match total {
        Some(n) => {
            let pb = ProgressBar::with_draw_target(Some(n), target);
            if let Ok(s) = ProgressStyle::with_template(
                "{msg} [{elapsed_precise}] [{wide_bar}] {pos}/{len} ({per_sec}, eta {eta})",
            ) {
                pb.set_style(s.progress_chars("=> "));
            }
            pb
        }
        None => {
            let pb = ProgressBar::with_draw_target(None, target);
            if let Ok(s) = ProgressStyle::with_template("{msg} [{elapsed_precise}] {pos} ({per_sec})") {
                pb.set_style(s);
            }
            pb
        }
    };
    pb.set_message(what.to_string());
    pb
}

/// Largest batch the open-file limit allows (every entry holds an fd).
fn batch_for_fd_limit(batch: u32) -> u32 {
    let lim = raise_nofile_limit();
    let room = lim.saturating_sub(64).max(1);
    (batch as u64).min(room) as u32
}

fn import_fvecs(dir: &Path, fvecs: &Path, batch: u32, content: Option<&str>) -> Res<()> {
    let t0 = Instant::now();
    let mut reader = FvecsReader::open(fvecs).map_err(|e| Error::io(disp(fvecs), &e))?;
    let flen = std::fs::metadata(fvecs).map(|m| m.len()).unwrap_or(0);
    let dim = vecfile::fvecs_peek_dim(fvecs)
        .map_err(|e| Error::io(disp(fvecs), &e))?
        .ok_or_else(|| Error::new(disp(fvecs), "fvecs file is empty or has a bad first record"))?;
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(disp(dir), &e))?;
    }
    let dirf = open_read(dir)?;
    let st = status_of(&dirf, dir)?;
    if dim != st.dim as usize {
        return Err(Error::new(
            disp(fvecs),
            format!("vectors have {dim} elements, this filesystem stores {}", st.dim),
        ));
    }
    let batch = batch_for_fd_limit(batch) as usize;
    let total = vecfile::fvecs_count(flen, dim);
    let pb = progress(total, "importing");
    let mut buf: Vec<f32> = Vec::with_capacity(batch * dim);
    let mut index: u64 = 0;
    loop {
        buf.clear();
        let first = index;
        let mut n = 0usize;
        while n < batch {
            match reader.next_into(&mut buf) {
                Ok(true) => n += 1,
                Ok(false) => break,
                Err(e) => {
                    pb.abandon();
                    return Err(Error::new(disp(fvecs), e.to_string()));
                }
            }
        }
        if n == 0 {
            break;
        }
        let mut files = Vec::with_capacity(n);
        for i in 0..n as u64 {
            let p = dir.join(format!("{:08}", first + i));
            let f = VexFile::create(&p).map_err(|e| {
                pb.abandon();
                Error::io(disp(&p), &e)
            })?;
            if let Some(c) = content {
                f.file().set_len(0).and_then(|_| f.file().write_all(c.as_bytes())).map_err(|e| {
                    pb.abandon();
                    Error::io(disp(&p), &e)
                })?;
            }
            files.push(f);
        }
        let fds: Vec<RawFd> = files.iter().map(|f| f.fd()).collect();
        if let Err((e, done)) = dirf.batch_set(&fds, &buf, dim as u32) {
            pb.abandon();
            let bad = dir.join(format!("{:08}", first + done as u64));
            let mut err = Error::errno(disp(&bad), e, Op::BatchSet);
            err.msg = format!("{} ({} vectors imported before it)", err.msg, first + done as u64);
            return Err(err);
        }
        index += n as u64;
        pb.inc(n as u64);
    }
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "imported {index} vectors (dim {dim}) into {} in {secs:.2}s ({:.0} vectors/s)",
        disp(dir),
        if secs > 0.0 { index as f64 / secs } else { 0.0 }
    );
    Ok(())
}

/// One manifest line: a whole-file vector (range None) or a chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestLine {
    pub line: usize,
    pub path: PathBuf,
    pub range: Option<(u64, u64)>,
    pub vector: Vec<f32>,
}

/// Parses a manifest: `{"path": ..., "vector": [...]}` or `{"path": ...,
/// "offset": N, "length": N, "vector": [...]}` per line; blank lines are
/// skipped. Errors name the manifest and the line (1-based).
pub fn parse_manifest(name: &str, r: impl BufRead) -> Res<Vec<ManifestLine>> {
    let mut out = Vec::new();
    json_lines(name, r, "{\"path\": ..., \"vector\": [...]}", |lno, at, obj| {
        let path = obj
            .get("path")
            .and_then(|p| p.as_str())
            .ok_or_else(|| at("missing \"path\" string".into()))?;
        if path.is_empty() {
            return Err(at("empty \"path\"".into()));
        }
        let range = chunk_range(obj).map_err(|m| at(format!("{path}: {m}")))?;
        let vec = obj.get("vector").ok_or_else(|| at("missing \"vector\" array".into()))?;
        let vec = vecfile::json_numbers(vec).map_err(|m| at(format!("{path}: {m}")))?;
        vecfile::validate(&vec).map_err(|m| at(format!("{path}: {m}")))?;
        out.push(ManifestLine { line: lno, path: PathBuf::from(path), range, vector: vec });
        Ok(())
    })?;
    Ok(out)
}

/// A manifest's lines grouped by path, in order of first appearance: a
/// path on one line without a range is a whole-file vector (batched), any
/// other path a chunk set.
fn group_manifest(name: &str, lines: Vec<ManifestLine>) -> Res<Vec<(PathBuf, Vec<ManifestLine>)>> {
    let mut order: Vec<(PathBuf, Vec<ManifestLine>)> = Vec::new();
    let mut at: HashMap<PathBuf, usize> = HashMap::new();
    for l in lines {
        match at.get(&l.path) {
            Some(&i) => order[i].1.push(l),
            None => {
                at.insert(l.path.clone(), order.len());
                order.push((l.path.clone(), vec![l]));
            }
        }
    }
    for (p, ls) in &order {
        if ls.len() > VEXFS_IOC_MAX_CHUNKS as usize {
            return Err(Error::new(
                format!("{name}:{}: {}", ls[VEXFS_IOC_MAX_CHUNKS as usize].line, disp(p)),
                format!("more than {VEXFS_IOC_MAX_CHUNKS} chunks (the most one file can carry)"),
            ));
        }
    }
    Ok(order)
}

fn open_for_import(subject: &str, path: &Path) -> Res<VexFile> {
    match VexFile::open_write(path) {
        Ok(f) => Ok(f),
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => {
            Err(Error::new(subject, "is a directory: setting a vector on a directory is not supported"))
        }
        Err(e) => Err(Error::io(subject, &e)),
    }
}

fn import_manifest(manifest: &Path, batch: u32) -> Res<()> {
    let t0 = Instant::now();
    let name = disp(manifest);
    let f = File::open(manifest).map_err(|e| Error::io(&name, &e))?;
    let groups = group_manifest(&name, parse_manifest(&name, BufReader::new(f))?)?;
    let batch = batch_for_fd_limit(batch) as usize;

    // Check everything first: every file opens, sits on a VexFS and every
    // vector has that filesystem's dimension; nothing is set before.
    let mut dims: HashMap<u64, u32> = HashMap::new();
    let mut is_set = false;
    for (path, ls) in &groups {
        let subject = format!("{name}:{}: {}", ls[0].line, disp(path));
        let meta = std::fs::metadata(path).map_err(|e| Error::io(&subject, &e))?;
        if meta.is_dir() {
            return Err(Error::new(subject, "is a directory: setting a vector on a directory is not supported"));
        }
        let dim = match dims.get(&meta.dev()) {
            Some(&d) => d,
            None => {
                let vf = open_for_import(&subject, path)?;
                let st = vf.status().map_err(|e| Error::errno(&subject, e, Op::Status))?;
                dims.insert(meta.dev(), st.dim);
                st.dim
            }
        };
        for l in ls {
            if l.vector.len() != dim as usize {
                return Err(Error::new(
                    format!("{name}:{}: {}", l.line, disp(path)),
                    format!("vector has {} elements, this filesystem stores {dim}", l.vector.len()),
                ));
            }
        }
        is_set |= ls.len() > 1 || ls[0].range.is_some();
    }
    let total: u64 = groups.iter().map(|(_, ls)| ls.len() as u64).sum();
    let pb = progress(Some(total), "importing");
    let mut pending: Vec<(&ManifestLine, VexFile, u64)> = Vec::new();
    let mut applied = 0u64;
    let mut sets = 0u64;

    let flush = |pending: &mut Vec<(&ManifestLine, VexFile, u64)>, applied: &mut u64| -> Res<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let dim = pending[0].0.vector.len();
        let fds: Vec<RawFd> = pending.iter().map(|(_, f, _)| f.fd()).collect();
        let mut vecs = Vec::with_capacity(pending.len() * dim);
        for (e, _, _) in pending.iter() {
            vecs.extend_from_slice(&e.vector);
        }
        if let Err((e, done)) = pending[0].1.batch_set(&fds, &vecs, dim as u32) {
            let (ent, _, _) = &pending[(done as usize).min(pending.len() - 1)];
            let mut err = Error::errno(format!("{name}:{}: {}", ent.line, disp(&ent.path)), e, Op::BatchSet);
            err.msg = format!("{} ({} vectors attached before it)", err.msg, *applied + done as u64);
            return Err(err);
        }
        *applied += pending.len() as u64;
        pb.inc(pending.len() as u64);
        pending.clear();
        Ok(())
    };

    for (path, ls) in &groups {
        let subject = format!("{name}:{}: {}", ls[0].line, disp(path));
        let f = open_for_import(&subject, path).inspect_err(|_| pb.abandon())?;
        let dev = f.file().metadata().map(|m| m.dev()).map_err(|e| {
            pb.abandon();
            Error::io(&subject, &e)
        })?;
        if ls.len() == 1 && ls[0].range.is_none() {
            if pending.first().is_some_and(|p| p.2 != dev) || pending.len() >= batch {
                flush(&mut pending, &mut applied).inspect_err(|_| pb.abandon())?;
            }
            pending.push((&ls[0], f, dev));
            continue;
        }
        let dim = dims[&dev];
        let mut ranges = Vec::with_capacity(ls.len());
        let mut vecs = Vec::with_capacity(ls.len() * dim as usize);
        for l in ls {
            ranges.push(l.range.unwrap_or((0, 0)));
            vecs.extend_from_slice(&l.vector);
        }
        f.set_chunks(&ranges, &vecs, dim).map_err(|e| {
            pb.abandon();
            let mut err = Error::errno(&subject, e, Op::SetChunks);
            err.msg = format!("{} ({} vectors attached before it)", err.msg, applied);
            err
        })?;
        applied += ls.len() as u64;
        sets += 1;
        pb.inc(ls.len() as u64);
    }
    flush(&mut pending, &mut applied).inspect_err(|_| pb.abandon())?;
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    if is_set {
        println!(
            "attached {applied} vectors ({sets} chunk sets) to {} files from {name} in {secs:.2}s",
            groups.len()
        );
    } else {
        println!("attached {applied} vectors from {name} in {secs:.2}s");
    }
    Ok(())
}

/// Resolves result inodes to paths relative to the mount root, dropping
/// files that went away or became unreadable meanwhile. `cache` may be shared
/// across searches of one run.
fn resolve(
    f: &VexFile,
    path: &Path,
    hits: &[Hit],
    cache: &mut HashMap<(u64, u32), Option<String>>,
) -> Res<Vec<Resolved>> {
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        let key = (h.ino, h.generation);
        let p = match cache.get(&key) {
            Some(p) => p.clone(),
            None => {
                let p = match f.ino_path(h.ino, h.generation) {
                    Ok(p) => Some(p),
                    // Gone (unlinked) or no longer readable since the search.
                    Err(libc::ENOENT) | Err(libc::ESTALE) | Err(libc::EACCES) | Err(libc::EPERM) => None,
                    Err(e) => return Err(Error::errno(disp(path), e, Op::InoPath)),
                };
                cache.insert(key, p.clone());
                p
            }
        };
        if let Some(p) = p {
            out.push(Resolved { path: p, hit: *h });
        }
    }
    Ok(out)
}

/// Searches opened on a directory cover its subtree, unless --all.
fn scoped(f: &VexFile, all: bool) -> bool {
    !all && f.file().metadata().map(|m| m.is_dir()).unwrap_or(false)
}

/// A range/similarity search, growing the result buffer while the kernel
/// reports truncation (unless the caller set a limit).
fn search_growing(
    f: &VexFile,
    path: &Path,
    base: SearchReq<'_>,
    limit: Option<u32>,
) -> Res<SearchOut> {
    let mut cap = limit.unwrap_or(1024).min(VEXFS_IOC_MAX_RESULTS);
    loop {
        let req = SearchReq { k: cap, ..base };
        let out = f.search(&req).map_err(|e| Error::errno(disp(path), e, Op::Search))?;
        if !out.truncated || limit.is_some() || cap >= VEXFS_IOC_MAX_RESULTS {
            if out.truncated && limit.is_none() {
                eprintln!(
                    "vexctl: {}: warning: more than {cap} results matched; results truncated",
                    disp(path)
                );
            }
            return Ok(out);
        }
        cap = (cap.saturating_mul(8)).min(VEXFS_IOC_MAX_RESULTS);
    }
}

#[allow(clippy::too_many_arguments)]
fn cmd_search(
    path: &Path,
    q: &[f32],
    kind: Kind,
    k: u32,
    ef: u32,
    threshold: f32,
    limit: Option<u32>,
    out: &ResultOpts,
) -> Res<()> {
    let rs = search_resolved(path, q, kind, k, ef, threshold, limit, out)?;
    if out.json {
        println!("{}", output::results_json(&rs, out.metadata));
    } else {
        print!("{}", output::results_table(&rs, out.metadata));
    }
    Ok(())
}

/// One search with the hits resolved to paths.
#[allow(clippy::too_many_arguments)]
fn search_resolved(
    path: &Path,
    q: &[f32],
    kind: Kind,
    k: u32,
    ef: u32,
    threshold: f32,
    limit: Option<u32>,
    out: &ResultOpts,
) -> Res<Vec<Resolved>> {
    let f = open_read(path)?;
    let st = status_of(&f, path)?;
    check_dim(path, "query", q.len(), st.dim)?;
    let subtree = scoped(&f, out.all);
    let base = out.chunk.apply(SearchReq {
        kind,
        query: q,
        k,
        ef,
        exact: out.exact,
        subtree,
        threshold,
        fresh: false,
        per_file: false,
    });
    let res = match kind {
        Kind::Knn => f.search(&base).map_err(|e| Error::errno(disp(path), e, Op::Search))?,
        _ => search_growing(&f, path, base, limit)?,
    };
    let mut cache = HashMap::new();
    resolve(&f, path, &res.hits, &mut cache)
}

#[allow(clippy::too_many_arguments)]
fn cmd_batch_search(
    path: &Path,
    queries: &Path,
    k: u32,
    ef: u32,
    out: &Path,
    metadata: bool,
    exact: bool,
    all: bool,
    chunk: ChunkOpts,
) -> Res<()> {
    let t0 = Instant::now();
    let f = open_read(path)?;
    let st = status_of(&f, path)?;
    let subtree = scoped(&f, all);
    let mut reader = FvecsReader::open(queries).map_err(|e| Error::io(disp(queries), &e))?;
    let qlen = std::fs::metadata(queries).map(|m| m.len()).unwrap_or(0);
    let total = vecfile::fvecs_peek_dim(queries)
        .ok()
        .flatten()
        .and_then(|d| vecfile::fvecs_count(qlen, d));
    let of = File::create(out).map_err(|e| Error::io(disp(out), &e))?;
    let mut w = BufWriter::new(of);
    let pb = progress(total, "searching");
    let mut cache = HashMap::new();
    let mut n = 0u64;
    let mut q = Vec::new();
    loop {
        q.clear();
        match reader.next_into(&mut q) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                pb.abandon();
                return Err(Error::new(disp(queries), e.to_string()));
            }
        }
        if q.len() != st.dim as usize {
            pb.abandon();
            return Err(Error::new(
                disp(queries),
                format!("queries have {} elements, this filesystem stores {}", q.len(), st.dim),
            ));
        }
        let req = chunk.apply(SearchReq { ef, exact, subtree, ..SearchReq::knn(&q, k) });
        let res = f.search(&req).map_err(|e| {
            pb.abandon();
            let mut err = Error::errno(disp(path), e, Op::Search);
            err.msg = format!("query {n}: {}", err.msg);
            err
        })?;
        let rs = resolve(&f, path, &res.hits, &mut cache).inspect_err(|_| pb.abandon())?;
        writeln!(w, "{}", output::results_json(&rs, metadata)).map_err(|e| {
            pb.abandon();
            Error::io(disp(out), &e)
        })?;
        n += 1;
        pb.inc(1);
    }
    w.flush().map_err(|e| Error::io(disp(out), &e))?;
    w.get_ref().sync_all().ok();
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "searched {n} queries (k={k}) in {secs:.2}s ({:.0} queries/s); results in {}",
        if secs > 0.0 { n as f64 / secs } else { 0.0 },
        disp(out)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parsing() {
        let m = "{\"path\": \"a.txt\", \"vector\": [1, 2]}\n\n{\"path\": \"/x/b\", \"vector\": [0.5, -1]}\n";
        let e = parse_manifest("m.jsonl", m.as_bytes()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            e[0],
            ManifestLine { line: 1, path: PathBuf::from("a.txt"), range: None, vector: vec![1.0, 2.0] }
        );
        assert_eq!(e[1].line, 3);
        let m = "{\"path\": \"a\", \"offset\": 10, \"length\": 5, \"vector\": [1]}\n\
                 {\"path\": \"b\", \"vector\": [2]}\n\
                 {\"path\": \"a\", \"offset\": 0, \"length\": 0, \"vector\": [3]}\n";
        let g = group_manifest("m", parse_manifest("m", m.as_bytes()).unwrap()).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].0, PathBuf::from("a"));
        assert_eq!(g[0].1.iter().map(|l| l.range).collect::<Vec<_>>(), vec![Some((10, 5)), Some((0, 0))]);
        assert_eq!(g[1].1[0].range, None);
        let err = parse_manifest("m", "{\"path\": \"a\", \"offset\": 1, \"vector\": [1]}".as_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "vexctl: m:1: a: \"offset\" without \"length\"");
        let err = parse_manifest("m", "{\"path\": \"a\", \"offset\": -1, \"length\": 1, \"vector\": [1]}".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("non-negative integer"), "{err}");
        let bad = "{\"path\": \"a\", \"vector\": [1]}\n{\"path\": \"b\"}\n";
        let err = parse_manifest("m.jsonl", bad.as_bytes()).unwrap_err().to_string();
        assert_eq!(err, "vexctl: m.jsonl:2: missing \"vector\" array");
        let err = parse_manifest("m", "not json".as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("vexctl: m:1: invalid JSON"), "{err}");
        let err = parse_manifest("m", "{\"vector\": [1]}".as_bytes()).unwrap_err().to_string();
        assert!(err.contains("missing \"path\""), "{err}");
        let err = parse_manifest("m", "{\"path\": \"p\", \"vector\": [1, \"x\"]}".as_bytes()).unwrap_err().to_string();
        assert!(err.contains("m:1: p: element 1"), "{err}");
        let err = parse_manifest("m", "{\"path\": \"p\", \"vector\": []}".as_bytes()).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        let err = parse_manifest("m", "[1,2]".as_bytes()).unwrap_err().to_string();
        assert!(err.contains("expected an object"), "{err}");
    }

    #[test]
    fn chunks_parsing() {
        let c = "{\"offset\": 0, \"length\": 100, \"vector\": [1, 2]}\n\n{\"offset\": 50, \"length\": 0, \"vector\": [3, 4]}\n";
        let e = parse_chunks("c.jsonl", c.as_bytes()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1], ChunkLine { line: 3, offset: 50, length: 0, vector: vec![3.0, 4.0] });
        let (r, v) = pack_chunks("c.jsonl", &e, 2).unwrap();
        assert_eq!(r, vec![(0, 100), (50, 0)]);
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0]);
        let err = pack_chunks("c.jsonl", &e, 3).unwrap_err().to_string();
        assert_eq!(err, "vexctl: c.jsonl:1: vector has 2 elements, this filesystem stores 3");
        let err = parse_chunks("c", "{\"vector\": [1]}".as_bytes()).unwrap_err().to_string();
        assert_eq!(err, "vexctl: c:1: missing \"offset\" and \"length\"");
        let err = parse_chunks("c", "{\"offset\": 18446744073709551615, \"length\": 1, \"vector\": [1]}".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("overflows"), "{err}");
        let err = parse_chunks("c", "{\"offset\": 0, \"length\": 1, \"vector\": [1, NaN]}".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("vexctl: c:1: invalid JSON: NaN and Infinity"), "{err}");
        let err = parse_chunks("c", "{\"offset\": 0, \"length\": 1, \"vector\": [1e39]}".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("vexctl: c:1: "), "{err}");
        let many: String = (0..=VEXFS_IOC_MAX_CHUNKS)
            .map(|i| format!("{{\"offset\": {i}, \"length\": 1, \"vector\": [1]}}\n"))
            .collect();
        let err = parse_chunks("c", many.as_bytes()).unwrap_err().to_string();
        assert_eq!(err, "vexctl: c: more than 16384 chunks (the most one file can carry)");
    }
}
