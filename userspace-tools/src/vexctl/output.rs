//! vexctl's output: search results (table or JSON), status, statistics and
//! configuration (text or JSON).
//!
//! JSON shapes (a contract with scripts and tests):
//! * a search result (a chunk): `{"path": "docs/a.txt", "ino": 12,
//!   "distance": 0.25, "chunk": 3, "offset": 4096, "length": 900,
//!   "stale": false}` (length 0 = the whole file); `--metadata` adds `"size"` (bytes), `"mtime"` (integer seconds since the
//!   epoch), `"mtime_nsec"` (nanoseconds within that second) and `"dim"`.
//!   `path` is relative to the mount root, without a leading slash.
//!   Distances are the float32 the kernel returned, printed in its shortest
//!   decimal form.
//! * `get --json`: `{"path", "dim", "vector", "stale", "chunks": [{"offset",
//!   "length", "vector"}]}`, see [`chunks_json`].
//! * status, stats, config: one object, see [`status_json`], [`stats_json`],
//!   [`config_json`].
use serde_json::{json, Map, Value};
use vexfs_core::format::{VEXFS_METRIC_COSINE, VEXFS_METRIC_DOT, VEXFS_METRIC_L2};
use vexfs_core::uapi::*;

use super::ioctl::{ChunkSet, Hit};

/// A search result with its resolved path.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub path: String,
    pub hit: Hit,
}

/// An f32 as a JSON number in its shortest decimal form (0.1f32 prints as
/// 0.1, not 0.10000000149011612); null if not finite.
pub fn f32_json(x: f32) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let s = format!("{x}");
    match s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        Some(n) => Value::Number(n),
        None => Value::Null,
    }
}

pub fn result_json(r: &Resolved, metadata: bool) -> Value {
    let mut m = Map::new();
    m.insert("path".into(), Value::String(r.path.clone()));
    m.insert("ino".into(), json!(r.hit.ino));
    m.insert("distance".into(), f32_json(r.hit.distance));
    m.insert("chunk".into(), json!(r.hit.chunk));
    m.insert("offset".into(), json!(r.hit.offset));
    m.insert("length".into(), json!(r.hit.length));
    m.insert("stale".into(), json!(r.hit.stale));
    if metadata {
        m.insert("size".into(), json!(r.hit.size));
        m.insert("mtime".into(), json!(r.hit.mtime_sec));
        m.insert("mtime_nsec".into(), json!(r.hit.mtime_nsec));
        m.insert("dim".into(), json!(r.hit.dim));
    }
    Value::Object(m)
}

/// The results as one JSON array (one line), keys in the documented order
/// (path, ino, distance, chunk, offset, length, stale[, size, mtime,
/// mtime_nsec, dim]).
pub fn results_json(rs: &[Resolved], metadata: bool) -> String {
    let mut out = String::from("[");
    for (i, r) in rs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"path\":{},\"ino\":{},\"distance\":{},\"chunk\":{},\"offset\":{},\"length\":{},\"stale\":{}",
            Value::String(r.path.clone()),
            r.hit.ino,
            f32_json(r.hit.distance),
            r.hit.chunk,
            r.hit.offset,
            r.hit.length,
            r.hit.stale
        ));
        if metadata {
            out.push_str(&format!(
                ",\"size\":{},\"mtime\":{},\"mtime_nsec\":{},\"dim\":{}",
                r.hit.size, r.hit.mtime_sec, r.hit.mtime_nsec, r.hit.dim
            ));
        }
        out.push('}');
    }
    out.push(']');
    out
}

/// A chunk's byte range for the table: `START-END` (end exclusive), `all`
/// for a whole-file chunk.
pub fn byte_range(offset: u64, length: u64) -> String {
    if length == 0 {
        if offset == 0 {
            "all".into()
        } else {
            format!("{offset}-")
        }
    } else {
        format!("{offset}-{}", offset.saturating_add(length))
    }
}

/// The results as a table: rank, distance, the chunk's byte range, path
/// (and size, mtime, dim with metadata); " (stale)" after the path of a hit
/// whose file changed since its chunks were set.
pub fn results_table(rs: &[Resolved], metadata: bool) -> String {
    let mut out = String::new();
    if rs.is_empty() {
        out.push_str("no results\n");
        return out;
    }
    if metadata {
        out.push_str(&format!(
            "{:>4}  {:<14}  {:<21}  {:>12}  {:<20}  {:>5}  {}\n",
            "RANK", "DISTANCE", "BYTES", "SIZE", "MTIME", "DIM", "PATH"
        ));
    } else {
        out.push_str(&format!("{:>4}  {:<14}  {:<21}  {}\n", "RANK", "DISTANCE", "BYTES", "PATH"));
    }
    for (i, r) in rs.iter().enumerate() {
        let d = format!("{}", r.hit.distance);
        let bytes = byte_range(r.hit.offset, r.hit.length);
        let stale = if r.hit.stale { " (stale)" } else { "" };
        if metadata {
            out.push_str(&format!(
                "{:>4}  {:<14}  {:<21}  {:>12}  {:<20}  {:>5}  {}{stale}\n",
                i + 1,
                d,
                bytes,
                r.hit.size,
                iso_time(r.hit.mtime_sec, 0),
                r.hit.dim,
                r.path
            ));
        } else {
            out.push_str(&format!("{:>4}  {:<14}  {:<21}  {}{stale}\n", i + 1, d, bytes, r.path));
        }
    }
    out
}

pub fn metric_name(m: u32) -> String {
    match m {
        VEXFS_METRIC_L2 => "l2".into(),
        VEXFS_METRIC_COSINE => "cosine".into(),
        VEXFS_METRIC_DOT => "dot".into(),
        other => format!("unknown({other})"),
    }
}

pub fn sync_mode_name(m: u32) -> String {
    match m {
        VEXFS_SYNC_IMMEDIATE => "immediate".into(),
        VEXFS_SYNC_LAZY => "lazy".into(),
        other => format!("unknown({other})"),
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// UTC time as ISO 8601, e.g. `2024-05-01T12:34:56Z`, or with nanoseconds
/// `2024-05-01T12:34:56.000000123Z` when `nsec` is non-zero.
pub fn iso_time(sec: i64, nsec: u32) -> String {
    let days = sec.div_euclid(86_400);
    let secs = sec.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if nsec == 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{nsec:09}Z")
    }
}

/// Nanoseconds since the epoch as ISO 8601; None for 0 ("never").
pub fn iso_from_ns(ns: u64) -> Option<String> {
    (ns != 0).then(|| iso_time((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as u32))
}

/// `status --json`: sync_mode (name), pending, last_sync_ns (0 = never),
/// last_sync (ISO 8601 UTC or null), graph_generation, vector_generation,
/// vectors, graph_nodes, dim, metric (name), graph_valid, rebuilding,
/// hnsw_m, ef_construction, flags (raw), slots_loading (a lazy mount's slot
/// groups still to be read), slots_unreadable (the background warm-up ended
/// with groups it could not read), files (files with a chunk set),
/// stale_files, index_memory_bytes; `vectors` counts chunks.
pub fn status_json(s: &vexfs_ioc_status) -> Value {
    json!({
        "files": s.files,
        "stale_files": s.stale_files,
        "index_memory_bytes": s.index_memory_bytes,
        "sync_mode": sync_mode_name(s.sync_mode),
        "pending": s.pending,
        "last_sync_ns": s.last_sync_ns,
        "last_sync": iso_from_ns(s.last_sync_ns),
        "graph_generation": s.graph_generation,
        "vector_generation": s.vector_generation,
        "vectors": s.vectors,
        "graph_nodes": s.graph_nodes,
        "dim": s.dim,
        "metric": metric_name(s.metric),
        "graph_valid": s.flags & VEXFS_STATUS_GRAPH_VALID != 0,
        "rebuilding": s.flags & VEXFS_STATUS_REBUILDING != 0,
        "slots_loading": s.flags & VEXFS_STATUS_SLOTS_LOADING != 0,
        "slots_unreadable": s.flags & VEXFS_STATUS_SLOTS_UNREADABLE != 0,
        "hnsw_m": s.hnsw_m,
        "ef_construction": s.hnsw_ef_construction,
        "flags": s.flags,
    })
}

pub fn status_text(s: &vexfs_ioc_status) -> String {
    let yn = |b: bool| if b { "yes" } else { "no" };
    let last = match iso_from_ns(s.last_sync_ns) {
        Some(t) => format!("{t} ({} ns)", s.last_sync_ns),
        None => "never".into(),
    };
    format!(
        "sync mode:         {}\n\
         pending:           {}\n\
         last sync:         {}\n\
         graph generation:  {}\n\
         vector generation: {}\n\
         vectors:           {}\n\
         files with chunks: {} ({} stale)\n\
         index memory:      {} bytes\n\
         graph nodes:       {}\n\
         dimension:         {}\n\
         metric:            {}\n\
         graph valid:       {}\n\
         rebuilding:        {}\n\
         hnsw M:            {}\n\
         ef_construction:   {}\n",
        sync_mode_name(s.sync_mode),
        s.pending,
        last,
        s.graph_generation,
        s.vector_generation,
        s.vectors,
        s.files,
        s.stale_files,
        s.index_memory_bytes,
        s.graph_nodes,
        s.dim,
        metric_name(s.metric),
        yn(s.flags & VEXFS_STATUS_GRAPH_VALID != 0),
        yn(s.flags & VEXFS_STATUS_REBUILDING != 0),
        s.hnsw_m,
        s.hnsw_ef_construction,
    )
}

fn avg(total: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        total as f64 / n as f64
    }
}

/// `stats --json`: every counter of struct vexfs_ioc_stats under its own
/// name, plus avg_search_ns, avg_search_us and avg_insert_ns (0 when there
/// were none).
pub fn stats_json(s: &vexfs_ioc_stats) -> Value {
    let avg_search = avg(s.search_ns_total, s.searches);
    json!({
        "inserts": s.inserts,
        "updates": s.updates,
        "deletes": s.deletes,
        "searches": s.searches,
        "exact_searches": s.exact_searches,
        "distance_computations": s.distance_computations,
        "search_ns_total": s.search_ns_total,
        "search_ns_max": s.search_ns_max,
        "insert_ns_total": s.insert_ns_total,
        "syncs": s.syncs,
        "rebuilds": s.rebuilds,
        "errors": s.errors,
        "avg_search_ns": avg_search,
        "avg_search_us": avg_search / 1000.0,
        "avg_insert_ns": avg(s.insert_ns_total, s.inserts + s.updates),
    })
}

pub fn stats_text(s: &vexfs_ioc_stats) -> String {
    let avg_search = avg(s.search_ns_total, s.searches);
    format!(
        "inserts:               {}\n\
         updates:               {}\n\
         deletes:               {}\n\
         searches:              {}\n\
         exact searches:        {}\n\
         distance computations: {}\n\
         search time total:     {} ns\n\
         search time max:       {} ns\n\
         avg search latency:    {:.1} us\n\
         insert time total:     {} ns\n\
         avg insert latency:    {:.1} us\n\
         syncs:                 {}\n\
         rebuilds:              {}\n\
         errors:                {}\n",
        s.inserts,
        s.updates,
        s.deletes,
        s.searches,
        s.exact_searches,
        s.distance_computations,
        s.search_ns_total,
        s.search_ns_max,
        avg_search / 1000.0,
        s.insert_ns_total,
        avg(s.insert_ns_total, s.inserts + s.updates) / 1000.0,
        s.syncs,
        s.rebuilds,
        s.errors,
    )
}

/// `config --json`: sync_mode (name), batch_size, sync_interval_ms,
/// ef_search, auto_rebuild (bool).
pub fn config_json(c: &vexfs_ioc_config) -> Value {
    json!({
        "sync_mode": sync_mode_name(c.sync_mode),
        "batch_size": c.batch_size,
        "sync_interval_ms": c.sync_interval_ms,
        "ef_search": c.ef_search,
        "auto_rebuild": c.auto_rebuild != 0,
    })
}

pub fn config_text(c: &vexfs_ioc_config) -> String {
    format!(
        "sync mode:        {}\n\
         batch size:       {}\n\
         sync interval:    {} ms\n\
         ef_search:        {}\n\
         auto rebuild:     {}\n",
        sync_mode_name(c.sync_mode),
        c.batch_size,
        c.sync_interval_ms,
        c.ef_search,
        if c.auto_rebuild != 0 { "on" } else { "off" },
    )
}

/// A vector as CSV (shortest decimal form of each float).
pub fn vector_csv(v: &[f32]) -> String {
    v.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(",")
}

fn floats_json(v: &[f32]) -> Value {
    Value::Array(v.iter().map(|&x| f32_json(x)).collect())
}

/// A single vector: `{"path": ..., "dim": ..., "vector": [...]}`.
pub fn vector_json(path: &str, v: &[f32]) -> Value {
    json!({
        "path": path,
        "dim": v.len(),
        "vector": floats_json(v),
    })
}

/// `get --json`: `{"path", "dim", "vector", "stale", "chunks": [{"offset",
/// "length", "vector"}, ...]}`; "vector" is the one chunk's vector of a
/// one-chunk set, null for a set of several chunks.
pub fn chunks_json(path: &str, set: &ChunkSet) -> Value {
    let chunks: Vec<Value> = (0..set.chunks.len())
        .map(|i| {
            json!({
                "offset": set.chunks[i].0,
                "length": set.chunks[i].1,
                "vector": floats_json(set.vector(i)),
            })
        })
        .collect();
    json!({
        "path": path,
        "dim": set.dim,
        "vector": if set.chunks.len() == 1 { floats_json(set.vector(0)) } else { Value::Null },
        "stale": set.stale,
        "chunks": chunks,
    })
}

/// `get` text: a one-chunk set covering the whole file as one CSV line,
/// any other set as one `OFFSET LENGTH CSV` line per chunk.
pub fn chunks_text(set: &ChunkSet) -> String {
    if set.chunks.len() == 1 && set.chunks[0] == (0, 0) {
        return format!("{}\n", vector_csv(set.vector(0)));
    }
    let mut out = String::new();
    for (i, (o, l)) in set.chunks.iter().enumerate() {
        out.push_str(&format!("{o} {l} {}\n", vector_csv(set.vector(i))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(ino: u64, d: f32) -> Hit {
        Hit { ino, distance: d, generation: 1, size: 42, mtime_sec: 1_700_000_000, mtime_nsec: 5, dim: 4, chunk: 0, offset: 0, length: 0, stale: false }
    }

    #[test]
    fn result_shapes() {
        let r = vec![
            Resolved { path: "docs/a.txt".into(), hit: hit(12, 0.1) },
            Resolved { path: "b".into(), hit: hit(13, 2.5) },
        ];
        let v: Value = serde_json::from_str(&results_json(&r, false)).unwrap();
        assert_eq!(v, json!([
            {"path": "docs/a.txt", "ino": 12, "distance": 0.1, "chunk": 0, "offset": 0, "length": 0,
             "stale": false},
            {"path": "b", "ino": 13, "distance": 2.5, "chunk": 0, "offset": 0, "length": 0, "stale": false},
        ]));
        let v: Value = serde_json::from_str(&results_json(&r[..1], true)).unwrap();
        assert_eq!(v, json!([{"path": "docs/a.txt", "ino": 12, "distance": 0.1,
            "chunk": 0, "offset": 0, "length": 0, "stale": false,
            "size": 42, "mtime": 1_700_000_000i64, "mtime_nsec": 5, "dim": 4}]));
        assert_eq!(results_json(&[], false), "[]");
        assert!(!results_json(&r, false).contains('\n'));
        assert!(results_json(&r, false).starts_with(
            "[{\"path\":\"docs/a.txt\",\"ino\":12,\"distance\":0.1,\"chunk\":0,\"offset\":0,\"length\":0,\"stale\":false}"));
        let c = Resolved {
            path: "m.txt".into(),
            hit: Hit { chunk: 7, offset: 4096, length: 900, stale: true, ..hit(5, 1.5) },
        };
        let v: Value = serde_json::from_str(&results_json(&[c.clone()], false)).unwrap();
        assert_eq!(v[0]["chunk"], 7);
        assert_eq!(v[0]["offset"], 4096);
        assert_eq!(v[0]["length"], 900);
        assert_eq!(v[0]["stale"], true);
        assert_eq!(result_json(&c, false), v[0]);
    }

    #[test]
    fn table() {
        let r = vec![Resolved { path: "docs/a.txt".into(), hit: hit(12, 0.25) }];
        let t = results_table(&r, false);
        assert!(t.lines().next().unwrap().contains("DISTANCE"));
        assert!(t.lines().nth(1).unwrap().contains("0.25"));
        assert!(t.lines().nth(1).unwrap().ends_with("docs/a.txt"));
        assert!(t.lines().nth(1).unwrap().contains(" all "));
        let t = results_table(&r, true);
        assert!(t.contains("2023-11-14T22:13:20Z"), "{t}");
        let c = Resolved {
            path: "m.txt".into(),
            hit: Hit { chunk: 7, offset: 4096, length: 900, stale: true, ..hit(5, 1.5) },
        };
        let t = results_table(&[c], false);
        assert!(t.lines().nth(1).unwrap().contains(" 4096-4996 "), "{t}");
        assert!(t.lines().nth(1).unwrap().ends_with("m.txt (stale)"), "{t}");
        assert_eq!(byte_range(10, 0), "10-");
        assert_eq!(results_table(&[], false), "no results\n");
    }

    #[test]
    fn floats() {
        assert_eq!(f32_json(0.1).to_string(), "0.1");
        assert_eq!(f32_json(1e-7).to_string(), "1e-7");
        assert_eq!(f32_json(-3.0).to_string(), "-3.0");
        assert_eq!(f32_json(f32::NAN), Value::Null);
        assert_eq!(vector_csv(&[0.1, -2.0, 3.5]), "0.1,-2,3.5");
        assert_eq!(
            vector_json("a", &[1.0, 0.5]),
            json!({"path": "a", "dim": 2, "vector": [1.0, 0.5]})
        );
        let one = ChunkSet { dim: 2, stale: false, data_version: 3, chunks: vec![(0, 0)], vectors: vec![1.0, 0.5] };
        assert_eq!(
            chunks_json("a", &one),
            json!({"path": "a", "dim": 2, "vector": [1.0, 0.5], "stale": false,
                   "chunks": [{"offset": 0, "length": 0, "vector": [1.0, 0.5]}]})
        );
        assert_eq!(chunks_text(&one), "1,0.5\n");
        let two = ChunkSet {
            dim: 1, stale: true, data_version: 3, chunks: vec![(0, 10), (10, 5)], vectors: vec![1.0, 2.0],
        };
        let j = chunks_json("a", &two);
        assert_eq!(j["vector"], Value::Null);
        assert_eq!(j["stale"], true);
        assert_eq!(j["chunks"][1], json!({"offset": 10, "length": 5, "vector": [2.0]}));
        assert_eq!(chunks_text(&two), "0 10 1\n10 5 2\n");
    }

    #[test]
    fn times() {
        assert_eq!(iso_time(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(iso_time(1_700_000_000, 123), "2023-11-14T22:13:20.000000123Z");
        assert_eq!(iso_time(-1, 0), "1969-12-31T23:59:59Z");
        assert_eq!(iso_from_ns(0), None);
        assert_eq!(iso_from_ns(1_700_000_000_500_000_000).unwrap(), "2023-11-14T22:13:20.500000000Z");
    }

    #[test]
    fn status_stats_config() {
        let s = vexfs_ioc_status {
            size: 0, flags: VEXFS_STATUS_GRAPH_VALID, sync_mode: VEXFS_SYNC_LAZY, pending: 3,
            last_sync_ns: 0, graph_generation: 7, vector_generation: 8, vectors: 10,
            graph_nodes: 9, dim: 128, metric: VEXFS_METRIC_COSINE, hnsw_m: 16,
            hnsw_ef_construction: 200, files: 4, stale_files: 1, index_memory_bytes: 65536,
        };
        let j = status_json(&s);
        assert_eq!(j["sync_mode"], "lazy");
        assert_eq!(j["metric"], "cosine");
        assert_eq!(j["last_sync"], Value::Null);
        assert_eq!(j["graph_valid"], true);
        assert_eq!(j["rebuilding"], false);
        assert_eq!(j["ef_construction"], 200);
        assert_eq!(j["files"], 4);
        assert_eq!(j["stale_files"], 1);
        assert_eq!(j["index_memory_bytes"], 65536);
        assert_eq!(j["vectors"], 10);
        for k in ["pending", "last_sync_ns", "graph_generation", "vector_generation", "vectors",
                  "graph_nodes", "dim", "hnsw_m"] {
            assert!(j.get(k).is_some(), "{k}");
        }
        assert!(status_text(&s).contains("never"));
        let st = vexfs_ioc_stats { searches: 4, search_ns_total: 4000, inserts: 2, ..Default::default() };
        let j = stats_json(&st);
        assert_eq!(j["avg_search_ns"], 1000.0);
        assert_eq!(j["avg_search_us"], 1.0);
        assert_eq!(stats_json(&Default::default())["avg_search_ns"], 0.0);
        assert!(stats_text(&st).contains("1.0 us"));
        let c = vexfs_ioc_config { sync_mode: 0, batch_size: 64, sync_interval_ms: 100, ef_search: 50, auto_rebuild: 1, ..Default::default() };
        assert_eq!(config_json(&c), json!({"sync_mode": "immediate", "batch_size": 64,
            "sync_interval_ms": 100, "ef_search": 50, "auto_rebuild": true}));
        assert!(config_text(&c).contains("on"));
        assert_eq!(metric_name(VEXFS_METRIC_L2), "l2");
        assert_eq!(metric_name(VEXFS_METRIC_DOT), "dot");
        assert_eq!(metric_name(9), "unknown(9)");
    }
}
