//! Where a [`Btf`](super::Btf)'s bytes live: borrowed, owned, shared, or memory-mapped.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use memmap2::{Mmap, MmapOptions};

use super::error::BtfError;

/// The bytes backing a [`Btf`](super::Btf).
#[derive(Debug)]
pub enum BtfBytes<'a> {
    /// Borrowed from the caller (e.g. a section of an ELF file already in memory).
    Borrowed(&'a [u8]),
    /// Owned, e.g. read from a file or produced by [`BtfBuilder`](super::BtfBuilder).
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

/// How a BTF file was loaded by [`Btf::from_file`](super::Btf::from_file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMethod {
    /// Memory-mapped (read-only, private).
    Mapped,
    /// Read into memory because mapping failed or is not supported for this file (for
    /// `/sys/kernel/btf/*` before Linux 6.16).
    Read,
    /// The bytes were handed to the parser directly, not loaded from a file.
    InMemory,
}

/// What [`Btf::from_file`](super::Btf::from_file) did, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadInfo {
    /// Mapped, read or given.
    pub method: LoadMethod,
    /// How many bytes were mapped or read (or given).
    pub bytes: usize,
}

impl BtfBytes<'static> {
    /// Maps `path` (private, read-only), or reads it when mapping fails or maps nothing (sysfs
    /// files refuse mmap before Linux 6.16, and some files report a size of 0). Does not parse.
    ///
    /// Useful to probe bytes before parsing; [`Btf::from_file`](super::Btf::from_file) uses it.
    pub fn load(path: impl AsRef<Path>) -> Result<(BtfBytes<'static>, LoadInfo), BtfError> {
        load_file(path.as_ref())
    }
}

fn load_file(path: &Path) -> Result<(BtfBytes<'static>, LoadInfo), BtfError> {
    let io_error = |source| BtfError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io_error)?;
    // SAFETY: the map is private and read-only. If another process truncates the file while
    // it is mapped, reads fault; BTF files (sysfs, build outputs) are not rewritten in place.
    match unsafe { MmapOptions::new().map_copy_read_only(&file) } {
        Ok(map) if !map.is_empty() => {
            let bytes = map.len();
            return Ok((
                BtfBytes::Mapped(map),
                LoadInfo {
                    method: LoadMethod::Mapped,
                    bytes,
                },
            ));
        }
        Ok(_) => log::debug!("{}: empty mapping, reading instead", path.display()),
        Err(err) => log::debug!("{}: mmap failed ({err}), reading instead", path.display()),
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io_error)?;
    let len = bytes.len();
    Ok((
        BtfBytes::Owned(bytes),
        LoadInfo {
            method: LoadMethod::Read,
            bytes: len,
        },
    ))
}
