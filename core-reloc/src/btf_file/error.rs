//! The error type of BTF file loading: I/O, container and compression problems, kept apart
//! from [`BtfError`], which is about the BTF bytes themselves.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::format::Compression;
use crate::btf::BtfError;

/// Why a file (or buffer) could not be turned into BTF bytes.
///
/// Every variant names the file when there is one; none repeats its `source` in its
/// message (print the chain, e.g. with `{:#}` of `anyhow` or by walking `source()`).
///
/// # Examples
///
/// ```
/// use core_reloc::btf_file::{BtfFile, BtfFileError};
/// let error = BtfFile::parse(&b"not BTF at all"[..]).unwrap_err();
/// assert!(matches!(error, BtfFileError::UnknownFormat { .. }));
/// assert_eq!(error.to_string(), "not BTF, ELF, xz or zstd data (starts with 6e 6f 74 20 42 54)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BtfFileError {
    /// Opening, mapping or reading the file failed.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The content is none of the formats BTF comes in.
    #[error("{}not BTF, ELF, xz or zstd data{} (starts with {})", at(path), inflated.map(|c| format!(" after {c} decompression")).unwrap_or_default(), hex(magic))]
    UnknownFormat {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// The compression that was undone first, if any (compressed data must hold BTF or
        /// ELF, not another compressed layer).
        inflated: Option<Compression>,
        /// The first bytes (at most 6).
        magic: Vec<u8>,
    },
    /// An ELF file whose headers do not parse.
    #[error("{}malformed ELF file", at(path))]
    Elf {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// The `object` crate's reason.
        #[source]
        source: object::Error,
    },
    /// An ELF file without a `.BTF` section (a kernel built without `CONFIG_DEBUG_INFO_BTF`,
    /// a stripped module, an object compiled without `-g`).
    #[error("{}ELF file has no .BTF section", at(path))]
    NoBtfSection {
        /// The file, when there is one.
        path: Option<PathBuf>,
    },
    /// A BTF section's header points outside the file.
    #[error(
        "{}ELF section {section} at offset {offset}, {size} bytes, lies outside the {file_len}-byte file",
        at(path)
    )]
    SectionOutOfBounds {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// `.BTF` or `.BTF.base`.
        section: &'static str,
        /// The section's file offset.
        offset: u64,
        /// The section's size.
        size: u64,
        /// The file's length.
        file_len: u64,
    },
    /// A BTF section is compressed inside the ELF (`SHF_COMPRESSED`), which no kernel
    /// tool produces for `.BTF`.
    #[error(
        "{}ELF section {section} is compressed (SHF_COMPRESSED), which is not supported",
        at(path)
    )]
    CompressedSection {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// `.BTF` or `.BTF.base`.
        section: &'static str,
    },
    /// The compressed data is corrupt or truncated, or needs more decoder memory than allowed.
    #[error("{}cannot decompress {compression} data", at(path))]
    Corrupt {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// The compression.
        compression: Compression,
        /// The decoder's reason.
        #[source]
        source: io::Error,
    },
    /// The compressed data inflates past the limit
    /// ([`MAX_INFLATED_LEN`](super::MAX_INFLATED_LEN) unless set otherwise).
    #[error(
        "{}{compression} data inflates past the limit of {limit} bytes",
        at(path)
    )]
    TooLarge {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// The compression.
        compression: Compression,
        /// The limit in bytes.
        limit: u64,
    },
    /// A module's `.BTF` is split on the distilled base in its `.BTF.base` section, and
    /// relocating it onto vmlinux (as the kernel does when it loads the module) failed.
    #[error(
        "{}relocating .BTF from its distilled base (.BTF.base) onto vmlinux",
        at(path)
    )]
    Relocate {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// Why relocation failed (e.g. a distilled type with no match in this vmlinux).
        #[source]
        source: crate::split_base::RelocateError,
    },
    /// The BTF bytes were found but do not parse.
    #[error("{}invalid BTF", at(path))]
    Btf {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// The reader's reason.
        #[source]
        source: BtfError,
    },
}

impl BtfFileError {
    /// The file this error is about, if it came from one.
    ///
    /// # Examples
    ///
    /// ```
    /// use core_reloc::btf_file::BtfFile;
    /// let error = BtfFile::open("/nonexistent/vmlinux").unwrap_err();
    /// assert_eq!(error.path().unwrap(), std::path::Path::new("/nonexistent/vmlinux"));
    /// assert_eq!(error.io_kind(), Some(std::io::ErrorKind::NotFound));
    /// ```
    pub fn path(&self) -> Option<&Path> {
        match self {
            BtfFileError::Io { path, .. } => Some(path),
            BtfFileError::UnknownFormat { path, .. }
            | BtfFileError::Elf { path, .. }
            | BtfFileError::NoBtfSection { path }
            | BtfFileError::SectionOutOfBounds { path, .. }
            | BtfFileError::CompressedSection { path, .. }
            | BtfFileError::Corrupt { path, .. }
            | BtfFileError::TooLarge { path, .. }
            | BtfFileError::Relocate { path, .. }
            | BtfFileError::Btf { path, .. } => path.as_deref(),
        }
    }

    /// The I/O error kind, for [`BtfFileError::Io`].
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            BtfFileError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    /// Names the file in an error made from bytes alone.
    pub(crate) fn with_path(mut self, file: &Path) -> BtfFileError {
        match &mut self {
            BtfFileError::Io { .. } => {}
            BtfFileError::UnknownFormat { path, .. }
            | BtfFileError::Elf { path, .. }
            | BtfFileError::NoBtfSection { path }
            | BtfFileError::SectionOutOfBounds { path, .. }
            | BtfFileError::CompressedSection { path, .. }
            | BtfFileError::Corrupt { path, .. }
            | BtfFileError::TooLarge { path, .. }
            | BtfFileError::Relocate { path, .. }
            | BtfFileError::Btf { path, .. } => *path = Some(file.to_owned()),
        }
        self
    }
}

/// `"PATH: "`, or nothing for bytes that came from no file.
fn at(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|path| format!("{}: ", path.display()))
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> impl fmt::Display + '_ {
    struct Hex<'b>(&'b [u8]);
    impl fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.0.is_empty() {
                return f.write_str("nothing: empty");
            }
            for (i, byte) in self.0.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{byte:02x}")?;
            }
            Ok(())
        }
    }
    Hex(bytes)
}
