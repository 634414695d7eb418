//! Host test of the graph over a block store (`GraphStore` as the kernel
//! implements it): blocks read lazily, checked, changed in memory and
//! written back.
use super::*;

/// A graph kept as encoded blocks ("the file"), as the kernel keeps it:
/// blocks read from it are checked (tag and checksum) and copied out, a
/// change copies its block into memory first, and `write_back` seals the
/// blocks in memory into the file and lets them go.
struct BlockFile {
    disk: Vec<Vec<u8>>,
    mem: Vec<Option<Box<[u32]>>>,
    fetched: std::cell::RefCell<HashSet<usize>>,
    cache: Vec<core::sync::atomic::AtomicU8>,
}

impl BlockFile {
    fn from_words(words: &[u32]) -> Self {
        let n = words.len() / BLOCK_WORDS;
        let disk = (0..n)
            .map(|b| {
                let mut buf = vec![0u8; BLOCK_BYTES];
                encode_block(words, b, &mut buf).unwrap();
                buf
            })
            .collect();
        let cap = params_from_header(words).unwrap().capacity as usize;
        BlockFile {
            disk,
            mem: (0..n).map(|_| None).collect(),
            fetched: Default::default(),
            cache: (0..cap).map(|_| Default::default()).collect(),
        }
    }

    fn write_back(&mut self) -> usize {
        let mut n = 0;
        for (b, m) in self.mem.iter_mut().enumerate() {
            if let Some(w) = m.take() {
                encode_block_words(&w, b, &mut self.disk[b]).unwrap();
                n += 1;
            }
        }
        n
    }

    fn in_memory(&self) -> usize {
        self.mem.iter().filter(|m| m.is_some()).count()
    }
}

impl GraphStore for BlockFile {
    fn len(&self) -> usize {
        self.disk.len() * BLOCK_WORDS
    }

    fn node_cache(&self) -> Option<&[core::sync::atomic::AtomicU8]> {
        Some(&self.cache)
    }

    fn reads_cost(&self) -> bool {
        true
    }

    fn rd(&self, i: usize) -> Result<u32, HnswError> {
        let mut w = [0u32; 1];
        self.read(i, &mut w)?;
        Ok(w[0])
    }

    fn read(&self, i: usize, out: &mut [u32]) -> Result<(), HnswError> {
        let (b, off) = (i / BLOCK_WORDS, i % BLOCK_WORDS);
        if b >= self.disk.len() || off + out.len() > BLOCK_WORDS {
            return Err(HnswError::Corrupt("graph words out of range"));
        }
        if let Some(w) = &self.mem[b] {
            out.copy_from_slice(&w[off..off + out.len()]);
            return Ok(());
        }
        self.fetched.borrow_mut().insert(b);
        check_block(&self.disk[b], b)?;
        for (j, o) in out.iter_mut().enumerate() {
            *o = crate::bytes::le32(&self.disk[b], (off + j) * 4).unwrap();
        }
        Ok(())
    }

    fn wr(&mut self, i: usize, v: u32) -> Result<(), HnswError> {
        let (b, off) = (i / BLOCK_WORDS, i % BLOCK_WORDS);
        if b >= self.disk.len() {
            return Err(HnswError::Corrupt("graph words out of range"));
        }
        if self.mem[b].is_none() {
            let mut w = vec![0u32; BLOCK_WORDS].into_boxed_slice();
            self.read(b * BLOCK_WORDS, &mut w[..BLOCK_PAYLOAD_WORDS])?;
            self.mem[b] = Some(w);
        }
        self.mem[b].as_mut().unwrap()[off] = v;
        Ok(())
    }
}

#[test]
fn block_store_opened_lazily_serves_and_changes_like_memory() {
    let (n, cap, dim) = (1500usize, 2000u32, 8);
    let data = clustered(n + 300, dim, 8, 91);
    let mut p = Provider { metric: L2, vecs: data.clone(), query: vec![] };
    p.vecs.resize(cap as usize, vec![0.0; dim]);
    let prm = params(cap, 8, 64, L2, dim as u32);
    let mut bufs = Bufs::new(cap, 8, 128);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 128, n);
    let mut live = vec![false; cap as usize];
    live[..n].iter_mut().for_each(|x| *x = true);
    let queries: Vec<Vec<f32>> = data[n..n + 100].to_vec();

    // Opened from its header alone: no block is read but the header's and
    // the entry point's (its level is checked against the header's).
    let mut file = BlockFile::from_words(&words);
    let g = Graph::open_in(&mut file, false).unwrap();
    let entry_block = Geometry::new(&prm).unwrap().node_word(g.entry_point().unwrap()) / BLOCK_WORDS;
    let read: HashSet<usize> = g.store().fetched.borrow().clone();
    assert!(read.iter().all(|&b| b == 0 || b == entry_block), "a lazy open read blocks {read:?}");
    assert_eq!(g.len(), n as u32);
    let mem = Graph::open(&mut words).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, cap, 8, 128).unwrap();
    let (mut a, mut b) = ([Hit::default(); 10], [Hit::default(); 10]);
    for q in &queries {
        p.query = q.clone();
        let ka = mem.search_knn(&mut p, &mut s, 10, 64, |_| true, &mut a).unwrap();
        let kb = g.search_knn(&mut p, &mut s, 10, 64, |_| true, &mut b).unwrap();
        assert_eq!(a[..ka], b[..kb], "the block store answers differently");
    }
    drop(g);
    drop(mem);

    // The same changes on both: deletes (local repair), inserts, updates.
    let mut g = Graph::open_in(&mut file, false).unwrap();
    let mut mem = Graph::open(&mut words).unwrap();
    let mut r = Rng(3);
    for step in 0..600 {
        let slot = r.below(cap as usize) as u32;
        if live[slot as usize] && step % 3 != 0 {
            mem.delete(&mut p, &mut s, slot).unwrap();
            g.delete(&mut p, &mut s, slot).unwrap();
            live[slot as usize] = false;
        } else if !live[slot as usize] {
            p.vecs[slot as usize] = data[r.below(data.len())].clone();
            mem.insert(&mut p, &mut s, slot, 1000 + slot as u64).unwrap();
            g.insert(&mut p, &mut s, slot, 1000 + slot as u64).unwrap();
            live[slot as usize] = true;
        }
    }
    assert!(g.store().in_memory() > 0 && g.store().in_memory() < g.store().disk.len(), "changes should hold some blocks, not all");
    for q in &queries {
        p.query = q.clone();
        let ka = mem.search_knn(&mut p, &mut s, 10, 64, |_| true, &mut a).unwrap();
        let kb = g.search_knn(&mut p, &mut s, 10, 64, |_| true, &mut b).unwrap();
        assert_eq!(a[..ka], b[..kb], "after changes the block store answers differently");
    }
    drop(g);
    drop(mem);
    // Written back, the file holds the same graph as the words: it validates,
    // and its blocks are the words' blocks.
    let written = file.write_back();
    assert!(written > 0);
    let same = BlockFile::from_words(&words);
    assert!(file.disk == same.disk, "the blocks written back differ from the in-memory graph's");
    Graph::open_in(&mut file, true).expect("written-back graph validates");

    // A damaged block is an error when met, never a panic or a wrong answer.
    let geo = Geometry::new(&prm).unwrap();
    let slot0 = live.iter().position(|&x| x).unwrap() as u32;
    let victim = geo.node_word(slot0) / BLOCK_WORDS;
    file.disk[victim][100] ^= 0x40;
    let g = Graph::open_in(&mut file, false).unwrap();
    assert!(g.node_key(slot0).is_none(), "a node in a damaged block was read");
    for q in &queries {
        p.query = q.clone();
        match g.search_knn(&mut p, &mut s, 10, 64, |_| true, &mut b) {
            Ok(k) => assert!(b[..k].iter().all(|h| live[h.slot as usize])),
            Err(HnswError::Corrupt(_)) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    // Out-of-range counts in a block that checks out are caught when met.
    drop(g);
    let mut w2 = words.clone();
    let f = w2[geo.node_word(slot0) + NODE_FLAGS];
    w2[geo.node_word(slot0) + NODE_FLAGS] = (f & !(0xff << 16)) | (0xff << 16);
    let mut bad = BlockFile::from_words(&w2);
    let g = Graph::open_in(&mut bad, false).unwrap();
    assert!(g.neighbours(slot0, 0).is_none(), "a link count above M0 was accepted");
    assert!(g.node_key(slot0).is_some());
}
