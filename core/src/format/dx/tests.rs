//! Host tests of the hash index: an in-memory directory driven exactly as
//! the kernel drives it (read the block asked for, pass it in).
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;
use crate::msg::NoMsg;

const DIR: u32 = 77;
const PARENT: u32 = 2;

/// A directory as a vector of blocks, with a read counter.
struct MemDir {
    blocks: Vec<Vec<u8>>,
    depth: u32,
    hash_version: u32,
    reads: Cell<usize>,
    slots: Vec<Slot>,
    seed: [u32; 4],
}

impl MemDir {
    fn new(hash_version: u32, seed: [u32; 4]) -> MemDir {
        let mut b = vec![0u8; BLOCK_SIZE];
        dir::init(&mut b, DIR).unwrap();
        dir::add(&mut b, DIR, b".", DIR, VEXFS_FT_DIR).unwrap();
        dir::add(&mut b, DIR, b"..", PARENT, VEXFS_FT_DIR).unwrap();
        MemDir {
            blocks: vec![b],
            depth: 0,
            hash_version,
            reads: Cell::new(0),
            slots: vec![Slot::default(); LEAF_MAX + 1],
            seed,
        }
    }

    fn read(&self, i: u32) -> &[u8] {
        self.reads.set(self.reads.get() + 1);
        &self.blocks[i as usize]
    }

    fn nblocks(&self) -> u32 {
        self.blocks.len() as u32
    }

    /// Drive a walk to its leaf: Ok(Some(leaf)) or Ok(None) at END.
    fn walk(&self, p: &mut Path, mut rc: i32) -> Result<Option<u32>> {
        while rc == READ {
            rc = descend(p, self.read(p.next_block), &mut NoMsg)?;
        }
        Ok(if rc == LEAF { Some(p.next_block) } else { None })
    }

    fn probe(&self, p: &mut Path, name: &[u8]) -> Result<Option<u32>> {
        let rc = probe_name(p, self.read(0), DIR, self.nblocks(), self.depth, name, &mut NoMsg)?;
        self.walk(p, rc)
    }

    /// (block, record offset, ino) of `name`.
    fn find(&self, name: &[u8]) -> Result<Option<(u32, u32, u32)>> {
        if self.depth == 0 {
            for i in 0..self.nblocks() {
                if let Some(e) = dir::find(self.read(i), name)? {
                    return Ok(Some((i, e.rec_offset, e.ino)));
                }
            }
            return Ok(None);
        }
        let mut p = Path::default();
        let mut leaf = self.probe(&mut p, name)?;
        while let Some(l) = leaf {
            if let Some(e) = dir::find(self.read(l), name)? {
                return Ok(Some((l, e.rec_offset, e.ino)));
            }
            let rc = next_leaf(&mut p, false)?;
            leaf = self.walk(&mut p, rc)?;
        }
        Ok(None)
    }

    fn add(&mut self, name: &[u8], ino: u32) -> Result<()> {
        if self.depth == 0 {
            match dir::add(&mut self.blocks[0], DIR, name, ino, VEXFS_FT_REG_FILE) {
                Err(Error::NoSpace) => {}
                r => return r.map(|_| ()),
            }
            let mut l1 = vec![0u8; BLOCK_SIZE];
            let mut l2 = vec![0u8; BLOCK_SIZE];
            let seed = self.seed;
            let hv = self.hash_version;
            convert_add(&mut self.blocks[0], &mut l1, &mut l2, DIR, hv, &seed, name, ino, VEXFS_FT_REG_FILE, &mut self.slots)?;
            self.blocks.push(l1);
            self.blocks.push(l2);
            self.depth = 1;
            return Ok(());
        }
        let mut p = Path::default();
        let leaf = self.probe(&mut p, name)?.ok_or(Error::Corrupt)?;
        match leaf_add(&p, &mut self.blocks[leaf as usize], name, ino, VEXFS_FT_REG_FILE) {
            Err(Error::NoSpace) => {}
            r => return r.map(|_| ()),
        }
        let need = split_need(&p)? as usize;
        let first = self.nblocks();
        let mut frames_v: Vec<Vec<u8>> =
            (0..p.nframes as usize).map(|i| std::mem::take(&mut self.blocks[p.frames[i].block as usize])).collect();
        let mut leaf_v = std::mem::take(&mut self.blocks[leaf as usize]);
        let mut fresh_v: Vec<Vec<u8>> = (0..need).map(|_| vec![0xa5u8; BLOCK_SIZE]).collect();
        let r = {
            let mut frames: Vec<&mut [u8]> = frames_v.iter_mut().map(|v| v.as_mut_slice()).collect();
            let mut fresh: Vec<&mut [u8]> = fresh_v.iter_mut().map(|v| v.as_mut_slice()).collect();
            let mut b = SplitBufs { frames: &mut frames, leaf: &mut leaf_v, fresh: &mut fresh, fresh_first: first, slots: &mut self.slots };
            split_add(&mut p, &mut b, name, ino, VEXFS_FT_REG_FILE)
        };
        for (i, v) in frames_v.into_iter().enumerate() {
            self.blocks[p.frames[i].block as usize] = v;
        }
        self.blocks[leaf as usize] = leaf_v;
        let target = r?;
        self.blocks.extend(fresh_v);
        self.depth = p.levels;
        assert!(dir::find(&self.blocks[target as usize], name).unwrap().is_some());
        Ok(())
    }

    fn remove(&mut self, name: &[u8]) -> Result<u32> {
        let (b, off, ino) = self.find(name)?.ok_or(Error::NotFound)?;
        dir::remove(&mut self.blocks[b as usize], DIR, off)?;
        Ok(ino)
    }

    /// One getdents call returning at most `max` names, as kernel/dir.c
    /// should do it. Names with their positions.
    fn getdents(&self, pos: &mut u64, max: usize) -> Result<Vec<(Vec<u8>, u64)>> {
        let mut out = Vec::new();
        if *pos == 0 {
            if out.len() == max {
                return Ok(out);
            }
            out.push((b".".to_vec(), 0));
            *pos = 1;
        }
        if *pos == 1 {
            if out.len() == max {
                return Ok(out);
            }
            out.push((b"..".to_vec(), 1));
            *pos = VEXFS_DX_POS_BASE;
        }
        let mut p = Path::default();
        let rc = probe_pos(&mut p, self.read(0), DIR, self.nblocks(), self.depth, *pos, &mut NoMsg)?;
        let mut leaf = self.walk(&mut p, rc)?;
        let mut slots = vec![Slot::default(); LEAF_MAX];
        while let Some(l) = leaf {
            let blk = self.read(l);
            let n = leaf_sort(&p, blk, &mut slots)?;
            for s in &slots[..n] {
                if s.pos < *pos {
                    continue;
                }
                *pos = s.pos;
                if out.len() == max {
                    return Ok(out);
                }
                let e = dir::next(blk, s.rec_offset as usize)?.unwrap();
                out.push((blk[e.name_offset as usize..(e.name_offset + e.name_len) as usize].to_vec(), s.pos));
            }
            let rc = next_leaf(&mut p, true)?;
            leaf = self.walk(&mut p, rc)?;
        }
        *pos = VEXFS_DX_POS_EOF;
        Ok(out)
    }

    fn readdir_all(&self, batch: usize) -> Vec<Vec<u8>> {
        let mut pos = 0u64;
        let mut all = Vec::new();
        loop {
            let got = self.getdents(&mut pos, batch).unwrap();
            if got.is_empty() {
                return all;
            }
            all.extend(got.into_iter().map(|(n, _)| n));
        }
    }

    /// Full structural check, as fsck does it: every block passes the
    /// record check, every leaf is referenced once, names lie in their
    /// leaf's range.
    fn verify(&self) -> usize {
        for (i, b) in self.blocks.iter().enumerate() {
            dir::check_block(b, DIR, 1 << 30, &mut NoMsg).unwrap_or_else(|e| panic!("block {i}: {e:?}"));
        }
        let ri = root_info(&self.blocks[0], &mut NoMsg).unwrap();
        assert_eq!(ri.levels, self.depth);
        let mut seen = vec![false; self.blocks.len()];
        seen[0] = true;
        let mut names = 0;
        // (block, kind, height, lo stored, hi stored or None)
        let mut stack = vec![(0u32, Kind::Root, ri.levels, 0u64, None::<u64>)];
        while let Some((b, kind, height, lo, hi)) = stack.pop() {
            let blk = &self.blocks[b as usize];
            let count = match kind {
                Kind::Root => ri.count,
                Kind::Node => {
                    let (h, c) = node_info(blk, &mut NoMsg).unwrap();
                    assert_eq!(h, height);
                    c
                }
            };
            check_entries(blk, kind, count, lo, self.nblocks(), &mut NoMsg).unwrap();
            for i in 0..count {
                let e = entry(blk, kind, i).unwrap();
                let next = if i + 1 < count { Some(entry(blk, kind, i + 1).unwrap().stored) } else { hi };
                assert!(!seen[e.block as usize], "block {} referenced twice", e.block);
                seen[e.block as usize] = true;
                if height > 1 {
                    stack.push((e.block, Kind::Node, height - 1, e.stored, next));
                } else {
                    let leaf = &self.blocks[e.block as usize];
                    assert!(!is_node(leaf));
                    let mut pos = 0;
                    while let Some(d) = dir::next(leaf, pos).unwrap() {
                        pos = d.next_offset as usize;
                        let name = &leaf[d.name_offset as usize..(d.name_offset + d.name_len) as usize];
                        let k = name_key(ri.hash_version, &ri.seed, name);
                        assert!(k >= e.key(), "name below its leaf's range");
                        if let Some(h) = next {
                            assert!(k < h >> 1 || (k == h >> 1 && h & CONT != 0), "name above its leaf's range");
                        }
                        names += 1;
                    }
                }
            }
        }
        assert!(seen.iter().all(|&s| s), "unreferenced blocks");
        names
    }
}

fn name_of(i: u32) -> Vec<u8> {
    format!("file-{i:07}-{}", i.wrapping_mul(2654435761) % 1000).into_bytes()
}

const SEED: [u32; 4] = [0x1234_5678, 0x9abc_def0, 0x0fed_cba9, 0x8765_4321];

#[test]
fn siphash_reference_vectors() {
    // The paper's test key 00..0f, messages 00..(n-1).
    let key: [u8; 16] = core::array::from_fn(|i| i as u8);
    let msg: Vec<u8> = (0..64u8).collect();
    assert_eq!(siphash24(&key, &msg[..0]), 0x726f_db47_dd0e_0e31);
    assert_eq!(siphash24(&key, &msg[..1]), 0x74f8_39c5_93dc_67fd);
    assert_eq!(siphash24(&key, &msg[..8]), 0x93f5_f579_9a93_2462);
    assert_eq!(siphash24(&key, &msg[..15]), 0xa129_ca61_49be_45e5);
    assert_eq!(siphash24(&key, &msg[..63]), 0x958a_324c_eb06_4572);
}

#[test]
fn header_sizes() {
    assert_eq!(core::mem::size_of::<vexfs_dx_root_info>(), VEXFS_DX_ROOT_INFO_SIZE as usize);
    assert_eq!(core::mem::size_of::<vexfs_dx_node_info>(), VEXFS_DX_NODE_INFO_SIZE as usize);
    assert_eq!(core::mem::size_of::<vexfs_dx_entry>(), VEXFS_DX_ENTRY_SIZE as usize);
    assert_eq!(ROOT_LIMIT, 336);
    assert_eq!(NODE_LIMIT, 338);
    assert_eq!(LEAF_MAX, 340);
    assert_eq!(core::mem::offset_of!(vexfs_dx_root_info, ri_count), 26);
    assert_eq!(core::mem::offset_of!(vexfs_dx_node_info, ni_count), 10);
}

#[test]
fn convert_then_grow_small() {
    let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    for i in 0..2000 {
        d.add(&name_of(i), 100 + i).unwrap();
    }
    assert_eq!(d.depth, 1);
    assert_eq!(d.verify(), 2000);
    for i in 0..2000 {
        assert_eq!(d.find(&name_of(i)).unwrap().map(|f| f.2), Some(100 + i));
    }
    assert!(d.find(b"missing").unwrap().is_none());
    // An old (linear) reader still sees every name in the blocks.
    let mut linear = 0;
    for b in &d.blocks {
        let mut pos = 0;
        while let Some(e) = dir::next(b, pos).unwrap() {
            pos = e.next_offset as usize;
            linear += 1;
        }
    }
    assert_eq!(linear, 2002);
    assert!(dir::is_empty(&d.blocks[0]).unwrap());
}

#[test]
fn hundred_thousand_names() {
    const N: u32 = 120_000;
    let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    for i in 0..N {
        d.add(&name_of(i), 11 + i).unwrap();
    }
    assert_eq!(d.depth, 2, "{} blocks", d.blocks.len());
    assert_eq!(d.verify(), N as usize);
    let mut max_reads = 0;
    for i in 0..N {
        d.reads.set(0);
        assert_eq!(d.find(&name_of(i)).unwrap().map(|f| f.2), Some(11 + i));
        max_reads = max_reads.max(d.reads.get());
    }
    assert!(max_reads <= d.depth as usize + 1, "{max_reads} reads for a lookup at depth {}", d.depth);
    for i in 0..1000 {
        d.reads.set(0);
        assert!(d.find(format!("absent-{i}").as_bytes()).unwrap().is_none());
        assert!(d.reads.get() <= d.depth as usize + 1);
    }
    // Remove every third name, re-add half of those.
    for i in (0..N).step_by(3) {
        assert_eq!(d.remove(&name_of(i)).unwrap(), 11 + i);
    }
    for i in (0..N).step_by(6) {
        d.add(&name_of(i), 11 + i).unwrap();
    }
    let present = |i: u32| i % 3 != 0 || i % 6 == 0;
    for i in 0..N {
        assert_eq!(d.find(&name_of(i)).unwrap().is_some(), present(i), "name {i}");
    }
    let expect = (0..N).filter(|&i| present(i)).count();
    assert_eq!(d.verify(), expect);
    let all = d.readdir_all(500);
    assert_eq!(all.len(), expect + 2);
    let set: HashSet<_> = all.iter().collect();
    assert_eq!(set.len(), all.len(), "readdir returned a name twice");
    eprintln!("{N} names: {} blocks, depth {}, max {max_reads} block reads per lookup", d.blocks.len(), d.depth);
}

#[test]
fn full_root_and_node_grow_to_three_levels() {
    // A hand-built two-level index whose root (336 entries) and the node on
    // the path (338 entries) are full, with one full leaf: one more name
    // splits the leaf, splits the node, and adds a level.
    let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    let hv = VEXFS_DX_HASH_SIPHASH24;
    let mut names: Vec<(u64, Vec<u8>)> = (0..400).map(|i| (name_key(hv, &SEED, &name_of(i)), name_of(i))).collect();
    names.sort();
    let (kmin, kmax) = (names[0].0, names[399].0);
    assert!(kmin > 1 << 40 && kmax < MAX_KEY - (1 << 20));
    let a = kmin - 200;
    let b = kmax + 1000;
    let mut blocks: Vec<Vec<u8>> = vec![vec![0u8; BLOCK_SIZE]];
    init_root(&mut blocks[0], DIR, PARENT, hv, &SEED, 2).unwrap();
    let empty_leaf = || {
        let mut l = vec![0u8; BLOCK_SIZE];
        dir::init(&mut l, DIR).unwrap();
        l
    };
    let mut leftover = Vec::new();
    for r in 0..ROOT_LIMIT as u64 {
        let rkey = match r {
            0 => 0,
            r if r < 100 => r * (a / 100),
            100 => a,
            r => b + r,
        };
        let node_nr = blocks.len() as u32;
        blocks.push(vec![0u8; BLOCK_SIZE]);
        push_entry(&mut blocks[0], Kind::Root, Entry { stored: rkey << 1, block: node_nr }).unwrap();
        let mut node = vec![0u8; BLOCK_SIZE];
        init_node(&mut node, 1).unwrap();
        let keys: Vec<u64> = if r == 100 {
            (0..NODE_LIMIT as u64)
                .map(|j| match j {
                    j if j < 200 => a + j,
                    200 => kmin,
                    j => kmax + j,
                })
                .collect()
        } else {
            vec![rkey]
        };
        for (j, k) in keys.iter().enumerate() {
            let mut leaf = empty_leaf();
            if r == 100 && j == 200 {
                for (_, n) in &names {
                    if dir::add(&mut leaf, DIR, n, 11, VEXFS_FT_REG_FILE).is_err() {
                        leftover.push(n.clone());
                    }
                }
            }
            push_entry(&mut node, Kind::Node, Entry { stored: k << 1, block: blocks.len() as u32 }).unwrap();
            blocks.push(leaf);
        }
        dir::seal(&mut node, DIR).unwrap();
        blocks[node_nr as usize] = node;
    }
    dir::seal(&mut blocks[0], DIR).unwrap();
    d.blocks = blocks;
    d.depth = 2;
    let in_leaf = 400 - leftover.len();
    assert!(leftover.len() > 100);
    assert_eq!(d.verify(), in_leaf);
    let nblocks = d.nblocks();
    d.add(&leftover[0], 999).unwrap();
    assert_eq!(d.depth, 3);
    assert_eq!(d.nblocks(), nblocks + 3);
    assert_eq!(d.verify(), in_leaf + 1);
    for (_, n) in &names[..] {
        if !leftover[1..].contains(n) {
            assert!(d.find(n).unwrap().is_some());
        }
    }
    for n in &leftover[1..] {
        d.add(n, 1000).unwrap();
    }
    assert_eq!(d.verify(), 400);
    // At three levels with every index block on the path full, the index
    // cannot grow.
    let mut p = Path::default();
    p.levels = 3;
    p.nframes = 3;
    p.frames[0].count = ROOT_LIMIT;
    p.frames[1].count = NODE_LIMIT;
    p.frames[2].count = NODE_LIMIT;
    assert_eq!(split_need(&p), Err(Error::NoSpace));
    p.frames[0].count = ROOT_LIMIT - 1;
    assert_eq!(split_need(&p), Ok(3));
}

#[test]
fn long_names() {
    // 255-byte names: ~15 per leaf, so splits happen often.
    let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    let long = |i: u32| {
        let mut v = format!("{i:08}-").into_bytes();
        v.resize(255, b'x' + (i % 3) as u8);
        v
    };
    for i in 0..6000 {
        d.add(&long(i), 11 + i).unwrap();
    }
    assert_eq!(d.depth, 2);
    assert_eq!(d.verify(), 6000);
    for i in 0..6000 {
        assert!(d.find(&long(i)).unwrap().is_some());
    }
}

#[test]
fn readdir_with_changes_between_calls() {
    let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    let n = 20_000u32;
    for i in 0..n {
        d.add(&name_of(i), 11 + i).unwrap();
    }
    let mut pos = 0u64;
    let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut removed: HashSet<u32> = HashSet::new();
    let mut added = n;
    let mut round = 0u32;
    loop {
        let got = d.getdents(&mut pos, 97).unwrap();
        if got.is_empty() {
            break;
        }
        for (name, _) in got {
            *seen.entry(name).or_default() += 1;
        }
        // Between calls: add 40 names (splitting leaves before and after
        // the position), remove 10.
        for _ in 0..40 {
            d.add(&name_of(added), 11 + added).unwrap();
            added += 1;
        }
        for k in 0..10u32 {
            let victim = (round * 7919 + k * 104_729) % n;
            if removed.insert(victim) {
                d.remove(&name_of(victim)).unwrap();
            }
        }
        round += 1;
    }
    assert!(seen.values().all(|&c| c == 1), "a name was returned twice");
    for i in 0..n {
        if !removed.contains(&i) {
            assert_eq!(seen.get(&name_of(i)), Some(&1), "name {i} present throughout was missed");
        }
    }
    assert_eq!(seen.get(&b".".to_vec()), Some(&1));
    assert_eq!(seen.get(&b"..".to_vec()), Some(&1));
    d.verify();
}

#[test]
fn telldir_seekdir_continuity() {
    let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    for i in 0..5000 {
        d.add(&name_of(i), 11 + i).unwrap();
    }
    let mut pos = 0;
    let first = d.getdents(&mut pos, 1234).unwrap();
    let told = pos;
    let rest_a = d.getdents(&mut pos, 100_000).unwrap();
    // seekdir(told) later, after unrelated changes, resumes at the same place.
    for i in 5000..6000 {
        d.add(&name_of(i), 11 + i).unwrap();
    }
    let mut pos = told;
    let rest_b = d.getdents(&mut pos, 100_000).unwrap();
    let old_b: Vec<_> = rest_b.iter().filter(|(n, _)| rest_a.iter().any(|(m, _)| m == n)).collect();
    assert_eq!(old_b.len(), rest_a.len());
    assert!(rest_b.iter().all(|(n, _)| !first.iter().any(|(m, _)| m == n)));
    // Positions are increasing and within [BASE, EOF).
    assert!(rest_b.windows(2).all(|w| w[0].1 < w[1].1));
    assert!(rest_b.iter().all(|(_, p)| *p >= VEXFS_DX_POS_BASE && *p < VEXFS_DX_POS_EOF));
    // Linear-era positions: inside block 0 restart, past it is EOF.
    let mut p = 4096;
    assert!(d.getdents(&mut p, 10).unwrap().is_empty());
    let mut p = 24;
    assert_eq!(d.getdents(&mut p, 100_000).unwrap().len(), 6000);
}

#[test]
fn collisions_weak_hash() {
    // 16 distinct keys for 4000 names: long continuation chains.
    let mut d = MemDir::new(HASH_TEST_WEAK, SEED);
    for i in 0..4000 {
        d.add(&name_of(i), 11 + i).unwrap();
    }
    assert_eq!(d.verify(), 4000);
    for i in 0..4000 {
        assert_eq!(d.find(&name_of(i)).unwrap().map(|f| f.2), Some(11 + i), "name {i}");
    }
    assert!(d.find(b"nope").unwrap().is_none());
    for i in (0..4000).step_by(2) {
        d.remove(&name_of(i)).unwrap();
    }
    for i in 0..4000 {
        assert_eq!(d.find(&name_of(i)).unwrap().is_some(), i % 2 == 1);
    }
    // One big getdents: every name once (equal positions come together).
    let all = d.readdir_all(1 << 20);
    assert_eq!(all.len(), 2000 + 2);
    let set: HashSet<_> = all.iter().collect();
    assert_eq!(set.len(), all.len());
    // Batches larger than the longest run of equal positions (125 names
    // per key here) may repeat names of a run cut by a batch boundary,
    // never miss one. (A batch smaller than a run would never get past it:
    // with SipHash's 62-bit keys runs longer than one name are ~never seen.)
    let batched = d.readdir_all(300);
    let set2: HashSet<_> = batched.iter().collect();
    assert_eq!(set2.len(), 2002);
}

#[test]
fn continuation_chain_spans_interior_nodes() {
    // Enough weak-hash names that one key's leaves cross an interior node
    // boundary at depth 2.
    let mut d = MemDir::new(HASH_TEST_WEAK, SEED);
    let n = 80_000;
    for i in 0..n {
        d.add(&name_of(i), 11 + i).unwrap();
    }
    assert_eq!(d.depth, 2);
    assert_eq!(d.verify(), n as usize);
    for i in (0..n).step_by(97) {
        assert!(d.find(&name_of(i)).unwrap().is_some(), "name {i}");
    }
}

#[test]
fn readdir_order_matches_keys() {
    let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    for i in 0..3000 {
        d.add(&name_of(i), 11 + i).unwrap();
    }
    let mut pos = 0;
    let got = d.getdents(&mut pos, 1 << 20).unwrap();
    let mut keys = BTreeMap::new();
    for (name, p) in got.iter().skip(2) {
        assert_eq!(*p, key_pos(name_key(VEXFS_DX_HASH_SIPHASH24, &SEED, name)));
        keys.insert(*p, name.clone());
    }
    assert_eq!(keys.len(), 3000);
}

#[test]
fn corrupt_index_rejected() {
    let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    for i in 0..60_000 {
        d.add(&name_of(i), 11 + i).unwrap();
    }
    assert_eq!(d.depth, 2);
    let mut p = Path::default();
    let mut msg = String::new();
    // Depth disagreeing with the inode.
    assert_eq!(probe_name(&mut p, &d.blocks[0], DIR, d.nblocks(), 1, b"x", &mut msg), Err(Error::Corrupt));
    assert!(msg.contains("depth"), "{msg}");
    // Root count beyond the limit.
    let mut r = d.blocks[0].clone();
    r[ROOT_INFO + RI_COUNT..ROOT_INFO + RI_COUNT + 2].copy_from_slice(&400u16.to_le_bytes());
    assert_eq!(probe_name(&mut p, &r, DIR, d.nblocks(), 2, b"x", &mut NoMsg), Err(Error::Corrupt));
    // Child block beyond the directory.
    let mut r = d.blocks[0].clone();
    set_entry(&mut r, Kind::Root, 0, Entry { stored: 0, block: d.nblocks() + 5 }).unwrap();
    assert_eq!(probe_name(&mut p, &r, DIR, d.nblocks(), 2, b"x", &mut NoMsg), Err(Error::Corrupt));
    // Unsorted entries in a node.
    let child = entry(&d.blocks[0], Kind::Root, 0).unwrap().block;
    let mut node = d.blocks[child as usize].clone();
    let e1 = entry(&node, Kind::Node, 1).unwrap();
    let e2 = entry(&node, Kind::Node, 2).unwrap();
    set_entry(&mut node, Kind::Node, 1, e2).unwrap();
    set_entry(&mut node, Kind::Node, 2, e1).unwrap();
    let rc = probe_pos(&mut p, &d.blocks[0], DIR, d.nblocks(), 2, 2, &mut NoMsg).unwrap();
    assert_eq!(rc, READ);
    assert_eq!(p.next_block, child);
    assert_eq!(descend(&mut p, &node, &mut NoMsg), Err(Error::Corrupt));
    // A leaf where a node is expected.
    let rc = probe_pos(&mut p, &d.blocks[0], DIR, d.nblocks(), 2, 2, &mut NoMsg).unwrap();
    assert_eq!(rc, READ);
    let leaf = entry(&d.blocks[child as usize], Kind::Node, 0).unwrap().block;
    assert_eq!(descend(&mut p, &d.blocks[leaf as usize].clone(), &mut NoMsg), Err(Error::Corrupt));
    // A node where a leaf is expected: adding refuses.
    let mut p = Path::default();
    d.probe(&mut p, b"some-name").unwrap();
    let mut fake = d.blocks[child as usize].clone();
    assert_eq!(leaf_add(&p, &mut fake, b"some-name", 12, VEXFS_FT_REG_FILE), Err(Error::Corrupt));
}

#[test]
fn split_refuses_stale_or_wrong_buffers() {
    let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    for i in 0..400 {
        d.add(&name_of(i), 11 + i).unwrap();
    }
    let mut p = Path::default();
    let leaf = d.probe(&mut p, b"newname").unwrap().unwrap();
    let mut root = d.blocks[0].clone();
    let mut leaf_b = d.blocks[leaf as usize].clone();
    let mut fresh = vec![0u8; BLOCK_SIZE];
    let mut slots = vec![Slot::default(); LEAF_MAX + 1];
    // Wrong fresh_first.
    let mut frames: Vec<&mut [u8]> = vec![&mut root];
    let mut fr: Vec<&mut [u8]> = vec![&mut fresh];
    let mut b = SplitBufs { frames: &mut frames, leaf: &mut leaf_b, fresh: &mut fr, fresh_first: 1, slots: &mut slots };
    assert_eq!(split_add(&mut p, &mut b, b"newname", 12, VEXFS_FT_REG_FILE), Err(Error::InvalidArgument));
    // A name other than the walk's.
    b.fresh_first = d.nblocks();
    assert_eq!(split_add(&mut p, &mut b, b"othername", 12, VEXFS_FT_REG_FILE), Err(Error::InvalidArgument));
    // A root that changed since the walk.
    let mut root2 = d.blocks[0].clone();
    let c = count_of(&root2, Kind::Root).unwrap();
    set_count(&mut root2, Kind::Root, c - 1).unwrap();
    let mut frames2: Vec<&mut [u8]> = vec![&mut root2];
    b.frames = &mut frames2;
    assert_eq!(split_add(&mut p, &mut b, b"newname", 12, VEXFS_FT_REG_FILE), Err(Error::InvalidArgument));
}

#[test]
fn convert_keeps_dots_and_rejects_duplicates() {
    let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    let mut i = 0;
    while d.depth == 0 {
        d.add(&name_of(i), 11 + i).unwrap();
        i += 1;
    }
    let ri = root_info(&d.blocks[0], &mut NoMsg).unwrap();
    assert_eq!((ri.dot_ino, ri.parent_ino, ri.levels, ri.count), (DIR, PARENT, 1, 2));
    assert_eq!(dir::find(&d.blocks[0], b"..").unwrap().unwrap().ino, PARENT);
    assert_eq!(d.verify(), i as usize);
    // A full linear block: converting with a name already present fails
    // and leaves the block as it was.
    let mut lin = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
    let mut j = 0;
    while dir::add(&mut lin.blocks[0], DIR, &name_of(j), 11 + j, VEXFS_FT_REG_FILE).is_ok() {
        j += 1;
    }
    let before = lin.blocks[0].clone();
    let (mut l1, mut l2) = (vec![0u8; BLOCK_SIZE], vec![0u8; BLOCK_SIZE]);
    let r = convert_add(&mut lin.blocks[0], &mut l1, &mut l2, DIR, VEXFS_DX_HASH_SIPHASH24, &SEED, &name_of(0), 5, 1, &mut lin.slots);
    assert_eq!(r, Err(Error::Exists));
    assert_eq!(lin.blocks[0], before);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn built() -> &'static MemDir {
        use std::sync::OnceLock;
        static D: OnceLock<MemDirSync> = OnceLock::new();
        &D.get_or_init(|| {
            let mut d = MemDir::new(VEXFS_DX_HASH_SIPHASH24, SEED);
            for i in 0..50_000 {
                d.add(&name_of(i), 11 + i).unwrap();
            }
            MemDirSync(d)
        })
        .0
    }

    struct MemDirSync(MemDir);
    // SAFETY: the Cell read counter is only a test statistic; the proptest
    // below clones the blocks it mutates and never touches the counter
    // from two threads at once (proptest runs cases sequentially).
    unsafe impl Sync for MemDirSync {}
    unsafe impl Send for MemDirSync {}

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Random damage to any index block: every walk ends (Ok or Err),
        /// never panics, never loops.
        #[test]
        fn damaged_index_never_panics(which in 0usize..64, flips in proptest::collection::vec((0usize..BLOCK_SIZE, any::<u8>()), 1..8), name in proptest::collection::vec(1u8..=255, 1..40)) {
            let d = built();
            let mut blocks = d.blocks.clone();
            // Damage the root or one of its index nodes.
            let root_count = count_of(&blocks[0], Kind::Root).unwrap();
            let target = if which == 0 { 0 } else { entry(&blocks[0], Kind::Root, which as u32 % root_count).unwrap().block as usize };
            for (off, v) in &flips {
                blocks[target][*off] ^= *v | 1;
            }
            let name: Vec<u8> = name.into_iter().map(|c| if c == b'/' { b'a' } else { c }).collect();
            let mut p = Path::default();
            let nb = blocks.len() as u32;
            let mut steps = 0;
            let mut rc = probe_name(&mut p, &blocks[0], DIR, nb, d.depth, &name, &mut NoMsg);
            while let Ok(r) = rc {
                steps += 1;
                prop_assert!(steps < 4 * blocks.len());
                if r == READ {
                    let nb = p.next_block as usize;
                    rc = descend(&mut p, &blocks[nb], &mut NoMsg);
                } else if r == LEAF {
                    let nb = p.next_block as usize;
                    let _ = dir::find(&blocks[nb], &name);
                    rc = next_leaf(&mut p, true);
                } else {
                    break;
                }
            }
        }
    }
}
