//! The inode block map: 12 direct pointers, then single, double and triple
//! indirect blocks of 1024 little-endian block numbers each (as ext2).

use super::defs::*;
use crate::error::{Error, Result};

const PER: u64 = VEXFS_ADDR_PER_BLOCK as u64;
const NDIR: u64 = VEXFS_NDIR_BLOCKS as u64;

/// The largest file block index the map can address, plus one.
pub const MAX_FILE_BLOCKS: u64 = NDIR + PER + PER * PER + PER * PER * PER;

/// The path to file block `iblock`: the slot in `i_block` followed by the
/// index inside each indirect level. Returns the number of valid entries
/// (1 to 4) in `offsets`.
pub fn path(iblock: u64, offsets: &mut [u32; 4]) -> Result<usize> {
    let mut b = iblock;
    if b < NDIR {
        offsets[0] = b as u32;
        return Ok(1);
    }
    b -= NDIR;
    if b < PER {
        *offsets = [VEXFS_IND_BLOCK, b as u32, 0, 0];
        return Ok(2);
    }
    b -= PER;
    if b < PER * PER {
        *offsets = [VEXFS_DIND_BLOCK, (b / PER) as u32, (b % PER) as u32, 0];
        return Ok(3);
    }
    b -= PER * PER;
    if b < PER * PER * PER {
        *offsets = [
            VEXFS_TIND_BLOCK,
            (b / (PER * PER)) as u32,
            ((b / PER) % PER) as u32,
            (b % PER) as u32,
        ];
        return Ok(4);
    }
    Err(Error::FileTooBig)
}

/// Read entry `idx` of an indirect block.
pub fn indirect_get(block: &[u8], idx: u32) -> Option<u32> {
    let off = (idx as usize).checked_mul(4)?;
    let b = block.get(off..off + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Write entry `idx` of an indirect block.
pub fn indirect_set(block: &mut [u8], idx: u32, value: u32) -> Option<()> {
    let off = (idx as usize).checked_mul(4)?;
    block.get_mut(off..off + 4)?.copy_from_slice(&value.to_le_bytes());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let mut o = [0; 4];
        assert_eq!(path(0, &mut o).unwrap(), 1);
        assert_eq!(path(11, &mut o).unwrap(), 1);
        assert_eq!((path(12, &mut o).unwrap(), o), (2, [12, 0, 0, 0]));
        assert_eq!((path(12 + 1024, &mut o).unwrap(), o), (3, [13, 0, 0, 0]));
        assert_eq!((path(12 + 1024 + 1025, &mut o).unwrap(), o), (3, [13, 1, 1, 0]));
        let t = 12 + 1024 + 1024 * 1024;
        assert_eq!((path(t, &mut o).unwrap(), o), (4, [14, 0, 0, 0]));
        assert_eq!(path(MAX_FILE_BLOCKS, &mut o), Err(Error::FileTooBig));
        // 4 GiB files need the double indirect level: 1 Mi blocks fit.
        assert!(path((4u64 << 30) / 4096, &mut o).is_ok());
    }
}
