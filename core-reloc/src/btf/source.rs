//! Where a [`Btf`](super::Btf)'s bytes live: borrowed, owned, shared, or memory-mapped.
//! Loading them from files is [`btf_file`](crate::btf_file)'s job; this module does no I/O.

use std::ops::Deref;
use std::sync::Arc;

use memmap2::Mmap;

/// The bytes backing a [`Btf`](super::Btf).
#[derive(Debug)]
pub enum BtfBytes<'a> {
    /// Borrowed from the caller (e.g. a section of an ELF file already in memory).
    Borrowed(&'a [u8]),
    /// Owned, e.g. read from a file or produced by `BtfBuilder` (cargo feature `builder`).
    Owned(Vec<u8>),
    /// Shared with other owners.
    Shared(Arc<[u8]>),
    /// A private read-only memory map of a file.
    Mapped(Mmap),
}

impl Deref for BtfBytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            BtfBytes::Borrowed(bytes) => bytes,
            BtfBytes::Owned(bytes) => bytes,
            BtfBytes::Shared(bytes) => bytes,
            BtfBytes::Mapped(map) => map,
        }
    }
}

impl<'a> From<&'a [u8]> for BtfBytes<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        BtfBytes::Borrowed(bytes)
    }
}

impl From<Vec<u8>> for BtfBytes<'_> {
    fn from(bytes: Vec<u8>) -> Self {
        BtfBytes::Owned(bytes)
    }
}

impl From<Arc<[u8]>> for BtfBytes<'_> {
    fn from(bytes: Arc<[u8]>) -> Self {
        BtfBytes::Shared(bytes)
    }
}

impl From<Mmap> for BtfBytes<'_> {
    fn from(map: Mmap) -> Self {
        BtfBytes::Mapped(map)
    }
}

/// How BTF bytes were obtained ([`Btf::from_file`](super::Btf::from_file),
/// [`BtfFile`](crate::btf_file::BtfFile)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMethod {
    /// Memory-mapped (read-only, private).
    Mapped,
    /// Read into memory because mapping failed or is not supported for this file (for
    /// `/sys/kernel/btf/*` before Linux 6.16).
    Read,
    /// The bytes were handed to the parser directly, not loaded from a file.
    InMemory,
    /// Inflated from an xz or zstd file (a `.ko.xz`); [`LoadInfo::bytes`] is the compressed
    /// size.
    Decompressed,
}

/// What [`Btf::from_file`](super::Btf::from_file) did, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadInfo {
    /// Mapped, read or given.
    pub method: LoadMethod,
    /// How many bytes were mapped, read, given, or (compressed) inflated.
    pub bytes: usize,
}
