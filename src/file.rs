//! Reading a whole file with bounds: rule files, placeholder files, checkpoints and
//! hostfiles are read into memory, so a device (`/dev/zero`), a FIFO that never ends or a
//! file larger than any real one is refused with a clear error instead of hanging or
//! exhausting memory.

use std::io::Read;
use std::path::Path;

/// Largest rule or placeholder file accepted: 16 MiB (SigmaHQ's largest is under 100 KiB).
pub const MAX_RULE_FILE: u64 = 16 << 20;

/// Largest checkpoint (`--state`, cluster parts) accepted: 8 GiB.
pub const MAX_STATE_FILE: u64 = 8 << 30;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The operating system's error (not found, permission denied, …).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Not a regular file (a directory, a device, a FIFO, a socket).
    #[error("{0}, not a regular file")]
    NotRegular(&'static str),
    /// Larger than the limit (in bytes).
    #[error("{size} bytes is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The file's size, or at least this many bytes for a file that grew while read.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

impl ReadError {
    /// Is this "the file does not exist"?
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// What kind of file this is, when it is not a regular one.
fn kind_of(t: std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() || t.is_block_device() {
            return Some("a device");
        }
        if t.is_fifo() {
            return Some("a pipe");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a file")
}

/// Reads a regular file of at most `limit` bytes.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if let Some(kind) = kind_of(meta.file_type()) {
        return Err(ReadError::NotRegular(kind));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may grow while it is read: never take more than the limit.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Reads a regular UTF-8 text file of at most `limit` bytes.
pub fn read_text_bounded(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_bounded(path, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
        ))
    })
}

/// The text without a leading UTF-8 byte-order mark (Windows editors write one).
pub fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_large_files_are_refused() {
        #[cfg(unix)]
        {
            let e = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
            assert_eq!(e.to_string(), "a device, not a regular file");
        }
        let dir = std::env::temp_dir();
        let e = read_bounded(&dir, 1 << 20).unwrap_err();
        assert_eq!(e.to_string(), "a directory, not a regular file");
        let f = dir.join(format!("session-sigma-file-{}", std::process::id()));
        std::fs::write(&f, b"0123456789").unwrap();
        let e = read_bounded(&f, 9).unwrap_err();
        assert_eq!(
            e.to_string(),
            "10 bytes is larger than the limit of 9 bytes"
        );
        assert_eq!(read_bounded(&f, 10).unwrap(), b"0123456789");
        std::fs::write(&f, b"ok\xff").unwrap();
        let e = read_text_bounded(&f, 10).unwrap_err();
        assert_eq!(e.to_string(), "not valid UTF-8 (at byte 2)");
        let _ = std::fs::remove_file(&f);
        assert!(read_bounded(&f, 10).unwrap_err().is_not_found());
    }
}
