//! BTF from the files users have, detected by content: raw BTF (`/sys/kernel/btf/*`, either
//! byte order), an ELF file carrying `.BTF` (a vmlinux, a kernel module `.ko`, an eBPF
//! object), and either of those compressed with xz or zstd (`.ko.xz`, `.ko.zst`, as
//! distributions ship modules).
//!
//! Raw BTF stays zero-copy: the file is mapped and parsed in place. An ELF file's `.BTF` is
//! mapped on its own (it is not an allocated section, so it is found by its file range); a
//! module's `.BTF.base` (distilled base BTF) is kept beside it for callers that relocate it.
//! Compressed files are inflated into memory, at most [`MAX_INFLATED_LEN`] bytes by default.
//!
//! # Examples
//!
//! ```
//! use core_reloc::btf::{BtfBuilder, IntEncoding, Kind};
//! use core_reloc::btf_file::{BtfFile, Container};
//!
//! let mut builder = BtfBuilder::new();
//! builder.add_int("int", 4, IntEncoding::SIGNED);
//! let raw = builder.build();
//!
//! let file = BtfFile::parse(&raw[..])?; // raw BTF: borrowed as is
//! assert_eq!(file.format.container, Container::RawBtf);
//! assert!(file.btf_base.is_none());
//! let btf = file.parse_btf()?;
//! assert!(btf.find_by_name_kind("int", Kind::Int).is_some());
//!
//! // The same BTF in an ELF file's .BTF section (here an eBPF object written with `object`).
//! use object::write::Object;
//! use object::{Architecture, BinaryFormat, Endianness, SectionKind};
//! let mut elf = Object::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);
//! let section = elf.add_section(Vec::new(), b".BTF".to_vec(), SectionKind::Metadata);
//! elf.append_section_data(section, &raw, 4);
//! let elf = elf.write()?;
//! let file = BtfFile::parse(&elf[..])?;
//! assert_eq!(file.format.container, Container::Elf);
//! assert_eq!(&file.btf[..], &raw[..]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod elf;
mod error;
mod format;
mod inflate;
mod load;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::btf::{Btf, BtfBytes, LoadInfo, LoadMethod};

pub use elf::{BTF_BASE_SECTION, BTF_SECTION};
pub use error::BtfFileError;
pub use format::{Compression, Container, FileFormat};
pub use inflate::MAX_INFLATED_LEN;

pub(crate) use elf::{ElfBtfError, locate as locate_in_elf};
pub(crate) use format::{MAGIC_LEN, Magic, sniff};

/// The BTF bytes found in a file or buffer, not yet parsed.
///
/// # Examples
///
/// ```no_run
/// use core_reloc::btf_file::BtfFile;
/// let file = BtfFile::open("/lib/modules/6.12.0/kernel/fs/btrfs/btrfs.ko.xz")?;
/// println!("{}: {} bytes of BTF, distilled base: {}", file.format, file.btf.len(), file.btf_base.is_some());
/// # Ok::<(), core_reloc::btf_file::BtfFileError>(())
/// ```
#[derive(Debug)]
pub struct BtfFile<'a> {
    /// The BTF: the whole file for raw BTF, the `.BTF` section of an ELF file.
    pub btf: BtfBytes<'a>,
    /// The `.BTF.base` section (distilled base BTF) of a module built with one; `btf` is split
    /// on it rather than on vmlinux.
    pub btf_base: Option<BtfBytes<'a>>,
    /// What the file was.
    pub format: FileFormat,
    /// How the bytes were obtained: for a compressed file [`LoadMethod::Decompressed`] with
    /// the compressed size, else mapped or read with the size of what was mapped or read.
    pub load: LoadInfo,
    /// The file, when the bytes came from one (errors name it).
    pub path: Option<PathBuf>,
}

impl<'a> BtfFile<'a> {
    /// Finds the BTF in bytes already in memory. Borrowed bytes stay borrowed (an ELF
    /// section is a sub-slice); owned, shared or mapped bytes that are not raw BTF have their
    /// sections copied out.
    ///
    /// # Examples
    ///
    /// ```
    /// use core_reloc::btf_file::{BtfFile, BtfFileError};
    /// let elf_without_btf = object::write::Object::new(
    ///     object::BinaryFormat::Elf,
    ///     object::Architecture::X86_64,
    ///     object::Endianness::Little,
    /// )
    /// .write()?;
    /// let error = BtfFile::parse(elf_without_btf).unwrap_err();
    /// assert!(matches!(error, BtfFileError::NoBtfSection { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(bytes: impl Into<BtfBytes<'a>>) -> Result<BtfFile<'a>, BtfFileError> {
        BtfFile::parse_with_limit(bytes, MAX_INFLATED_LEN)
    }

    /// Like [`parse`](Self::parse), inflating compressed data to at most `limit` bytes.
    pub fn parse_with_limit(
        bytes: impl Into<BtfBytes<'a>>,
        limit: u64,
    ) -> Result<BtfFile<'a>, BtfFileError> {
        let bytes = bytes.into();
        let load = LoadInfo {
            method: LoadMethod::InMemory,
            bytes: bytes.len(),
        };
        from_bytes(bytes, load, None, limit, None)
    }

    /// Parses the BTF as base BTF (a vmlinux, or an object's own BTF).
    pub fn parse_btf(self) -> Result<Btf<'a>, BtfFileError> {
        let path = self.path;
        Btf::parse_with(self.btf, None, Some(self.load))
            .map_err(|source| BtfFileError::Btf { path, source })
    }

    /// Parses the BTF as split BTF on `base` (a module on vmlinux). A module with a
    /// `.BTF.base` section has its BTF split on that distilled base: it is first relocated onto
    /// `base` ([`split_base::relocate_module_btf`](crate::split_base::relocate_module_btf), what
    /// the kernel does when it loads the module), which copies it.
    pub fn parse_split_btf(self, base: Arc<Btf<'a>>) -> Result<Btf<'a>, BtfFileError> {
        let path = self.path;
        let btf = match &self.btf_base {
            Some(distilled) => {
                let relocated = crate::split_base::relocate_module_btf(&self.btf, distilled, &base)
                    .map_err(|source| BtfFileError::Relocate {
                        path: path.clone(),
                        source,
                    })?;
                BtfBytes::from(relocated)
            }
            None => self.btf,
        };
        Btf::parse_with(btf, Some(base), Some(self.load))
            .map_err(|source| BtfFileError::Btf { path, source })
    }
}

impl BtfFile<'static> {
    /// Opens a file holding BTF, whatever its format (see the [module documentation](self)).
    ///
    /// # Examples
    ///
    /// ```
    /// use core_reloc::btf::BtfBuilder;
    /// use core_reloc::btf_file::{BtfFile, Container};
    /// use core_reloc::btf::LoadMethod;
    /// let path = std::env::temp_dir().join(format!("btf-file-doc-{}", std::process::id()));
    /// std::fs::write(&path, BtfBuilder::new().build())?;
    /// let file = BtfFile::open(&path)?;
    /// assert_eq!((file.format.container, file.load.method), (Container::RawBtf, LoadMethod::Mapped));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<BtfFile<'static>, BtfFileError> {
        BtfFile::open_with_limit(path, MAX_INFLATED_LEN)
    }

    /// Like [`open`](Self::open), inflating a compressed file to at most `limit` bytes.
    pub fn open_with_limit(
        path: impl AsRef<Path>,
        limit: u64,
    ) -> Result<BtfFile<'static>, BtfFileError> {
        let path = path.as_ref();
        let (file, bytes, load) = load::map_or_read(path)?;
        let mut found = from_bytes(bytes, load, Some(&file), limit, None)
            .map_err(|error| error.with_path(path))?;
        found.path = Some(path.to_owned());
        Ok(found)
    }
}

impl Btf<'static> {
    /// Reads and parses a BTF file of any format [`BtfFile`] knows (raw BTF, an ELF's `.BTF`,
    /// xz or zstd compressed), memory-mapping it where the file system allows.
    /// [`Btf::load_info`] tells how the bytes were obtained.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let vmlinux = core_reloc::Btf::from_file("/sys/kernel/btf/vmlinux")?;
    /// let vmlinux_elf = core_reloc::Btf::from_file("/usr/lib/debug/boot/vmlinux-6.12.0")?;
    /// assert_eq!(vmlinux.type_count(), vmlinux_elf.type_count());
    /// # Ok::<(), core_reloc::btf_file::BtfFileError>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Btf<'static>, BtfFileError> {
        BtfFile::open(path)?.parse_btf()
    }
}

impl<'a> Btf<'a> {
    /// Like [`Btf::from_file`], for split BTF (e.g. `/sys/kernel/btf/btrfs` or `btrfs.ko.xz`)
    /// on `base`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// let vmlinux = Arc::new(core_reloc::Btf::from_file("/sys/kernel/btf/vmlinux")?);
    /// let btrfs = core_reloc::Btf::from_file_split("/sys/kernel/btf/btrfs", vmlinux)?;
    /// # Ok::<(), core_reloc::btf_file::BtfFileError>(())
    /// ```
    pub fn from_file_split(
        path: impl AsRef<Path>,
        base: Arc<Btf<'a>>,
    ) -> Result<Btf<'a>, BtfFileError> {
        BtfFile::open(path)?.parse_split_btf(base)
    }
}

/// Finds the BTF in `bytes`. `file` is the file they were mapped from, to map sections on
/// their own; `inflated` the compression already undone (there is no second layer).
fn from_bytes<'a>(
    bytes: BtfBytes<'a>,
    load: LoadInfo,
    file: Option<&File>,
    limit: u64,
    inflated: Option<Compression>,
) -> Result<BtfFile<'a>, BtfFileError> {
    let format = |container| FileFormat {
        container,
        compression: inflated,
    };
    match sniff(&bytes) {
        Magic::Btf => Ok(BtfFile {
            btf: bytes,
            btf_base: None,
            format: format(Container::RawBtf),
            load,
            path: None,
        }),
        Magic::Elf => {
            let located = locate_in_elf(&bytes[..]).map_err(elf_error)?;
            let section = |range| section_bytes(&bytes, file, range);
            let btf = section(located.btf);
            let btf_base = located.btf_base.map(section);
            let load = match &btf {
                // Only the section is mapped: that is what it costs.
                BtfBytes::Mapped(map) if load.method == LoadMethod::Mapped => LoadInfo {
                    method: LoadMethod::Mapped,
                    bytes: map.len(),
                },
                _ => load,
            };
            Ok(BtfFile {
                btf,
                btf_base,
                format: format(Container::Elf),
                load,
                path: None,
            })
        }
        Magic::Compressed(compression) if inflated.is_none() => {
            let plain =
                inflate::inflate(compression, &bytes, limit).map_err(|error| match error {
                    inflate::InflateError::TooLarge => BtfFileError::TooLarge {
                        path: None,
                        compression,
                        limit,
                    },
                    inflate::InflateError::Corrupt(source) => BtfFileError::Corrupt {
                        path: None,
                        compression,
                        source,
                    },
                })?;
            let load = LoadInfo {
                method: LoadMethod::Decompressed,
                bytes: bytes.len(),
            };
            drop(bytes);
            from_bytes(BtfBytes::Owned(plain), load, None, limit, Some(compression))
        }
        Magic::Compressed(_) | Magic::Unknown => Err(BtfFileError::UnknownFormat {
            path: None,
            inflated,
            magic: bytes[..bytes.len().min(MAGIC_LEN)].to_vec(),
        }),
    }
}

/// A section's bytes: borrowed from borrowed input, mapped on its own from a mapped file,
/// copied otherwise. `range` was checked against the data by [`locate_in_elf`].
fn section_bytes<'a>(
    bytes: &BtfBytes<'a>,
    file: Option<&File>,
    (offset, size): (u64, u64),
) -> BtfBytes<'a> {
    // Both fit: the range lies inside `bytes`, whose length is a usize.
    let range = offset as usize..(offset + size) as usize;
    match bytes {
        BtfBytes::Borrowed(all) => BtfBytes::Borrowed(&all[range]),
        BtfBytes::Mapped(_) if file.is_some() => file
            .and_then(|file| load::map_range(file, offset, size))
            .unwrap_or_else(|| BtfBytes::Owned(bytes[range].to_vec())),
        _ => BtfBytes::Owned(bytes[range].to_vec()),
    }
}

pub(crate) fn elf_error(error: ElfBtfError) -> BtfFileError {
    match error {
        ElfBtfError::Malformed(source) => BtfFileError::Elf { path: None, source },
        ElfBtfError::NoBtf => BtfFileError::NoBtfSection { path: None },
        ElfBtfError::Compressed(section) => BtfFileError::CompressedSection {
            path: None,
            section,
        },
        ElfBtfError::OutOfBounds {
            section,
            offset,
            size,
            file_len,
        } => BtfFileError::SectionOutOfBounds {
            path: None,
            section,
            offset,
            size,
            file_len,
        },
    }
}
