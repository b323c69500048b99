//! Which code each program runs: its entry section plus the `.text` subprograms it reaches.
//!
//! A program is an executable section other than `.text` (all the functions in it). It reaches
//! a `.text` subprogram through a BPF-to-BPF call (`call` with `src_reg = 1`) or by taking
//! its address for a callback (`ld_imm64` relocated against a `.text` function, as
//! `bpf_loop` callbacks are); subprograms reach others the same way. Targets are computed as
//! libbpf does: with an ELF relocation, `symbol offset / 8 + imm + 1` for calls and
//! `(symbol offset + imm) / 8` for addresses; without one (a call within `.text`),
//! `insn + imm + 1`. A subprogram spans from its function symbol to the next one.

use std::collections::{BTreeSet, HashMap};

use object::Endianness;
use object::read::elf::ElfFile64;
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionIndex, SymbolKind};

use crate::object::BpfObject;
use crate::patch::INSN_SIZE;

/// The section that holds subprograms.
pub const TEXT_SECTION: &str = ".text";

const CALL: u8 = 0x85; // BPF_JMP | BPF_CALL
const LD_IMM64: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
const PSEUDO_CALL: u8 = 1;

/// A range of instructions in one section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InsnRange {
    /// ELF section index.
    pub section_index: usize,
    /// First instruction index.
    pub start: usize,
    /// One past the last instruction index.
    pub end: usize,
}

impl InsnRange {
    /// Whether the instruction `insn` of section `section_index` lies in the range.
    pub fn contains(&self, section_index: usize, insn: usize) -> bool {
        self.section_index == section_index && (self.start..self.end).contains(&insn)
    }
}

/// One program: its entry section and the subprograms it reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramCode<'a> {
    /// The entry section's name, e.g. `kprobe/btrfs_getattr`.
    pub section: &'a str,
    /// The entry section's ELF index.
    pub section_index: usize,
    /// The `.text` subprograms it reaches, directly or not, in address order.
    pub subprograms: Vec<InsnRange>,
}

impl ProgramCode<'_> {
    /// Whether the instruction `insn` of section `section_index` belongs to this program.
    pub fn contains(&self, section_index: usize, insn: usize) -> bool {
        section_index == self.section_index
            || self
                .subprograms
                .iter()
                .any(|range| range.contains(section_index, insn))
    }
}

/// Why the call graph could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallGraphError {
    /// The ELF symbols or relocations are unreadable.
    #[error("reading ELF symbols and relocations: {error}")]
    Elf {
        /// What the ELF reader says.
        error: object::read::Error,
    },
    /// A call or function address points outside `.text`'s instructions.
    #[error(
        "section {section:?} insn #{insn}: subprogram target {target} is not an instruction of {TEXT_SECTION}"
    )]
    BadTarget {
        /// The calling section.
        section: String,
        /// The instruction.
        insn: usize,
        /// The computed target instruction index.
        target: i64,
    },
    /// A call or function address points into a section other than `.text` (libbpf refuses
    /// these too).
    #[error(
        "section {section:?} insn #{insn}: subprogram target lies in section #{target_section}, not {TEXT_SECTION}"
    )]
    OutsideText {
        /// The calling section.
        section: String,
        /// The instruction.
        insn: usize,
        /// The target's ELF section index.
        target_section: usize,
    },
}

/// Where a relocation at one instruction points: the symbol's section and offset.
#[derive(Debug, Clone, Copy)]
struct RelocatedSymbol {
    section: Option<usize>,
    offset: u64,
    is_code: bool,
}

/// Every program of `object` with the subprograms it reaches, in section order.
///
/// ```no_run
/// use core_reloc::object::BpfObject;
/// let bytes = std::fs::read("probe.bpf.o")?;
/// let object = BpfObject::parse(&bytes)?;
/// for program in core_reloc::callgraph::programs(&object)? {
///     println!("{}: {} subprograms", program.section, program.subprograms.len());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn programs<'a>(object: &BpfObject<'a>) -> Result<Vec<ProgramCode<'a>>, CallGraphError> {
    let elf = ElfFile64::<Endianness>::parse(object.data())
        .map_err(|error| CallGraphError::Elf { error })?;
    let endian = object.endian();
    let text = object
        .program_sections()
        .iter()
        .find(|section| section.name == TEXT_SECTION);
    // Subprogram starts in .text, from its function symbols (and 0).
    let mut starts: BTreeSet<usize> = BTreeSet::new();
    if let Some(text) = text {
        starts.insert(0);
        for symbol in elf.symbols() {
            if symbol.kind() == SymbolKind::Text
                && symbol.section_index().map(|index| index.0) == Some(text.index)
            {
                starts.insert(symbol.address() as usize / INSN_SIZE);
            }
        }
    }
    let text_len = text.map_or(0, |text| text.insns.len() / INSN_SIZE);
    let subprogram_of = |insn: usize| -> InsnRange {
        let start = starts.range(..=insn).next_back().copied().unwrap_or(0);
        let end = starts
            .range(insn + 1..)
            .next()
            .copied()
            .unwrap_or(text_len)
            .min(text_len);
        InsnRange {
            section_index: text.map_or(0, |text| text.index),
            start,
            end,
        }
    };

    let mut relocations: HashMap<usize, HashMap<u64, RelocatedSymbol>> = HashMap::new();
    for section in object.program_sections() {
        let Ok(elf_section) = elf.section_by_index(SectionIndex(section.index)) else {
            continue;
        };
        let mut by_offset = HashMap::new();
        for (offset, relocation) in elf_section.relocations() {
            let RelocationTarget::Symbol(symbol) = relocation.target() else {
                continue;
            };
            let symbol = elf
                .symbol_by_index(symbol)
                .map_err(|error| CallGraphError::Elf { error })?;
            by_offset.insert(
                offset,
                RelocatedSymbol {
                    section: symbol.section_index().map(|index| index.0),
                    offset: symbol.address(),
                    is_code: matches!(symbol.kind(), SymbolKind::Text | SymbolKind::Section),
                },
            );
        }
        relocations.insert(section.index, by_offset);
    }

    let mut programs = Vec::new();
    for entry in object.program_sections() {
        if entry.name == TEXT_SECTION {
            continue;
        }
        let mut reached: BTreeSet<InsnRange> = BTreeSet::new();
        let mut work = vec![InsnRange {
            section_index: entry.index,
            start: 0,
            end: entry.insns.len() / INSN_SIZE,
        }];
        while let Some(range) = work.pop() {
            let section = object
                .program_section(range.section_index)
                .expect("ranges name program sections");
            let no_relocations = HashMap::new();
            let relocated = relocations.get(&section.index).unwrap_or(&no_relocations);
            let mut insn = range.start;
            while insn < range.end {
                let at = insn * INSN_SIZE;
                let Some(bytes) = section.insns.get(at..at + INSN_SIZE) else {
                    break;
                };
                let code = bytes[0];
                let src = match endian {
                    Endianness::Little => bytes[1] >> 4,
                    Endianness::Big => bytes[1] & 0x0f,
                };
                let imm_bytes = [bytes[4], bytes[5], bytes[6], bytes[7]];
                let imm = i64::from(match endian {
                    Endianness::Little => i32::from_le_bytes(imm_bytes),
                    Endianness::Big => i32::from_be_bytes(imm_bytes),
                });
                let symbol = relocated.get(&(at as u64));
                let target = if code == CALL && src == PSEUDO_CALL {
                    match symbol {
                        // An extern (a kfunc): resolved by the loader, not code of ours.
                        Some(symbol) if symbol.section.is_none() => None,
                        Some(symbol) => Some((
                            symbol.section,
                            (symbol.offset / INSN_SIZE as u64) as i64 + imm + 1,
                        )),
                        None => Some((Some(section.index), insn as i64 + imm + 1)),
                    }
                } else if code == LD_IMM64 {
                    symbol
                        .filter(|symbol| symbol.is_code && symbol.section == text.map(|t| t.index))
                        .map(|symbol| {
                            (
                                symbol.section,
                                (symbol.offset as i64 + imm) / INSN_SIZE as i64,
                            )
                        })
                } else {
                    None
                };
                insn += if code == LD_IMM64 { 2 } else { 1 };
                let Some((target_section, target)) = target else {
                    continue;
                };
                let call_site = insn - if code == LD_IMM64 { 2 } else { 1 };
                if target_section == Some(entry.index) && section.index == entry.index {
                    // A call within the entry section: already part of the program.
                    continue;
                }
                if text.is_none_or(|text| Some(text.index) != target_section) {
                    return Err(CallGraphError::OutsideText {
                        section: section.name.to_string(),
                        insn: call_site,
                        target_section: target_section.unwrap_or(0),
                    });
                }
                let Some(target_insn) = usize::try_from(target).ok().filter(|&t| t < text_len)
                else {
                    return Err(CallGraphError::BadTarget {
                        section: section.name.to_string(),
                        insn: call_site,
                        target,
                    });
                };
                let subprogram = subprogram_of(target_insn);
                if reached.insert(subprogram) {
                    work.push(subprogram);
                }
            }
        }
        programs.push(ProgramCode {
            section: entry.name,
            section_index: entry.index,
            subprograms: reached.into_iter().collect(),
        });
    }
    Ok(programs)
}

#[cfg(test)]
mod tests {
    use object::write::{Object as ElfWriter, Symbol, SymbolId, SymbolSection};
    use object::{Architecture, BinaryFormat, SectionKind, SymbolFlags, SymbolScope, elf};

    use super::*;
    use crate::test_elf::{insn, relocate};

    const EXIT: u8 = 0x95;

    fn function(
        writer: &mut ElfWriter<'_>,
        name: &str,
        section: SymbolSection,
        value: u64,
    ) -> SymbolId {
        writer.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value,
            size: 16,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section,
            flags: SymbolFlags::None,
        })
    }

    /// `.text` holds f0 (calls f1 within .text), f1, f2 (a callback) and f3 (never
    /// reached); `kprobe/x` calls f0 through its symbol, takes f2's address through the
    /// section symbol and calls an extern kfunc; `kprobe/y` calls past the end of `.text`
    /// when `bad` is set.
    fn object(bad: bool) -> Vec<u8> {
        let mut writer = ElfWriter::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);
        let text = writer.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
        let mut code = Vec::new();
        code.extend(insn(CALL, PSEUDO_CALL, 1)); // f0: call f1 (insn 0 + 1 + 1)
        code.extend(insn(EXIT, 0, 0));
        for _ in 0..6 {
            code.extend(insn(EXIT, 0, 0)); // f1, f2, f3
        }
        writer.append_section_data(text, &code, 8);
        let f0 = function(&mut writer, "f0", SymbolSection::Section(text), 0);
        for (name, value) in [("f1", 16), ("f2", 32), ("f3", 48)] {
            function(&mut writer, name, SymbolSection::Section(text), value);
        }
        let text_symbol = writer.section_symbol(text);
        let kfunc = function(&mut writer, "bpf_kfunc", SymbolSection::Undefined, 0);

        let program = writer.add_section(Vec::new(), b"kprobe/x".to_vec(), SectionKind::Text);
        let mut code = Vec::new();
        code.extend(insn(CALL, PSEUDO_CALL, -1));
        code.extend(insn(LD_IMM64, 0, 32));
        code.extend([0; 8]);
        code.extend(insn(CALL, PSEUDO_CALL, -1));
        code.extend(insn(EXIT, 0, 0));
        writer.append_section_data(program, &code, 8);
        relocate(&mut writer, program, 0, f0, elf::R_BPF_64_32);
        relocate(&mut writer, program, 8, text_symbol, elf::R_BPF_64_64);
        relocate(&mut writer, program, 24, kfunc, elf::R_BPF_64_32);
        if bad {
            let other = writer.add_section(Vec::new(), b"kprobe/y".to_vec(), SectionKind::Text);
            let mut code = Vec::new();
            code.extend(insn(CALL, PSEUDO_CALL, 100));
            code.extend(insn(EXIT, 0, 0));
            writer.append_section_data(other, &code, 8);
            relocate(&mut writer, other, 0, text_symbol, elf::R_BPF_64_32);
        }
        writer.write().unwrap()
    }

    #[test]
    fn calls_callbacks_and_nested_calls_are_followed_and_externs_skipped() {
        let bytes = object(false);
        let object = BpfObject::parse(&bytes).unwrap();
        let text = object
            .program_sections()
            .iter()
            .find(|s| s.name == TEXT_SECTION)
            .unwrap()
            .index;
        let programs = programs(&object).unwrap();
        assert_eq!(programs.len(), 1);
        assert_eq!(programs[0].section, "kprobe/x");
        let range = |start, end| InsnRange {
            section_index: text,
            start,
            end,
        };
        assert_eq!(
            programs[0].subprograms,
            [range(0, 2), range(2, 4), range(4, 6)]
        );
        assert!(programs[0].contains(text, 5));
        assert!(!programs[0].contains(text, 6), "f3 is never reached");
    }

    #[test]
    fn a_call_past_the_end_of_text_is_an_error() {
        let bytes = object(true);
        let object = BpfObject::parse(&bytes).unwrap();
        let error = programs(&object).unwrap_err();
        assert!(
            matches!(
                &error,
                CallGraphError::BadTarget { section, insn: 0, target: 101 } if section == "kprobe/y"
            ),
            "{error}"
        );
    }
}
