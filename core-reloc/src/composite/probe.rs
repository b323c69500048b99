//! The name probe: does a module's string section hold a given name, without parsing the
//! module? Reads only the header and the string section of a file (two `pread`s), then runs a
//! substring search for the NUL-delimited name.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use memchr::memmem;

use crate::btf::{BTF_MAGIC, BtfError, Endian};

/// Longest header read: the 32-byte header with a layout section. Only its first 24 bytes
/// (through `str_len`) matter to the probe.
const HEADER_READ_LEN: usize = 32;
const BASE_HEADER_LEN: usize = 24;

/// Searches string sections for one exact, complete string.
pub(crate) struct StringFinder {
    name_len: usize,
    /// `"\0name\0"`: a complete string anywhere after the first.
    delimited: memmem::Finder<'static>,
}

impl StringFinder {
    /// `None` for names no type can have (empty, or containing NUL).
    pub(crate) fn new(name: &str) -> Option<StringFinder> {
        if name.is_empty() || name.as_bytes().contains(&0) {
            return None;
        }
        let mut needle = Vec::with_capacity(name.len() + 2);
        needle.push(0);
        needle.extend_from_slice(name.as_bytes());
        needle.push(0);
        Some(StringFinder {
            name_len: name.len(),
            delimited: memmem::Finder::new(&needle).into_owned(),
        })
    }

    /// Whether `section` holds the name as a complete NUL-terminated string. A split string
    /// section does not start with NUL (its first string sits at offset 0), so a match at
    /// the very start is checked separately.
    pub(crate) fn is_in(&self, section: &[u8]) -> bool {
        let needle = self.delimited.needle();
        let at_start = section.len() > self.name_len
            && section[..self.name_len] == needle[1..=self.name_len]
            && section[self.name_len] == 0;
        at_start || self.delimited.find(section).is_some()
    }
}

/// A probe of one file could not be completed.
pub(crate) enum ProbeReadError {
    Io(io::Error),
    Invalid(BtfError),
}

/// Reads the string section of the BTF file at `path` into `buf` (reused across modules so
/// that probing thousands of files allocates once). Returns the number of bytes read.
pub(crate) fn read_string_section(path: &Path, buf: &mut Vec<u8>) -> Result<u64, ProbeReadError> {
    let file = File::open(path).map_err(ProbeReadError::Io)?;
    let mut header = [0u8; HEADER_READ_LEN];
    let header_len = read_full_at(&file, &mut header, 0).map_err(ProbeReadError::Io)?;
    let (hdr_len, str_off, str_len) =
        decode_header(&header[..header_len]).map_err(ProbeReadError::Invalid)?;
    let start = u64::from(hdr_len) + u64::from(str_off);
    buf.clear();
    buf.resize(str_len as usize, 0);
    let got = read_full_at(&file, buf, start).map_err(ProbeReadError::Io)?;
    if got < buf.len() {
        // Same verdict the parser would give on the whole file.
        let available = (start + got as u64).saturating_sub(u64::from(hdr_len)) as usize;
        return Err(ProbeReadError::Invalid(BtfError::SectionOutOfBounds {
            section: "string",
            offset: str_off,
            len: str_len,
            available,
        }));
    }
    Ok((header_len + got) as u64)
}

/// `(hdr_len, str_off, str_len)` from the start of a BTF header, with the checks the probe
/// relies on. Full validation is left to the parse that confirms a hit.
pub(crate) fn decode_header(header: &[u8]) -> Result<(u32, u32, u32), BtfError> {
    if header.len() < BASE_HEADER_LEN {
        return Err(BtfError::TooShort {
            len: header.len(),
            needed: BASE_HEADER_LEN,
        });
    }
    let magic = [header[0], header[1]];
    let endian = if u16::from_le_bytes(magic) == BTF_MAGIC {
        Endian::Little
    } else if u16::from_be_bytes(magic) == BTF_MAGIC {
        Endian::Big
    } else {
        return Err(BtfError::BadMagic {
            magic: u16::from_le_bytes(magic),
        });
    };
    let field =
        |at: usize| endian.u32([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    let hdr_len = field(4);
    if (hdr_len as usize) < BASE_HEADER_LEN {
        return Err(BtfError::HeaderTooShort { hdr_len });
    }
    Ok((hdr_len, field(16), field(20)))
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_complete_strings_only() {
        let finder = StringFinder::new("inode").unwrap();
        assert!(finder.is_in(b"\0a\0inode\0b\0"));
        assert!(finder.is_in(b"inode\0b\0")); // split section: first string at offset 0
        assert!(finder.is_in(b"\0inode\0"));
        assert!(!finder.is_in(b"\0btrfs_inode\0"));
        assert!(!finder.is_in(b"\0inode_x\0"));
        assert!(!finder.is_in(b"inode")); // not terminated
        assert!(!finder.is_in(b""));
        assert!(StringFinder::new("").is_none());
        assert!(StringFinder::new("a\0b").is_none());
    }

    #[test]
    fn header_errors() {
        assert!(matches!(
            decode_header(&[0; 10]),
            Err(BtfError::TooShort { .. })
        ));
        assert!(matches!(
            decode_header(&[0; 24]),
            Err(BtfError::BadMagic { .. })
        ));
        let mut short = [0u8; 24];
        short[..2].copy_from_slice(&BTF_MAGIC.to_le_bytes());
        short[2] = 1;
        short[4] = 8;
        assert!(matches!(
            decode_header(&short),
            Err(BtfError::HeaderTooShort { hdr_len: 8 })
        ));
    }
}
