//! Helpers for the unit tests that write small BPF ELF objects with `object::write`.

use object::write::{Object as ElfWriter, Relocation, SectionId, SymbolId};
use object::{RelocationFlags, elf};

/// One BPF instruction: `code`, source register `src`, immediate `imm`.
pub(crate) fn insn(code: u8, src: u8, imm: i32) -> [u8; 8] {
    let mut bytes = [0; 8];
    bytes[0] = code;
    bytes[1] = src << 4;
    bytes[4..].copy_from_slice(&imm.to_le_bytes());
    bytes
}

/// An ELF relocation of `r_type` against `symbol` at `offset` of `section`.
pub(crate) fn relocate(
    writer: &mut ElfWriter<'_>,
    section: SectionId,
    offset: u64,
    symbol: SymbolId,
    r_type: elf::RelocationType,
) {
    writer
        .add_relocation(
            section,
            Relocation {
                offset,
                symbol,
                addend: 0,
                flags: RelocationFlags::Elf { r_type },
            },
        )
        .unwrap();
}
