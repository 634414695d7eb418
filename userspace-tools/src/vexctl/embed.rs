//! `vexctl embed`: text to vectors with a sentence-embedding model on the
//! host (see `crate::embed`). Without the cargo feature `embed` the command
//! exists but says how to get it.
use std::path::PathBuf;

use super::errors::Error;

type Res<T> = Result<T, Error>;

/// The parsed arguments of `vexctl embed`.
#[derive(Debug, Clone)]
pub struct EmbedArgs {
    pub model: Option<PathBuf>,
    pub text: Vec<String>,
    pub dir: Option<PathBuf>,
    pub manifest: Option<PathBuf>,
    pub path_prefix: Option<String>,
    pub cache: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub batch: usize,
    /// With --dir: split each file as `vexctl index` does (these sizes) and
    /// write one manifest line per chunk.
    pub chunks: Option<super::chunker::Params>,
}

#[cfg(not(feature = "embed"))]
pub fn run(_a: EmbedArgs) -> Res<()> {
    Err(Error::bare(
        "embed: this vexctl was built without the embedding model runtime; build one with \
         `cargo build --release -p vexfs-tools --features embed --bin vexctl` (host builds)",
    ))
}

#[cfg(feature = "embed")]
pub use imp::run;

#[cfg(feature = "embed")]
mod imp {
    use std::io::{BufWriter, IsTerminal, Write};
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    use super::super::vecfile::{encode_fvecs, encode_npy, VecFormat};
    use super::{EmbedArgs, Error, Res};
    use crate::embed::{model_dir, CachedEmbedError, Embedder};

    fn load(a: &EmbedArgs) -> Res<Embedder> {
        let dir = model_dir(a.model.as_deref()).map_err(|m| Error::new("embed", m))?;
        Embedder::load(&dir).map_err(|m| Error::new("embed", m))
    }

    pub fn run(a: EmbedArgs) -> Res<()> {
        match (&a.dir, &a.manifest) {
            (Some(d), Some(m)) => embed_dir(&a, d, m),
            _ => embed_texts(&a),
        }
    }

    fn json_array(v: &[f32]) -> String {
        serde_json::Value::from(v.iter().map(|&x| x as f64).collect::<Vec<_>>()).to_string()
    }

    fn embed_texts(a: &EmbedArgs) -> Res<()> {
        let e = load(a)?;
        let texts: Vec<&str> = a.text.iter().map(|s| s.as_str()).collect();
        let vecs = e.embed_all(&texts, a.batch, |_| {}).map_err(|m| Error::new("embed", m))?;
        let Some(out) = &a.out else {
            if vecs.len() == 1 {
                println!("{}", json_array(&vecs[0]));
            } else {
                let rows: Vec<String> = vecs.iter().map(|v| json_array(v)).collect();
                println!("[{}]", rows.join(", "));
            }
            return Ok(());
        };
        let name = out.display().to_string();
        let fmt = VecFormat::from_path(out).map_err(|m| Error::new(&name, m))?;
        let bytes = match fmt {
            VecFormat::F32 if vecs.len() == 1 => vecs[0].iter().flat_map(|x| x.to_le_bytes()).collect(),
            VecFormat::F32 => {
                return Err(Error::new(&name, "a .f32 file holds one vector: use .npy, .json or .fvecs for several texts"))
            }
            VecFormat::Fvecs => encode_fvecs(&vecs),
            VecFormat::Npy if vecs.len() == 1 => encode_npy(&vecs[0], &[e.dim]),
            VecFormat::Npy => encode_npy(&vecs.concat(), &[vecs.len(), e.dim]),
            VecFormat::Json if vecs.len() == 1 => format!("{}\n", json_array(&vecs[0])).into_bytes(),
            VecFormat::Json => {
                let rows: Vec<String> = vecs.iter().map(|v| json_array(v)).collect();
                format!("[{}]\n", rows.join(", ")).into_bytes()
            }
        };
        std::fs::write(out, bytes).map_err(|x| Error::io(&name, &x))
    }

    /// Every non-empty regular file under `root`, sorted, as (relative path, path).
    fn walk(root: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) -> Res<()> {
        let name = root.display().to_string();
        let mut entries: Vec<_> = std::fs::read_dir(root)
            .map_err(|e| Error::io(&name, &e))?
            .collect::<Result<_, _>>()
            .map_err(|e| Error::io(&name, &e))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let r = if rel.is_empty() {
                e.file_name().to_string_lossy().into_owned()
            } else {
                format!("{rel}/{}", e.file_name().to_string_lossy())
            };
            let ft = e.file_type().map_err(|x| Error::io(p.display(), &x))?;
            if ft.is_dir() {
                walk(&p, &r, out)?;
            } else if ft.is_file() && e.metadata().map(|m| m.len() > 0).unwrap_or(false) {
                out.push((r, p));
            }
        }
        Ok(())
    }

    fn embed_dir(a: &EmbedArgs, dir: &Path, manifest: &Path) -> Res<()> {
        let t0 = Instant::now();
        let mut files = Vec::new();
        walk(dir, "", &mut files)?;
        let e = load(a)?;
        // One item per vector: (index into files, byte range or None for the whole file).
        let mut items: Vec<(usize, Option<(usize, usize)>)> = Vec::with_capacity(files.len());
        let mut texts = Vec::with_capacity(files.len());
        let mut not_text = 0usize;
        for (fi, (_, p)) in files.iter().enumerate() {
            let b = std::fs::read(p).map_err(|x| Error::io(p.display(), &x))?;
            let Some(params) = &a.chunks else {
                items.push((fi, None));
                texts.push(String::from_utf8_lossy(&b).into_owned());
                continue;
            };
            // As `vexctl index`: only UTF-8 text without NUL bytes.
            let Some(t) = (!b.contains(&0)).then(|| std::str::from_utf8(&b).ok()).flatten() else {
                not_text += 1;
                continue;
            };
            let limit = e.max_tokens.saturating_sub(e.special_tokens());
            if params.max_tokens > limit {
                return Err(Error::new("embed", format!("--chunk-tokens {} is more than the model reads ({limit} tokens)", params.max_tokens)));
            }
            let mut count_err = None;
            let cs = super::super::chunker::chunk_text(t, params, &mut |x| match e.count_tokens(x) {
                Ok(n) => n,
                Err(m) => {
                    count_err.get_or_insert(m);
                    0
                }
            });
            if let Some(m) = count_err {
                return Err(Error::new(p.display(), m));
            }
            for c in cs {
                items.push((fi, Some((c.offset, c.length))));
                texts.push(t[c.offset..c.offset + c.length].to_string());
            }
        }
        let t1 = Instant::now();
        let tty = std::io::stderr().is_terminal();
        let mut next = 0;
        let tr: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (vecs, cached) = e
            .embed_cached(&tr, a.batch, a.cache.as_deref(), |done, total| {
                let rate = done as f64 / t1.elapsed().as_secs_f64();
                if tty {
                    eprint!("\rvexctl embed: {done}/{total} texts ({rate:.0}/s) ");
                    if done == total {
                        eprintln!();
                    }
                } else if done >= next || done == total {
                    eprintln!("vexctl embed: {done}/{total} texts ({rate:.1}/s)");
                    next = done + (total / 10).max(a.batch);
                }
            })
            .map_err(|x| match x {
                CachedEmbedError::Model(m) => Error::new("embed", m),
                CachedEmbedError::Cache(c, x) => Error::io(c.display(), &x),
            })?;
        let embedded = texts.len() - cached;
        let secs = t1.elapsed().as_secs_f64();
        let mname = manifest.display().to_string();
        let f = std::fs::File::create(manifest).map_err(|x| Error::io(&mname, &x))?;
        let mut w = BufWriter::new(f);
        for (&(fi, range), v) in items.iter().zip(&vecs) {
            let rel = &files[fi].0;
            let path = match &a.path_prefix {
                Some(p) => format!("{}/{rel}", p.trim_end_matches('/')),
                None => rel.clone(),
            };
            let line = match range {
                None => serde_json::json!({ "path": path, "vector": v }),
                Some((o, l)) => serde_json::json!({ "path": path, "offset": o, "length": l, "vector": v }),
            };
            writeln!(w, "{line}").map_err(|x| Error::io(&mname, &x))?;
        }
        w.flush().map_err(|x| Error::io(&mname, &x))?;
        let rate = if embedded == 0 { String::new() } else { format!(" in {secs:.1} s, {:.1}/s", embedded as f64 / secs) };
        let what = match a.chunks {
            Some(_) => format!("{} files ({not_text} not text) under {}: {} chunks, ", files.len(), dir.display(), texts.len()),
            None => format!("{} files under {}: ", files.len(), dir.display()),
        };
        eprintln!(
            "vexctl embed: {what}{} embedded{rate}, {cached} from the cache; dim {}; manifest {} ({:.1} s total)",
            embedded,
            e.dim,
            mname,
            t0.elapsed().as_secs_f64()
        );
        Ok(())
    }
}
