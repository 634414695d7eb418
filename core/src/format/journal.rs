//! The jbd2 journal superblock in the first block of the journal region:
//! mkfs writes it, fsck validates it, and the kernel's jbd2_journal_load()
//! accepts it. jbd2 is big-endian on disk; its layout is the kernel's
//! `journal_superblock_t` (include/linux/jbd2.h), not a VexFS definition,
//! so it is not in `shim/vexfs_format.h` and is described here by offset.
use core::fmt::Write;

use super::checksum::crc32c_skipping;
use super::defs::*;
use crate::bytes::{be32, put_be32};
use crate::error::{Error, Result};
use crate::explain;

/// `JBD2_MAGIC_NUMBER`.
pub const JBD2_MAGIC: u32 = 0xc03b_3998;
/// `JBD2_SUPERBLOCK_V1` / `JBD2_SUPERBLOCK_V2` block types.
pub const JBD2_SUPERBLOCK_V1: u32 = 3;
pub const JBD2_SUPERBLOCK_V2: u32 = 4;
/// `JBD2_FEATURE_COMPAT_CHECKSUM`.
pub const JBD2_KNOWN_COMPAT: u32 = 0x1;
/// Incompat features the 6.1 kernel knows: REVOKE, 64BIT, ASYNC_COMMIT,
/// CSUM_V2, CSUM_V3, FAST_COMMIT.
pub const JBD2_KNOWN_INCOMPAT: u32 = 0x3f;
pub const JBD2_FEATURE_INCOMPAT_CSUM_V2: u32 = 0x8;
pub const JBD2_FEATURE_INCOMPAT_CSUM_V3: u32 = 0x10;
/// `JBD2_CRC32C_CHKSUM` in `s_checksum_type`.
pub const JBD2_CRC32C_CHKSUM: u8 = 4;
/// `sizeof(journal_superblock_t)`: the bytes the jbd2 checksum covers.
pub const JBD2_SB_SIZE: usize = 0x400;

// Byte offsets in journal_superblock_t.
const H_MAGIC: usize = 0x00;
const H_BLOCKTYPE: usize = 0x04;
const H_SEQUENCE: usize = 0x08;
const S_BLOCKSIZE: usize = 0x0c;
const S_MAXLEN: usize = 0x10;
const S_FIRST: usize = 0x14;
const S_SEQUENCE: usize = 0x18;
const S_START: usize = 0x1c;
const S_ERRNO: usize = 0x20;
const S_FEATURE_COMPAT: usize = 0x24;
const S_FEATURE_INCOMPAT: usize = 0x28;
const S_FEATURE_RO_COMPAT: usize = 0x2c;
const S_UUID: usize = 0x30;
const S_NR_USERS: usize = 0x40;
const S_CHECKSUM_TYPE: usize = 0x50;
const S_CHECKSUM: usize = 0xfc;
const S_USERS: usize = 0x100;

/// The jbd2 superblock checksum: the kernel's crc32c(~0, sb) over the whole
/// struct with s_checksum zero, without the final inversion.
fn jbd2_checksum(raw: &[u8]) -> Option<u32> {
    let sb = raw.get(..JBD2_SB_SIZE)?;
    Some(!crc32c_skipping(&[], sb, S_CHECKSUM)?)
}

/// Write a clean (empty, nothing to replay) version-2 jbd2 superblock for a
/// journal of `journal_blocks` blocks starting at volume block
/// `journal_start` into `block`: no features, one user, the volume UUID.
///
/// The kernel opens the journal with `jbd2_journal_init_dev()` on the volume
/// itself, and jbd2 then addresses log blocks by absolute device block
/// number (it applies no offset): `s_first` and `s_maxlen` are absolute,
/// `s_first = journal_start + 1` (the superblock is at `journal_start`) and
/// `s_maxlen = journal_start + journal_blocks` (one past the last log block).
///
/// `first_sequence` is the transaction ID the log starts at (jbd2's
/// s_sequence). mkfs does not zero the whole log: blocks of an earlier
/// filesystem's log stay behind, and a recovery that runs past the end of
/// the new log replays any of them whose ID is the next one expected. Every
/// mkfs starting at 1 made that likely (the same workload puts transaction n
/// at the same log position); a random start makes it a 1 in 2^32 chance.
/// A fully zeroed log (fsck's rebuild) may start anywhere.
pub fn encode(block: &mut [u8], journal_start: u32, journal_blocks: u32, uuid: &[u8; 16], first_sequence: u32) -> Result<()> {
    if block.len() != BLOCK_SIZE || journal_blocks < VEXFS_MIN_JOURNAL_BLOCKS {
        return Err(Error::InvalidArgument);
    }
    let maxlen = journal_start.checked_add(journal_blocks).ok_or(Error::InvalidArgument)?;
    block.fill(0);
    let ok = (|| {
        put_be32(block, H_MAGIC, JBD2_MAGIC)?;
        put_be32(block, H_BLOCKTYPE, JBD2_SUPERBLOCK_V2)?;
        put_be32(block, H_SEQUENCE, 0)?;
        put_be32(block, S_BLOCKSIZE, VEXFS_BLOCK_SIZE)?;
        put_be32(block, S_MAXLEN, maxlen)?;
        put_be32(block, S_FIRST, journal_start + 1)?;
        put_be32(block, S_SEQUENCE, first_sequence)?;
        put_be32(block, S_START, 0)?;
        block.get_mut(S_UUID..S_UUID + 16)?.copy_from_slice(uuid);
        put_be32(block, S_NR_USERS, 1)?;
        block.get_mut(S_USERS..S_USERS + 16)?.copy_from_slice(uuid);
        Some(())
    })();
    ok.ok_or(Error::InvalidArgument)
}

/// What a valid journal superblock says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JournalInfo {
    pub blocktype: u32,
    pub maxlen: u32,
    pub first: u32,
    pub sequence: u32,
    /// Block of the log start; non-zero: the log holds transactions that
    /// the kernel replays at the next mount.
    pub start: u32,
    /// Non-zero: the journal was aborted with this errno.
    pub errno: i32,
    pub feature_compat: u32,
    pub feature_incompat: u32,
    pub feature_ro_compat: u32,
    /// The journal UUID equals the volume UUID.
    pub uuid_matches: bool,
}

impl JournalInfo {
    pub fn needs_recovery(&self) -> bool {
        self.start != 0
    }
}

/// Validate the jbd2 superblock of the journal region [journal_start,
/// journal_start + journal_blocks), with the checks jbd2_journal_load()
/// makes (block numbers absolute, see [`encode`]), plus the checksum when a
/// checksum feature is on.
pub fn validate(block: &[u8], journal_start: u32, journal_blocks: u32, uuid: &[u8; 16], msg: &mut impl Write) -> Result<JournalInfo> {
    let region_end = journal_start.checked_add(journal_blocks).ok_or(Error::InvalidArgument)?;
    if block.len() < JBD2_SB_SIZE {
        explain!(msg, "journal superblock buffer too short ({} bytes)", block.len());
        return Err(Error::InvalidArgument);
    }
    let f = |off| be32(block, off).ok_or(Error::InvalidArgument);
    let magic = f(H_MAGIC)?;
    if magic != JBD2_MAGIC {
        explain!(msg, "journal superblock: bad magic 0x{magic:08x} (expected 0x{JBD2_MAGIC:08x})");
        return Err(Error::Corrupt);
    }
    let blocktype = f(H_BLOCKTYPE)?;
    if blocktype != JBD2_SUPERBLOCK_V1 && blocktype != JBD2_SUPERBLOCK_V2 {
        explain!(msg, "journal superblock: unknown block type {blocktype}");
        return Err(Error::Corrupt);
    }
    let bsize = f(S_BLOCKSIZE)?;
    if bsize != VEXFS_BLOCK_SIZE {
        explain!(msg, "journal superblock: block size {bsize} (expected {VEXFS_BLOCK_SIZE})");
        return Err(Error::Corrupt);
    }
    let maxlen = f(S_MAXLEN)?;
    if maxlen < journal_start.saturating_add(VEXFS_MIN_JOURNAL_BLOCKS) || maxlen > region_end {
        explain!(msg, "journal superblock: log end {maxlen} outside the journal region [{journal_start}, {region_end}) (minimum {VEXFS_MIN_JOURNAL_BLOCKS} blocks)");
        return Err(Error::Corrupt);
    }
    let first = f(S_FIRST)?;
    if first <= journal_start || first >= maxlen {
        explain!(msg, "journal superblock: first log block {first} outside {}..{maxlen}", journal_start + 1);
        return Err(Error::Corrupt);
    }
    let start = f(S_START)?;
    if start != 0 && (start < first || start >= maxlen) {
        explain!(msg, "journal superblock: log start {start} outside {first}..{maxlen}");
        return Err(Error::Corrupt);
    }
    let (compat, incompat, ro_compat) = if blocktype == JBD2_SUPERBLOCK_V2 {
        (f(S_FEATURE_COMPAT)?, f(S_FEATURE_INCOMPAT)?, f(S_FEATURE_RO_COMPAT)?)
    } else {
        (0, 0, 0)
    };
    let unknown = incompat & !JBD2_KNOWN_INCOMPAT;
    if unknown != 0 || ro_compat != 0 {
        explain!(msg, "journal superblock: unknown features (incompat 0x{unknown:x}, ro_compat 0x{ro_compat:x})");
        return Err(Error::Corrupt);
    }
    let csum_v2v3 = incompat & (JBD2_FEATURE_INCOMPAT_CSUM_V2 | JBD2_FEATURE_INCOMPAT_CSUM_V3);
    if csum_v2v3 == (JBD2_FEATURE_INCOMPAT_CSUM_V2 | JBD2_FEATURE_INCOMPAT_CSUM_V3) {
        explain!(msg, "journal superblock: both CSUM_V2 and CSUM_V3 set");
        return Err(Error::Corrupt);
    }
    if csum_v2v3 != 0 {
        let ctype = *block.get(S_CHECKSUM_TYPE).ok_or(Error::InvalidArgument)?;
        if ctype != JBD2_CRC32C_CHKSUM {
            explain!(msg, "journal superblock: checksum type {ctype} (expected crc32c)");
            return Err(Error::Corrupt);
        }
        let stored = f(S_CHECKSUM)?;
        let computed = jbd2_checksum(block).ok_or(Error::InvalidArgument)?;
        if stored != computed {
            explain!(msg, "journal superblock: checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})");
            return Err(Error::Corrupt);
        }
    }
    Ok(JournalInfo {
        blocktype,
        maxlen,
        first,
        sequence: f(S_SEQUENCE)?,
        start,
        errno: f(S_ERRNO)? as i32,
        feature_compat: compat,
        feature_incompat: incompat,
        feature_ro_compat: ro_compat,
        uuid_matches: block.get(S_UUID..S_UUID + 16) == Some(&uuid[..]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::NoMsg;

    #[test]
    fn encode_validate_roundtrip() {
        let uuid = [7u8; 16];
        let mut b = vec![0u8; BLOCK_SIZE];
        encode(&mut b, 100, 2048, &uuid, 1).unwrap();
        assert_eq!(&b[..4], &[0xc0, 0x3b, 0x39, 0x98]);
        let info = validate(&b, 100, 2048, &uuid, &mut NoMsg).unwrap();
        // Absolute block numbers: jbd2 applies no offset to log blocks.
        assert_eq!((info.maxlen, info.first, info.sequence, info.start), (2148, 101, 1, 0));
        assert!(info.uuid_matches && !info.needs_recovery());
        // Longer than the region: rejected.
        assert_eq!(validate(&b, 100, 1500, &uuid, &mut NoMsg), Err(Error::Corrupt));
        // Log starting inside the filesystem's metadata: rejected.
        assert_eq!(validate(&b, 101, 2047, &uuid, &mut NoMsg), Err(Error::Corrupt));
        // A dirty log is valid but needs recovery.
        put_be32(&mut b, S_START, 105).unwrap();
        assert!(validate(&b, 100, 2048, &uuid, &mut NoMsg).unwrap().needs_recovery());
        put_be32(&mut b, S_START, 4000).unwrap();
        assert_eq!(validate(&b, 100, 2048, &uuid, &mut NoMsg), Err(Error::Corrupt));
        // Checksummed superblocks are verified.
        put_be32(&mut b, S_START, 0).unwrap();
        put_be32(&mut b, S_FEATURE_INCOMPAT, JBD2_FEATURE_INCOMPAT_CSUM_V3).unwrap();
        b[S_CHECKSUM_TYPE] = JBD2_CRC32C_CHKSUM;
        let sum = jbd2_checksum(&b).unwrap();
        put_be32(&mut b, S_CHECKSUM, sum).unwrap();
        validate(&b, 100, 2048, &uuid, &mut NoMsg).unwrap();
        b[0x200] ^= 1;
        assert_eq!(validate(&b, 100, 2048, &uuid, &mut NoMsg), Err(Error::Corrupt));
        b[0] = 0;
        assert_eq!(validate(&b, 100, 2048, &uuid, &mut NoMsg), Err(Error::Corrupt));
    }
}
