//! Vector-store record decoder: first two bytes choose the dimension.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vexfs_core::hnsw::vectors::{decode_record, record_pos, record_size};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let dim = u16::from_le_bytes([data[0], data[1]]) as u32 % 4100;
    let rec = &data[2..];
    let mut out = vec![0f32; dim as usize];
    let _ = decode_record(rec, 11, dim, &mut out);
    if let Ok(rs) = record_size(dim) {
        let mut padded = rec.to_vec();
        padded.resize(rs as usize, 0);
        let _ = decode_record(&padded, 11, dim, &mut out);
        let _ = record_pos(u64::from(dim) * 977, dim);
    }
});
