//! ELF in, ELF out: what the engine needs from a BPF object, and a relocated copy of it.
//!
//! [`BpfObject::parse`] finds `.BTF`, `.BTF.ext` and the program sections (every executable
//! section, `.text` subprograms included), and maps each `.BTF.ext` core_relo section name to
//! its ELF section, checking each record's instruction lies inside it.
//! [`BpfObject::relocate`] copies the object, patches every instruction in place at its file
//! offset (sizes never change) and sets the `.BTF.ext` header's `core_relo_len` to 0, so that
//! neither aya nor libbpf relocates the copy again.

use object::elf::{FileHeader64, SHF_EXECINSTR, SHT_NOBITS};
use object::read::elf::{FileHeader, SectionHeader};

use crate::btf::{BtfError, Header};
use crate::bytes::Endianness;
use crate::ext::{BtfExt, CoreRelo, ExtError};
use crate::fixup::{Fixup, RelocationSite};
use crate::named::elf::{NamedElfError, NamedSite};
use crate::patch::{INSN_SIZE, PatchError, Patched, apply_fixup};

/// Name of the section holding the object's BTF.
pub const BTF_SECTION: &str = ".BTF";
/// Name of the section holding func/line info and CO-RE records.
pub const BTF_EXT_SECTION: &str = ".BTF.ext";

/// Why an object could not be read or relocated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// Not a 64-bit ELF file, or its headers are out of bounds.
    #[error("not a readable 64-bit ELF object")]
    Elf(#[from] object::read::Error),
    /// A section's name is not UTF-8.
    #[error("ELF section #{index} has a name that is not UTF-8")]
    SectionName {
        /// ELF section index.
        index: usize,
    },
    /// `.BTF.ext` is malformed.
    #[error("{BTF_EXT_SECTION} is malformed")]
    Ext(#[from] ExtError),
    /// A named relocation (a `core_reloc:` extern symbol) is malformed or misused.
    #[error(transparent)]
    Named(#[from] NamedElfError),
    /// `.BTF.ext` has CO-RE records but there is no `.BTF` to name their sections.
    #[error("{BTF_EXT_SECTION} has CO-RE records but the object has no {BTF_SECTION}")]
    MissingBtf,
    /// `.BTF`'s header is malformed, so its strings cannot be read.
    #[error("{BTF_SECTION} header is malformed")]
    BadBtfHeader {
        /// What the BTF reader found wrong.
        #[source]
        source: BtfError,
    },
    /// `.BTF` is in the other byte order than the ELF header's.
    #[error("{BTF_SECTION} is in the opposite byte order of the object ({expected:?} expected)")]
    BtfByteOrderMismatch {
        /// The byte order of the object.
        expected: Endianness,
    },
    /// A name offset that is not the start of a string in `.BTF`.
    #[error("{BTF_SECTION} has no string at offset {offset}")]
    BadStringOffset {
        /// The offset.
        offset: u32,
    },
    /// A core_relo section names no executable ELF section.
    #[error("CO-RE records name section {name:?}, which is not a program section of the object")]
    UnknownSection {
        /// The name from `.BTF.ext`.
        name: String,
    },
    /// A core_relo section name matches several executable ELF sections.
    #[error("CO-RE records name section {name:?}, which several program sections share")]
    AmbiguousSection {
        /// The name from `.BTF.ext`.
        name: String,
    },
    /// A record's instruction offset is unaligned or outside its section.
    #[error(
        "CO-RE record #{record_index} points at byte {insn_off} of section {section:?} ({section_len} bytes), not at an instruction"
    )]
    BadInsnOffset {
        /// Global record index.
        record_index: usize,
        /// Section name.
        section: String,
        /// The record's `insn_off`.
        insn_off: u32,
        /// Section size.
        section_len: usize,
    },
    /// The fixups do not correspond one to one with the object's records.
    #[error("fixup for {site} does not match the object's records: {problem}")]
    FixupMismatch {
        /// The fixup's site.
        site: RelocationSite,
        /// What is wrong.
        problem: &'static str,
    },
    /// A record has no fixup; relocating without it would leave the compiled value in place.
    #[error("CO-RE record #{record_index} has no fixup")]
    MissingFixup {
        /// Global record index.
        record_index: usize,
    },
    /// A fixup could not be applied.
    #[error("a fixup in section {section:?} could not be applied")]
    Patch {
        /// The program section's name.
        section: String,
        /// The failure.
        source: PatchError,
    },
}

/// An executable ELF section: a program or `.text` subprograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramSection<'a> {
    /// ELF section index.
    pub index: usize,
    /// ELF section name, e.g. `kprobe/btrfs_getattr` or `.text`.
    pub name: &'a str,
    /// Offset of the section in the file.
    pub file_offset: usize,
    /// The instructions.
    pub insns: &'a [u8],
}

/// One CO-RE record with its resolved place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreReloRecord {
    /// Where the record applies; `site.record_index` orders records as in the file.
    pub site: RelocationSite,
    /// The record as stored.
    pub relo: CoreRelo,
}

/// The CO-RE records of one program section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionRecords<'a> {
    /// ELF section index.
    pub section_index: usize,
    /// ELF section name.
    pub section_name: &'a str,
    /// The records in file order.
    pub records: Vec<CoreReloRecord>,
}

/// The result of [`BpfObject::relocate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchedObject {
    /// The relocated object, the same size as the input.
    pub bytes: Vec<u8>,
    /// What was done for each fixup, in the order given.
    pub outcomes: Vec<(RelocationSite, Patched)>,
}

/// A BPF ELF object read over borrowed bytes.
///
/// ```no_run
/// use core_reloc::object::BpfObject;
/// let bytes = std::fs::read("probe.bpf.o").unwrap();
/// let object = BpfObject::parse(&bytes).unwrap();
/// for group in object.core_relocations() {
///     for record in &group.records {
///         println!("{} insn #{}: {}", group.section_name, record.site.insn_index, record.relo.kind);
///     }
/// }
/// // The engine turns records into fixups; then:
/// # let fixups = Vec::new();
/// let relocated = object.relocate(&fixups).unwrap();
/// std::fs::write("probe.relocated.o", relocated.bytes).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct BpfObject<'a> {
    data: &'a [u8],
    endian: Endianness,
    btf: Option<&'a [u8]>,
    btf_ext: Option<BtfExt<'a>>,
    /// File offset of `.BTF.ext`, to zero `core_relo_len` in the copy.
    btf_ext_file_offset: usize,
    programs: Vec<ProgramSection<'a>>,
    relocations: Vec<SectionRecords<'a>>,
    record_count: usize,
    /// Named relocations (see [`crate::named`]), numbered after the `.BTF.ext` records.
    named: Vec<NamedSite>,
}

impl<'a> BpfObject<'a> {
    /// Reads the ELF headers, `.BTF`, `.BTF.ext` and program sections of `data`.
    pub fn parse(data: &'a [u8]) -> Result<Self, ObjectError> {
        let header = FileHeader64::<Endianness>::parse(data)?;
        let endian = header.endian()?;
        let sections = header.sections(endian, data)?;

        let mut btf = None;
        let mut btf_ext_bytes = None;
        let mut programs = Vec::new();
        for (index, section) in sections.enumerate() {
            let index = index.0;
            let name = sections.section_name(endian, section)?;
            let name = std::str::from_utf8(name).map_err(|_| ObjectError::SectionName { index })?;
            let is_program = section.sh_flags(endian).contains(SHF_EXECINSTR);
            if !(is_program || name == BTF_SECTION || name == BTF_EXT_SECTION)
                || section.sh_type(endian) == SHT_NOBITS
            {
                continue;
            }
            let bytes = section.data(endian, data)?;
            let file_offset = section.sh_offset(endian) as usize;
            if is_program {
                programs.push(ProgramSection {
                    index,
                    name,
                    file_offset,
                    insns: bytes,
                });
            } else if name == BTF_SECTION {
                btf = Some(bytes);
            } else {
                btf_ext_bytes = Some((bytes, file_offset));
            }
        }

        let btf_ext = btf_ext_bytes
            .map(|(bytes, _)| BtfExt::parse(bytes, endian))
            .transpose()?;
        let mut object = BpfObject {
            data,
            endian,
            btf,
            btf_ext,
            btf_ext_file_offset: btf_ext_bytes.map_or(0, |(_, offset)| offset),
            programs,
            relocations: Vec::new(),
            record_count: 0,
            named: Vec::new(),
        };
        object.group_records()?;
        object.named = crate::named::elf::collect(&object, object.record_count)?;
        Ok(object)
    }

    fn group_records(&mut self) -> Result<(), ObjectError> {
        let Some(ext) = self.btf_ext.filter(|ext| ext.core_relo_count() > 0) else {
            return Ok(());
        };
        let strings = BtfStrings::new(self.btf.ok_or(ObjectError::MissingBtf)?, self.endian)?;
        for group in ext.core_relo_sections() {
            let name = strings.get(group.sec_name_off())?;
            let mut matching = self.programs.iter().filter(|p| p.name == name);
            let program = *matching.next().ok_or_else(|| ObjectError::UnknownSection {
                name: name.to_owned(),
            })?;
            if matching.next().is_some() {
                return Err(ObjectError::AmbiguousSection {
                    name: name.to_owned(),
                });
            }
            let mut records = Vec::new();
            for (position, relo) in group.records().enumerate() {
                let record_index = group.first_record_index() + position;
                let insn_off = relo.insn_off as usize;
                if !insn_off.is_multiple_of(INSN_SIZE) || insn_off >= program.insns.len() {
                    return Err(ObjectError::BadInsnOffset {
                        record_index,
                        section: name.to_owned(),
                        insn_off: relo.insn_off,
                        section_len: program.insns.len(),
                    });
                }
                records.push(CoreReloRecord {
                    site: RelocationSite {
                        record_index,
                        section_index: program.index,
                        insn_index: insn_off / INSN_SIZE,
                    },
                    relo,
                });
            }
            self.record_count += records.len();
            // Two groups may name the same section; keep one entry per section.
            match self
                .relocations
                .iter_mut()
                .find(|g| g.section_index == program.index)
            {
                Some(existing) => existing.records.extend(records),
                None => self.relocations.push(SectionRecords {
                    section_index: program.index,
                    section_name: program.name,
                    records,
                }),
            }
        }
        Ok(())
    }

    /// The object's byte order, from the ELF header.
    pub fn endian(&self) -> Endianness {
        self.endian
    }

    /// The whole object.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The object's own (local) BTF, the contents of `.BTF`.
    pub fn btf(&self) -> Option<&'a [u8]> {
        self.btf
    }

    /// The parsed `.BTF.ext`, if the object has one.
    pub fn btf_ext(&self) -> Option<&BtfExt<'a>> {
        self.btf_ext.as_ref()
    }

    /// Every executable section, in section-index order.
    pub fn program_sections(&self) -> &[ProgramSection<'a>] {
        &self.programs
    }

    /// The program section with this ELF index.
    pub fn program_section(&self, index: usize) -> Option<&ProgramSection<'a>> {
        self.programs.iter().find(|p| p.index == index)
    }

    /// CO-RE records grouped by program section, in `.BTF.ext` order.
    pub fn core_relocations(&self) -> &[SectionRecords<'a>] {
        &self.relocations
    }

    /// Every CO-RE record, in file order (by `site.record_index`).
    pub fn records(&self) -> impl Iterator<Item = &CoreReloRecord> {
        let mut all: Vec<&CoreReloRecord> = self
            .relocations
            .iter()
            .flat_map(|group| &group.records)
            .collect();
        all.sort_by_key(|record| record.site.record_index);
        all.into_iter()
    }

    /// Number of CO-RE records.
    pub fn record_count(&self) -> usize {
        self.record_count
    }

    /// The named relocations (extern `core_reloc:` symbols of `ld_imm64`s), in relocation
    /// section order; see [`crate::named`].
    pub fn named_relocations(&self) -> &[NamedSite] {
        &self.named
    }

    fn record(&self, site: &RelocationSite) -> Option<&CoreReloRecord> {
        self.relocations
            .iter()
            .find(|g| g.section_index == site.section_index)?
            .records
            .iter()
            .find(|r| r.site.record_index == site.record_index)
    }

    /// Returns a copy of the object with `fixups` applied and `core_relo_len` set to 0.
    ///
    /// There must be exactly one fixup per record, each with the record's site and kind: a
    /// record left out would keep its compiled value silently once the records are hidden.
    /// Fixups are applied in the order given.
    pub fn relocate(&self, fixups: &[Fixup]) -> Result<PatchedObject, ObjectError> {
        let mut seen = vec![false; self.record_count];
        for fixup in fixups {
            let mismatch = |problem| ObjectError::FixupMismatch {
                site: fixup.site,
                problem,
            };
            let record = self
                .record(&fixup.site)
                .ok_or_else(|| mismatch("no record has this index in this section"))?;
            if record.site != fixup.site {
                return Err(mismatch("the record is at another instruction"));
            }
            if record.relo.kind != fixup.kind {
                return Err(mismatch("the record has another kind"));
            }
            let seen = &mut seen[fixup.site.record_index];
            if std::mem::replace(seen, true) {
                return Err(mismatch("more than one fixup for this record"));
            }
        }
        if let Some(record_index) = seen.iter().position(|seen| !seen) {
            return Err(ObjectError::MissingFixup { record_index });
        }

        let mut bytes = self.data.to_vec();
        let mut outcomes = Vec::with_capacity(fixups.len());
        for fixup in fixups {
            let program = self
                .program_section(fixup.site.section_index)
                .expect("checked against the records above");
            let section =
                &mut bytes[program.file_offset..program.file_offset + program.insns.len()];
            let patched =
                apply_fixup(section, self.endian, fixup).map_err(|source| ObjectError::Patch {
                    section: program.name.to_owned(),
                    source,
                })?;
            outcomes.push((fixup.site, patched));
        }
        if let Some(field) = self
            .btf_ext
            .and_then(|ext| ext.core_relo_len_field_offset())
        {
            let at = self.btf_ext_file_offset + field;
            // Zero reads the same in both byte orders.
            bytes[at..at + 4].fill(0);
        }
        Ok(PatchedObject { bytes, outcomes })
    }
}

/// Just enough of `.BTF` to read names: its string section.
struct BtfStrings<'a> {
    strings: &'a [u8],
}

impl<'a> BtfStrings<'a> {
    /// The string section of `btf`, through the BTF reader's own header check.
    fn new(btf: &'a [u8], endian: Endianness) -> Result<Self, ObjectError> {
        let header = Header::parse(btf).map_err(|source| ObjectError::BadBtfHeader { source })?;
        if header.endian != endian {
            return Err(ObjectError::BtfByteOrderMismatch { expected: endian });
        }
        Ok(BtfStrings {
            strings: &btf[header.str_range()],
        })
    }

    fn get(&self, offset: u32) -> Result<&'a str, ObjectError> {
        let local = offset as usize;
        if local >= self.strings.len() {
            return Err(ObjectError::BadStringOffset { offset });
        }
        crate::btf::strings::bytes_at(self.strings, local, offset)
            .ok()
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .ok_or(ObjectError::BadStringOffset { offset })
    }
}
