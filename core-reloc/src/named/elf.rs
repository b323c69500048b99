//! Named relocations in the ELF object: finding them (`R_BPF_64_64` relocations of program
//! sections against undefined `core_reloc:` symbols) and applying them (the value written
//! into the `ld_imm64`, the relocation entry removed).
//!
//! Removing an entry moves the section's later entries down and shrinks its `sh_size` in the
//! section header; the file keeps its size (the freed tail is unreferenced).

use object::Endianness;
use object::elf::{FileHeader64, SHT_REL};
use object::read::elf::{FileHeader, SectionHeader, Sym};

use crate::fixup::{Fixup, RelocationSite};
use crate::object::BpfObject;
use crate::patch::{INSN_SIZE, PatchError, Patched, apply_fixup};

use super::{NameError, NamedReloc};

/// `R_BPF_64_64`: a 64-bit immediate of an `ld_imm64` takes the symbol's address.
const R_BPF_64_64: u32 = 1;
/// Size of an `Elf64_Rel`.
const REL_SIZE: usize = 16;
/// Offset of `sh_size` in an `Elf64_Shdr`.
const SH_SIZE_OFFSET: usize = 32;

/// One use of a named relocation: an `ld_imm64` of a program section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedSite {
    /// Where it applies. `record_index` numbers named relocations after the object's
    /// `.BTF.ext` records, in relocation-section order.
    pub site: RelocationSite,
    /// The symbol's name, as written in the object.
    pub symbol: String,
    /// What the name asks for.
    pub reloc: NamedReloc,
    /// ELF index of the relocation section holding the entry.
    rel_section: usize,
    /// Index of the entry in that section.
    rel_entry: usize,
}

impl NamedSite {
    /// A site that is in no object, for engine tests.
    #[cfg(test)]
    pub(crate) fn for_test(site: RelocationSite, symbol: &str) -> NamedSite {
        NamedSite {
            site,
            symbol: symbol.to_string(),
            reloc: NamedReloc::parse(symbol)
                .expect("well-formed")
                .expect("a named relocation"),
            rel_section: 0,
            rel_entry: 0,
        }
    }
}

/// Why an object's named relocations cannot be read or applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NamedElfError {
    /// The ELF headers, relocation sections or symbol table are malformed.
    #[error("reading relocations: {0}")]
    Elf(#[from] object::read::Error),
    /// A `core_reloc:` symbol whose name does not follow the grammar.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A `core_reloc:` symbol used by something other than an `ld_imm64` of a program.
    #[error(
        "named relocation {symbol:?} is used by relocation type {r_type} in section {section:?}: only R_BPF_64_64 on a program's ld_imm64 can carry it"
    )]
    NotAnImmediate {
        /// The symbol.
        symbol: String,
        /// The section whose relocation names it.
        section: String,
        /// The ELF relocation type.
        r_type: u32,
    },
    /// A relocation offset that is not an instruction of its section.
    #[error(
        "named relocation {symbol:?} points at byte {offset} of section {section:?}, not at an instruction"
    )]
    BadOffset {
        /// The symbol.
        symbol: String,
        /// The program section.
        section: String,
        /// The relocation's `r_offset`.
        offset: u64,
    },
    /// The fixups do not correspond one to one with the sites.
    #[error("{site}: no fixup, or not the named relocation's kind")]
    FixupMismatch {
        /// The site.
        site: RelocationSite,
    },
    /// Not one fixup per site.
    #[error("{fixups} fixup(s) for {sites} named relocation(s)")]
    FixupCount {
        /// Named relocation sites in the object.
        sites: usize,
        /// Fixups given.
        fixups: usize,
    },
    /// The instruction could not be patched.
    #[error("named relocation {symbol:?}: {source}")]
    Patch {
        /// The symbol.
        symbol: String,
        /// What went wrong.
        source: PatchError,
    },
}

/// Finds every named relocation of `object`; the first is numbered `first_index`.
///
/// ```no_run
/// use core_reloc::object::BpfObject;
/// let bytes = std::fs::read("probe.o").unwrap();
/// let object = BpfObject::parse(&bytes).unwrap();
/// for named in object.named_relocations() {
///     println!("insn {} of section {}: {}", named.site.insn_index, named.site.section_index, named.reloc);
/// }
/// ```
pub(crate) fn collect(
    object: &BpfObject<'_>,
    first_index: usize,
) -> Result<Vec<NamedSite>, NamedElfError> {
    let (data, endian) = (object.data(), object.endian());
    let header = FileHeader64::<Endianness>::parse(data)?;
    let sections = header.sections(endian, data)?;
    let symbols = sections.symbols(endian, data, object::elf::SHT_SYMTAB)?;
    let mut sites = Vec::new();
    for (index, section) in sections.enumerate() {
        let Some((entries, _)) = section.rel(endian, data)? else {
            continue;
        };
        let target = section.sh_info(endian) as usize;
        let program = object.program_section(target);
        for (entry_index, entry) in entries.iter().enumerate() {
            let symbol_index = entry.r_sym(endian);
            if symbol_index == 0 {
                continue;
            }
            let symbol = symbols.symbol(object::SymbolIndex(symbol_index as usize))?;
            if !symbol.is_undefined(endian) {
                continue;
            }
            let name = symbols.symbol_name(endian, symbol)?;
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let Some(reloc) = NamedReloc::parse(name)? else {
                continue;
            };
            let section_name = || match program {
                Some(program) => program.name.to_string(),
                None => sections
                    .section(object::SectionIndex(target))
                    .and_then(|section| sections.section_name(endian, section))
                    .map_or_else(
                        |_| format!("#{target}"),
                        |name| String::from_utf8_lossy(name).into_owned(),
                    ),
            };
            let r_type = entry.r_type(endian).0;
            let Some(program) = program.filter(|_| r_type == R_BPF_64_64) else {
                return Err(NamedElfError::NotAnImmediate {
                    symbol: name.to_string(),
                    section: section_name(),
                    r_type,
                });
            };
            let offset = entry.r_offset.get(endian);
            let insn_index = usize::try_from(offset)
                .ok()
                .filter(|offset| offset.is_multiple_of(INSN_SIZE))
                .map(|offset| offset / INSN_SIZE)
                // An ld_imm64 takes two slots.
                .filter(|insn| {
                    insn.checked_add(2)
                        .and_then(|end| end.checked_mul(INSN_SIZE))
                        .is_some_and(|end| end <= program.insns.len())
                })
                .ok_or_else(|| NamedElfError::BadOffset {
                    symbol: name.to_string(),
                    section: section_name(),
                    offset,
                })?;
            sites.push(NamedSite {
                site: RelocationSite {
                    record_index: first_index + sites.len(),
                    section_index: program.index,
                    insn_index,
                },
                symbol: name.to_string(),
                reloc,
                rel_section: index.0,
                rel_entry: entry_index,
            });
        }
    }
    Ok(sites)
}

/// Applies one fixup per named site to `bytes` (a copy of the object, possibly already
/// relocated for `.BTF.ext`) and removes the sites' relocation entries.
///
/// `fixups[i]` belongs to `object.named_relocations()[i]`. On error `bytes` may be partly
/// patched; callers discard it.
pub fn apply(
    object: &BpfObject<'_>,
    bytes: &mut [u8],
    fixups: &[Fixup],
) -> Result<Vec<(RelocationSite, Patched)>, NamedElfError> {
    let sites = object.named_relocations();
    if fixups.len() != sites.len() {
        return Err(NamedElfError::FixupCount {
            sites: sites.len(),
            fixups: fixups.len(),
        });
    }
    let mut outcomes = Vec::with_capacity(sites.len());
    for (position, named) in sites.iter().enumerate() {
        let fixup = fixups
            .get(position)
            .filter(|fixup| fixup.site == named.site && fixup.kind == named.reloc.kind)
            .ok_or(NamedElfError::FixupMismatch { site: named.site })?;
        let program = object
            .program_section(named.site.section_index)
            .ok_or(NamedElfError::FixupMismatch { site: named.site })?;
        let section = &mut bytes[program.file_offset..program.file_offset + program.insns.len()];
        let patched = apply_fixup(section, object.endian(), fixup).map_err(|source| {
            NamedElfError::Patch {
                symbol: named.symbol.clone(),
                source,
            }
        })?;
        outcomes.push((named.site, patched));
    }
    remove_entries(object, bytes, sites)?;
    Ok(outcomes)
}

/// Drops the relocation entries of `sites` from their sections.
fn remove_entries(
    object: &BpfObject<'_>,
    bytes: &mut [u8],
    sites: &[NamedSite],
) -> Result<(), NamedElfError> {
    let (data, endian) = (object.data(), object.endian());
    let header = FileHeader64::<Endianness>::parse(data)?;
    let sections = header.sections(endian, data)?;
    let mut rel_sections: Vec<usize> = sites.iter().map(|site| site.rel_section).collect();
    rel_sections.sort_unstable();
    rel_sections.dedup();
    for rel_section in rel_sections {
        let section = sections.section(object::SectionIndex(rel_section))?;
        debug_assert_eq!(section.sh_type(endian), SHT_REL);
        let start = section.sh_offset(endian) as usize;
        let count = section.sh_size(endian) as usize / REL_SIZE;
        let mut kept = 0;
        for entry in 0..count {
            let removed = sites
                .iter()
                .any(|site| site.rel_section == rel_section && site.rel_entry == entry);
            if removed {
                continue;
            }
            if kept != entry {
                let from = start + entry * REL_SIZE;
                bytes.copy_within(from..from + REL_SIZE, start + kept * REL_SIZE);
            }
            kept += 1;
        }
        let header_at = header.e_shoff(endian) as usize
            + rel_section * usize::from(header.e_shentsize(endian))
            + SH_SIZE_OFFSET;
        let size = (kept * REL_SIZE) as u64;
        let size = match endian {
            Endianness::Little => size.to_le_bytes(),
            Endianness::Big => size.to_be_bytes(),
        };
        bytes[header_at..header_at + 8].copy_from_slice(&size);
    }
    Ok(())
}
