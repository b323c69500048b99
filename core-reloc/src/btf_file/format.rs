//! What a file holding BTF is, decided by its first bytes (never by its name).

use std::fmt;

/// How the BTF sits in the (decompressed) file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Container {
    /// The file is BTF (magic `0xeb9f` in either byte order), like `/sys/kernel/btf/*`.
    RawBtf,
    /// An ELF file with a `.BTF` section: a vmlinux, a kernel module, an eBPF object.
    Elf,
}

/// How the file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// xz (`.ko.xz`, as Debian ships modules).
    Xz,
    /// Zstandard (`.ko.zst`).
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        })
    }
}

/// What a BTF file turned out to be.
///
/// # Examples
///
/// ```
/// use core_reloc::btf_file::{Compression, Container, FileFormat};
/// let format = FileFormat { container: Container::Elf, compression: Some(Compression::Xz) };
/// assert_eq!(format.to_string(), "xz-compressed ELF");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileFormat {
    /// Raw BTF or ELF.
    pub container: Container,
    /// The compression around it, if any.
    pub compression: Option<Compression>,
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(compression) = self.compression {
            write!(f, "{compression}-compressed ")?;
        }
        f.write_str(match self.container {
            Container::RawBtf => "raw BTF",
            Container::Elf => "ELF",
        })
    }
}

/// The first bytes' verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Magic {
    Btf,
    Elf,
    Compressed(Compression),
    Unknown,
}

const BTF_LE: [u8; 2] = [0x9f, 0xeb];
const BTF_BE: [u8; 2] = [0xeb, 0x9f];
const ELF: [u8; 4] = [0x7f, b'E', b'L', b'F'];
const XZ: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];
const ZSTD: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Bytes [`sniff`] looks at; errors quote that many.
pub(crate) const MAGIC_LEN: usize = 6;

pub(crate) fn sniff(bytes: &[u8]) -> Magic {
    if bytes.starts_with(&BTF_LE) || bytes.starts_with(&BTF_BE) {
        Magic::Btf
    } else if bytes.starts_with(&ELF) {
        Magic::Elf
    } else if bytes.starts_with(&XZ) {
        Magic::Compressed(Compression::Xz)
    } else if bytes.starts_with(&ZSTD) {
        Magic::Compressed(Compression::Zstd)
    } else {
        Magic::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(&[0x9f, 0xeb, 1, 0]), Magic::Btf);
        assert_eq!(sniff(&[0xeb, 0x9f, 1, 0]), Magic::Btf);
        assert_eq!(sniff(b"\x7fELF\x02\x01"), Magic::Elf);
        assert_eq!(sniff(b"\xfd7zXZ\0\0"), Magic::Compressed(Compression::Xz));
        assert_eq!(
            sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Magic::Compressed(Compression::Zstd)
        );
        assert_eq!(sniff(b"\x1f\x8b\x08"), Magic::Unknown); // gzip is not supported
        assert_eq!(sniff(b""), Magic::Unknown);
        assert_eq!(sniff(b"\x7fEL"), Magic::Unknown);
    }
}
