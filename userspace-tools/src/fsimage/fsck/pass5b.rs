//! Pass 5b: the vector store (format 2): the slot bitmap (inode 5), the
//! chunk records (inode 3, by slot), every inode's chunk-set fields, and
//! the persisted graph's nodes (inode 4, node s = slot s) against them.
//!
//! A set is whole or gone: a file whose run of slots is not entirely
//! allocated, decoded and naming it (inode, generation, chunk index) loses
//! its whole set (-y: fields zeroed, HAS_VECTOR cleared); allocated slots
//! no valid set covers are freed. Any such repair, and a graph that does
//! not decode or names slots wrongly, bumps the vector generation so the
//! kernel rebuilds the graph at the next mount instead of loading it.
//!
//! A current, valid graph may be followed by the int8 quantiser's copy
//! (`struct vexfs_sq8_disk`, written by the kernel and by mkfs.vexfs): all
//! zero (none) or whole and of the graph's generation. A damaged copy
//! loses no user data (the kernel ignores it and trains again, reading
//! every vector once): it is reported, and -y zeroes it so no mount has to
//! judge it again; the graph and the store are left alone.
use vexfs_core::hnsw::chunks::{chunk_record_pos, chunk_record_size, decode_chunk_record, slot_bit, MAX_CHUNKS};
use vexfs_core::format::sq8;
use vexfs_core::hnsw::layout::params_from_header;
use vexfs_core::hnsw::{decode_block, Geometry, Graph};

use super::summary::StoreCounts;
use super::*;

/// A hidden file's data: file block -> physical block (0 = hole).
struct FileMap {
    blocks: Vec<u32>,
    size: u64,
}

impl<'o> Checker<'o> {
    /// The block map of live hidden inode `ino`, or None when it is free.
    fn hidden_map(&self, ino: u32) -> io::Result<Option<FileMap>> {
        if !self.live.contains(&ino) {
            return Ok(None);
        }
        let Some(m) = self.inode_mem(ino).copied() else { return Ok(None) };
        if m.mode & mode::S_IFMT != mode::S_IFREG {
            return Ok(None);
        }
        let nblocks = m.size.div_ceil(BLOCK_SIZE as u64) as usize;
        let mut blocks = vec![0u32; nblocks];
        self.walk(ino, &m, &mut |p, ok| {
            if let (true, Kind::Data(fb)) = (ok, p.kind) {
                if let Some(b) = blocks.get_mut(fb as usize) {
                    *b = p.phys;
                }
            }
        })?;
        Ok(Some(FileMap { blocks, size: m.size }))
    }

    /// Read `buf.len()` bytes of a hidden file at byte `pos` (holes and
    /// bytes past its size read as zero). `cache` keeps the last block.
    fn read_hidden(&self, map: &FileMap, pos: u64, buf: &mut [u8], cache: &mut (u32, Vec<u8>)) -> io::Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = pos + done as u64;
            let fb = (at / BLOCK_SIZE as u64) as usize;
            let off = (at % BLOCK_SIZE as u64) as usize;
            let n = (buf.len() - done).min(BLOCK_SIZE - off);
            let phys = if at < map.size { map.blocks.get(fb).copied().unwrap_or(0) } else { 0 };
            if phys == 0 {
                buf[done..done + n].fill(0);
            } else {
                if cache.0 != phys || cache.1.is_empty() {
                    cache.1 = self.fs.img.read_block(phys as u64)?;
                    cache.0 = phys;
                }
                buf[done..done + n].copy_from_slice(&cache.1[off..off + n]);
            }
            done += n;
        }
        Ok(())
    }

    pub(super) fn pass5b_vectors(&mut self) -> io::Result<()> {
        let g = self.geom;
        let dim = g.vector_dim;
        if chunk_record_size(dim).is_err() {
            return Ok(()); // superblock::validate refuses such a volume
        }
        // The slot bitmap: bits past its end are free.
        let bitmap_map = self.hidden_map(VEXFS_SLOTMAP_INO)?;
        let mut slotmap = vec![0u8; bitmap_map.as_ref().map_or(0, |m| m.size as usize)];
        let mut cache = (0u32, Vec::new());
        if let Some(m) = &bitmap_map {
            self.read_hidden(m, 0, &mut slotmap, &mut cache)?;
        }
        let nslots = slotmap.len() as u64 * 8;
        let store = self.hidden_map(VEXFS_VECSTORE_INO)?;
        let rs = chunk_record_size(dim).unwrap_or(0) as usize;
        let mut rec = vec![0u8; rs];

        // Every live inode's fields; regular files' sets against the store.
        // owner[s] = the inode whose valid set covers slot s.
        let mut owner = vec![0u32; nslots as usize];
        // first claimer of each slot, to name both sides of an overlap.
        let mut claim = vec![0u32; nslots as usize];
        // Slots in the runs of damaged sets: freed with their set, not
        // reported again as strays.
        let mut in_dropped = vec![false; nslots as usize];
        let mut store_changed = false;
        // The index summary's counts: as the kernel's mount scan would find
        // them on the volume as it is (`seen`), and as -y leaves it, damaged
        // sets dropped (`kept`, sets that check whole).
        let mut seen = StoreCounts::default();
        let mut kept = StoreCounts::default();
        let mut inos: Vec<u32> = self.live.iter().copied().collect();
        inos.sort_unstable();
        for ino in inos {
            let Some(m) = self.inode_mem(ino).copied() else { continue };
            let has = m.flags & VEXFS_INODE_FL_HAS_VECTOR != 0;
            let regular = m.mode & mode::S_IFMT == mode::S_IFREG;
            let user = ino >= VEXFS_FIRST_INO;
            let fields = m.chunk_first != 0 || m.chunk_count != 0 || m.vector_dim != 0;
            if !regular || !has || !user {
                if has || fields {
                    let what = if !user {
                        "is reserved".to_string()
                    } else if regular {
                        "has no chunk set (HAS_VECTOR clear)".to_string()
                    } else {
                        format!("is a {}", type_name(m.mode))
                    };
                    let msg = format!(
                        "inode {ino} {what} but its vector fields are set (HAS_VECTOR {}, first slot {}, {} chunks, dimension {}); zeroing them",
                        has as u32, m.chunk_first, m.chunk_count, m.vector_dim
                    );
                    if self.problem(msg, true) {
                        self.drop_set(ino, &m)?;
                    }
                }
                continue;
            }
            let (why, owned) =
                self.set_problem(ino, &m, dim, nslots, &slotmap, &mut claim, store.as_ref(), &mut rec, &mut cache)?;
            // The kernel counts a slot only for a linked owner (an orphan's
            // records fail its owner check).
            seen.add(if m.links_count == 0 { 0 } else { owned }, &m);
            match why {
                None => {
                    kept.add(m.chunk_count as u64, &m);
                    for s in m.chunk_first as u64..m.chunk_first as u64 + m.chunk_count as u64 {
                        owner[s as usize] = ino;
                    }
                }
                Some(why) => {
                    let end = (m.chunk_first as u64 + m.chunk_count as u64).min(nslots);
                    for s in (m.chunk_first as u64).min(end)..end {
                        in_dropped[s as usize] = true;
                    }
                    let msg = format!(
                        "inode {ino}: chunk set (slots {}..{}, {} chunks) is damaged: {why}; dropping the set and freeing its slots",
                        m.chunk_first,
                        m.chunk_first as u64 + m.chunk_count as u64,
                        m.chunk_count
                    );
                    if self.problem(msg, true) {
                        self.drop_set(ino, &m)?;
                        store_changed = true;
                    }
                }
            }
        }

        // Allocated slots no valid set covers: those of dropped sets go
        // with their set (reported above); the others are strays, reported
        // in runs. -y frees both.
        let mut s = 0u64;
        let mut dirty_bytes: Vec<usize> = Vec::new();
        let mut free_slot = |slotmap: &mut [u8], x: u64| {
            slotmap[(x / 8) as usize] &= !(1u8 << (x % 8));
            dirty_bytes.push((x / 8) as usize);
        };
        while s < nslots {
            if !slot_bit(&slotmap, s) || owner[s as usize] != 0 {
                s += 1;
                continue;
            }
            if in_dropped[s as usize] {
                if self.repairing() {
                    free_slot(&mut slotmap, s);
                }
                s += 1;
                continue;
            }
            let start = s;
            while s < nslots && slot_bit(&slotmap, s) && owner[s as usize] == 0 && !in_dropped[s as usize] {
                s += 1;
            }
            let what = match &store {
                None => "there is no store file".to_string(),
                Some(st) => {
                    let pos = chunk_record_pos(start, dim).map_err(|e| io::Error::other(format!("{e:?}")))?;
                    let at = pos.block * BLOCK_SIZE as u64 + pos.offset as u64;
                    self.read_hidden(st, at, &mut rec, &mut cache)?;
                    match decode_chunk_record(&rec, dim, None) {
                        Ok(h) => format!("its record names inode {} chunk {}", h.ino, h.chunk),
                        Err(e) => format!("its record does not decode: {}", hnsw_why(e)),
                    }
                }
            };
            let msg = if s - start == 1 {
                format!("slot {start} is allocated in the slot bitmap but no file's chunk set covers it ({what}); freeing it")
            } else {
                format!(
                    "slots {start}..{s} ({} slots) are allocated in the slot bitmap but no file's chunk set covers them \
                     (slot {start}: {what}); freeing them",
                    s - start
                )
            };
            if self.problem(msg, true) {
                for x in start..s {
                    free_slot(&mut slotmap, x);
                }
                store_changed = true;
            }
        }
        if !dirty_bytes.is_empty() {
            if let Some(bm) = &bitmap_map {
                let mut blocks: Vec<usize> = dirty_bytes.iter().map(|b| b / BLOCK_SIZE).collect();
                blocks.dedup();
                for fb in blocks {
                    let phys = bm.blocks.get(fb).copied().unwrap_or(0);
                    if phys == 0 {
                        continue; // a hole has no bit set
                    }
                    let lo = fb * BLOCK_SIZE;
                    let hi = (lo + BLOCK_SIZE).min(slotmap.len());
                    let mut blk = self.fs.img.read_block(phys as u64)?;
                    blk[..hi - lo].copy_from_slice(&slotmap[lo..hi]);
                    self.write_block(phys, &blk)?;
                }
            }
        }

        // The graph, when current (same generation as the store), must
        // name slots as they now are.
        let mut graph_bad = None;
        if g.graph_generation == g.vector_generation {
            if let Some(gm) = self.hidden_map(VEXFS_GRAPH_INO)? {
                if gm.size >= BLOCK_SIZE as u64 {
                    match self.graph_problem(&gm, &owner)? {
                        Err(why) => graph_bad = Some(why),
                        Ok((nblocks, generation)) => self.check_quantiser(&gm, nblocks, generation)?,
                    }
                }
            }
        }
        if let Some(why) = graph_bad {
            let msg = format!("the persisted HNSW graph (inode {VEXFS_GRAPH_INO}) {why}; marking it for rebuild at the next mount");
            if self.problem(msg, true) {
                store_changed = true;
            }
        }
        if store_changed && self.repairing() {
            // The kernel loads the graph only when its generation is the
            // store's: a new store generation makes it rebuild.
            self.fs.geom.vector_generation = g.vector_generation.wrapping_add(1).max(g.graph_generation.wrapping_add(1));
            self.wrote = true;
        }
        // -n changes nothing: the volume keeps what the scan saw.
        let after = if self.repairing() { kept } else { seen };
        self.check_index_summary(seen, after);
        Ok(())
    }

    /// Why inode `ino`'s set (HAS_VECTOR, a regular file) is not valid, or
    /// None; and how many slots of its run the kernel's mount scan would
    /// count live for it (allocated, record decoding and naming it, chunk
    /// index right), which for a valid set is its chunk count. Records
    /// every slot of a run that fits the slot bitmap as claimed.
    #[allow(clippy::too_many_arguments)]
    fn set_problem(
        &mut self,
        ino: u32,
        m: &InodeMem,
        dim: u32,
        nslots: u64,
        slotmap: &[u8],
        claim: &mut [u32],
        store: Option<&FileMap>,
        rec: &mut [u8],
        cache: &mut (u32, Vec<u8>),
    ) -> io::Result<(Option<String>, u64)> {
        // The kernel refuses such an inode outright (inode decode): none of
        // its slots is live.
        if m.chunk_count == 0 || m.chunk_count > MAX_CHUNKS {
            return Ok((Some(format!("chunk count {} outside 1..={MAX_CHUNKS}", m.chunk_count)), 0));
        }
        let (first, end) = (m.chunk_first as u64, m.chunk_first as u64 + m.chunk_count as u64);
        // A run past the last slot number: refused by the inode decode too.
        let decodable = end <= u32::MAX as u64 + 1;
        // The first reason is the one reported; the slots are still read,
        // to count what the kernel would (it does not check the dimension
        // field or the run's end, only each slot).
        let mut why = None;
        if m.vector_dim != dim {
            why = Some(format!("vector dimension {} but the filesystem's is {dim}", m.vector_dim));
        } else if end > nslots {
            why = Some(format!("slot {} is past the end of the slot bitmap ({nslots} slots)", end - 1));
        }
        // A slot in two runs holds one record: the run it does not name is
        // the damaged one (found below); the other run's claim is named.
        let mut other = None;
        if why.is_none() {
            for s in first..end {
                match claim[s as usize] {
                    0 => claim[s as usize] = ino,
                    c => other = other.or(Some((s, c))),
                }
            }
        }
        let overlap = match other {
            Some((s, c)) => format!(" (slot {s} is also in inode {c}'s run)"),
            None => String::new(),
        };
        let Some(store) = store else {
            return Ok((why.or(Some("there is no store file (inode 3)".into())), 0));
        };
        let mut owned = 0u64;
        let scan_end = if decodable { end.min(nslots) } else { first };
        for s in first..scan_end {
            if !slot_bit(slotmap, s) {
                why = why.or_else(|| Some(format!("slot {s} (chunk {}) is free in the slot bitmap", s - first)));
                continue;
            }
            let pos = chunk_record_pos(s, dim).map_err(|e| io::Error::other(format!("{e:?}")))?;
            let at = pos.block * BLOCK_SIZE as u64 + pos.offset as u64;
            self.read_hidden(store, at, rec, cache)?;
            let h = match decode_chunk_record(rec, dim, None) {
                Ok(h) => h,
                Err(e) => {
                    why = why.or_else(|| Some(format!("slot {s} (chunk {}): {}", s - first, hnsw_why(e))));
                    continue;
                }
            };
            if h.ino != ino || h.generation != m.generation || h.chunk as u64 != s - first {
                why = why.or_else(|| {
                    Some(format!(
                        "slot {s} holds inode {} generation {} chunk {}, expected inode {ino} generation {} chunk {}{overlap}",
                        h.ino,
                        h.generation,
                        h.chunk,
                        m.generation,
                        s - first
                    ))
                });
                continue;
            }
            owned += 1;
        }
        Ok((why, owned))
    }

    /// Forget inode `ino`'s set: fields zeroed, HAS_VECTOR cleared (its
    /// slots are freed as strays: no valid set covers them).
    fn drop_set(&mut self, ino: u32, m: &InodeMem) -> io::Result<()> {
        let mut m2 = *m;
        m2.flags &= !VEXFS_INODE_FL_HAS_VECTOR;
        m2.chunk_first = 0;
        m2.chunk_count = 0;
        m2.vector_dim = 0;
        self.write_inode(ino, &m2)
    }

    /// Load the graph and check its live nodes against `owner`; the reason
    /// when it does not decode or a node disagrees, else its block count
    /// and generation (from its header).
    fn graph_problem(&self, gm: &FileMap, owner: &[u32]) -> io::Result<Result<(usize, u64), String>> {
        let file_blocks = (gm.size / BLOCK_SIZE as u64) as usize;
        if file_blocks == 0 {
            return Ok(Err("is empty".into()));
        }
        let mut cache = (0u32, Vec::new());
        let mut buf = vec![0u8; BLOCK_SIZE];
        // The header says how many blocks the graph has; the kernel's copy
        // of its int8 quantiser follows them (kernel/vindex-codes.c).
        let mut head = vec![0u32; BLOCK_SIZE / 4];
        self.read_hidden(gm, 0, &mut buf, &mut cache)?;
        if let Err(e) = decode_block(&buf, 0, &mut head) {
            return Ok(Err(format!("block 0 does not decode: {}", hnsw_why(e))));
        }
        let nblocks = match params_from_header(&head).and_then(|p| Geometry::new(&p)) {
            Ok(g) => g.total_blocks(),
            Err(e) => return Ok(Err(format!("header does not validate: {}", hnsw_why(e)))),
        };
        if nblocks > file_blocks {
            return Ok(Err(format!("has {file_blocks} blocks, its header needs {nblocks}")));
        }
        let mut words = vec![0u32; nblocks * (BLOCK_SIZE / 4)];
        for b in 0..nblocks {
            self.read_hidden(gm, (b * BLOCK_SIZE) as u64, &mut buf, &mut cache)?;
            if let Err(e) = decode_block(&buf, b, &mut words) {
                return Ok(Err(format!("block {b} does not decode: {}", hnsw_why(e))));
            }
        }
        let graph = match Graph::open(&mut words) {
            Ok(gr) => gr,
            Err(e) => return Ok(Err(format!("does not validate: {}", hnsw_why(e)))),
        };
        for s in 0..graph.capacity() {
            let Some(key) = graph.node_key(s) else { continue };
            match owner.get(s as usize).copied().unwrap_or(0) {
                0 => return Ok(Err(format!("has a live node at slot {s} (inode {key}) but the slot is free"))),
                o if o as u64 != key => {
                    return Ok(Err(format!("has a live node at slot {s} keyed inode {key} but the slot belongs to inode {o}")))
                }
                _ => {}
            }
        }
        Ok(Ok((nblocks, graph.generation())))
    }

    /// The quantiser's copy after the graph's `nblocks` blocks, for a graph
    /// of `generation`: none (a file too short to hold it, as the kernel's
    /// graph load reads none then, or all zero), or a copy that checks
    /// (`sq8::check`); else reported, and -y zeroes its blocks.
    fn check_quantiser(&mut self, gm: &FileMap, nblocks: usize, generation: u64) -> io::Result<()> {
        let (dim, metric) = (self.geom.vector_dim, self.geom.vector_metric);
        let qb = sq8::blocks(dim);
        if gm.size < ((nblocks + qb) * BLOCK_SIZE) as u64 {
            return Ok(());
        }
        let mut buf = vec![0u8; qb * BLOCK_SIZE];
        self.read_hidden(gm, (nblocks * BLOCK_SIZE) as u64, &mut buf, &mut (0u32, Vec::new()))?;
        if sq8::is_empty(&buf) {
            return Ok(());
        }
        let mut why = String::new();
        if sq8::check(&buf, dim, metric, generation, None, &mut why).is_ok() {
            self.note(format!("int8 quantiser after the HNSW graph (inode {VEXFS_GRAPH_INO}, generation {generation}) checked"));
            return Ok(());
        }
        let msg = format!(
            "the int8 quantiser's copy in the HNSW graph file (inode {VEXFS_GRAPH_INO}, blocks {nblocks}..{}) is damaged: {why} \
             (no user data is affected: the kernel trains a new one at mount); zeroing it",
            nblocks + qb
        );
        if self.problem(msg, true) {
            let zero = vec![0u8; BLOCK_SIZE];
            for b in nblocks..nblocks + qb {
                // A hole reads as zero already.
                let phys = gm.blocks.get(b).copied().unwrap_or(0);
                if phys != 0 {
                    self.write_block(phys, &zero)?;
                }
            }
        }
        Ok(())
    }
}

fn hnsw_why(e: vexfs_core::hnsw::HnswError) -> String {
    match e {
        vexfs_core::hnsw::HnswError::Corrupt(w) | vexfs_core::hnsw::HnswError::InvalidParam(w) => w.to_string(),
        other => format!("{other:?}"),
    }
}
