//! Where `.BTF` and `.BTF.base` lie in an ELF file: section headers only, nothing else is read.
//!
//! `.BTF` is not an allocated section (it has no address), so its bytes are found through
//! the section header's file range, which works the same for vmlinux, modules and eBPF
//! objects of either class and byte order.

use object::read::elf::{FileHeader, SectionHeader};
use object::{FileKind, ReadRef, elf};

/// The `.BTF` section's name.
pub const BTF_SECTION: &str = ".BTF";
/// The distilled base BTF of a module built with `pahole --btf_features=distilled_base`.
pub const BTF_BASE_SECTION: &str = ".BTF.base";

/// File ranges `(offset, size)` of the BTF sections of an ELF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ElfBtf {
    pub(crate) btf: (u64, u64),
    pub(crate) btf_base: Option<(u64, u64)>,
}

/// Why an ELF file's BTF sections cannot be located.
#[derive(Debug)]
pub(crate) enum ElfBtfError {
    Malformed(object::Error),
    NoBtf,
    Compressed(&'static str),
    OutOfBounds {
        section: &'static str,
        offset: u64,
        size: u64,
        file_len: u64,
    },
}

impl From<object::Error> for ElfBtfError {
    fn from(error: object::Error) -> Self {
        ElfBtfError::Malformed(error)
    }
}

/// Locates `.BTF` (required) and `.BTF.base` (optional) in `data`, an ELF file.
pub(crate) fn locate<'d, R: ReadRef<'d>>(data: R) -> Result<ElfBtf, ElfBtfError> {
    match FileKind::parse(data)? {
        FileKind::Elf32 => locate_in::<elf::FileHeader32<object::Endianness>, R>(data),
        FileKind::Elf64 => locate_in::<elf::FileHeader64<object::Endianness>, R>(data),
        // Not reached after the magic check; parsing as ELF64 gives `object`'s own error.
        _ => locate_in::<elf::FileHeader64<object::Endianness>, R>(data),
    }
}

fn locate_in<'d, H: FileHeader, R: ReadRef<'d>>(data: R) -> Result<ElfBtf, ElfBtfError> {
    let header = H::parse(data)?;
    let endian = header.endian()?;
    let sections = header.sections(endian, data)?;
    // In-memory data always knows its length; a file read on demand whose length cannot be
    // had fails on the reads that follow instead.
    let file_len = data.len().unwrap_or(u64::MAX);
    let range = |name: &'static str| -> Result<Option<(u64, u64)>, ElfBtfError> {
        let Some((_, section)) = sections.section_by_name(endian, name.as_bytes()) else {
            return Ok(None);
        };
        if section.sh_flags(endian).contains(elf::SHF_COMPRESSED) {
            return Err(ElfBtfError::Compressed(name));
        }
        // SHT_NOBITS has no bytes in the file: as good as absent.
        let Some((offset, size)) = section.file_range(endian) else {
            return Ok(None);
        };
        if offset.checked_add(size).is_none_or(|end| end > file_len) {
            return Err(ElfBtfError::OutOfBounds {
                section: name,
                offset,
                size,
                file_len,
            });
        }
        Ok(Some((offset, size)))
    };
    let btf = range(BTF_SECTION)?.ok_or(ElfBtfError::NoBtf)?;
    let btf_base = range(BTF_BASE_SECTION)?;
    Ok(ElfBtf { btf, btf_base })
}
