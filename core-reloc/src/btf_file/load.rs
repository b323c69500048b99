//! Getting a file's bytes: a private read-only mapping where the file system allows, a read
//! otherwise. The only file I/O of BTF loading besides the name probe's.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use memmap2::MmapOptions;

use super::BtfFileError;
use crate::btf::{BtfBytes, LoadInfo, LoadMethod};

impl BtfBytes<'static> {
    /// Maps `path` (private, read-only), or reads it when mapping fails or maps nothing (sysfs
    /// files refuse mmap before Linux 6.16, and some files report a size of 0). Takes the
    /// bytes as they are: no format detection, no parse (see [`BtfFile`](super::BtfFile)
    /// for that).
    ///
    /// # Examples
    ///
    /// ```
    /// use core_reloc::btf::{BtfBytes, LoadMethod};
    /// let (bytes, info) = BtfBytes::load("/proc/self/status")?; // procfs cannot be mapped
    /// assert_eq!(info.method, LoadMethod::Read);
    /// assert_eq!(info.bytes, bytes.len());
    /// # Ok::<(), core_reloc::btf_file::BtfFileError>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<(BtfBytes<'static>, LoadInfo), BtfFileError> {
        let path = path.as_ref();
        let (_, bytes, info) = map_or_read(path)?;
        Ok((bytes, info))
    }
}

/// The open file (to map sections of it later), its bytes, and how they were obtained.
pub(crate) fn map_or_read(
    path: &Path,
) -> Result<(File, BtfBytes<'static>, LoadInfo), BtfFileError> {
    let io_error = |source| BtfFileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io_error)?;
    // SAFETY: the map is private and read-only. If another process truncates the file while
    // it is mapped, reads fault; BTF files (sysfs, build outputs, installed modules) are not
    // rewritten in place.
    match unsafe { MmapOptions::new().map_copy_read_only(&file) } {
        Ok(map) if !map.is_empty() => {
            let bytes = map.len();
            return Ok((
                file,
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
        file,
        BtfBytes::Owned(bytes),
        LoadInfo {
            method: LoadMethod::Read,
            bytes: len,
        },
    ))
}

/// A mapping of `len` bytes of `file` at `offset` (any offset: memmap2 aligns it to a page
/// and hides the difference). `None` if the system refuses, so the caller copies instead.
pub(crate) fn map_range(file: &File, offset: u64, len: u64) -> Option<BtfBytes<'static>> {
    let len = usize::try_from(len).ok().filter(|&len| len > 0)?;
    // SAFETY: as in `map_or_read`.
    unsafe {
        MmapOptions::new()
            .offset(offset)
            .len(len)
            .map_copy_read_only(file)
    }
    .ok()
    .map(BtfBytes::Mapped)
}
