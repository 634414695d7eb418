//! jbd2 journal superblock validation (core/src/format/journal.rs), on raw
//! bytes or on a valid encoded superblock with byte edits (mode bit 0).
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::format::journal;
use vexfs_core::msg::MsgBuf;

fuzz_target!(|data: &[u8]| {
    let mut c = Cur(data);
    let mode = c.u8();
    let jstart = c.u32() >> (c.u8() % 32);
    let jblocks = c.u32() >> (c.u8() % 32);
    let uuid = [c.u8(); 16];
    let mut b = if mode & 1 != 0 {
        let mut b = vec![0u8; vexfs_core::format::defs::BLOCK_SIZE];
        if journal::encode(&mut b, jstart, jblocks.max(1024), &uuid, jstart ^ jblocks).is_err() {
            return;
        }
        apply_edits(&mut c, &mut b, 12);
        b
    } else {
        c.rest().to_vec()
    };
    if mode & 2 != 0 {
        b.truncate(c.u16() as usize);
    }
    let mut m = [0u8; 200];
    if let Ok(info) = journal::validate(&b, jstart, jblocks, &uuid, &mut MsgBuf::new(&mut m)) {
        // jbd2 addresses the log by absolute block number (see journal.rs).
        assert!(info.maxlen as u64 <= jstart as u64 + jblocks as u64 && info.first > jstart && info.first < info.maxlen);
        assert!(info.start == 0 || (info.start >= info.first && info.start < info.maxlen));
    }
});
