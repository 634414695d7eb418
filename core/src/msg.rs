//! Bounded message buffers: validation failures are explained in text that
//! names the structure and the offending value, written into caller memory
//! (no allocation) so the kernel can `pr_err` it and the tools can print it.
use core::fmt;

/// A writer over a caller-provided byte buffer. Output beyond the buffer is
/// silently truncated; the buffer always stays NUL-terminated.
pub struct MsgBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> MsgBuf<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        if let Some(first) = buf.first_mut() {
            *first = 0;
        }
        MsgBuf { buf, len: 0 }
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        let bytes = self.buf.get(..self.len).unwrap_or(&[]);
        core::str::from_utf8(bytes).unwrap_or("")
    }
}

impl fmt::Write for MsgBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep one byte for the terminating NUL; cut on a char boundary.
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.len);
        let mut take = s.len().min(room);
        while take > 0 && !s.is_char_boundary(take) {
            take -= 1;
        }
        let end = self.len + take;
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..end), s.as_bytes().get(..take)) {
            dst.copy_from_slice(src);
            self.len = end;
        }
        if let Some(nul) = self.buf.get_mut(self.len) {
            *nul = 0;
        }
        Ok(())
    }
}

/// A sink that accepts and drops messages, for callers that want none.
pub struct NoMsg;

impl fmt::Write for NoMsg {
    fn write_str(&mut self, _s: &str) -> fmt::Result {
        Ok(())
    }
}

/// Write a formatted message to a sink, ignoring truncation.
#[macro_export]
macro_rules! explain {
    ($sink:expr, $($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt($sink, format_args!($($arg)*));
    }};
}
