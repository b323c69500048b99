//! Applying a [`Fixup`] to the instruction it names.
//!
//! Relocatable instruction forms (as in libbpf):
//! - `ALU`/`ALU64` with an immediate source (`rX = imm`, `rX += imm`, ...): the `imm` field;
//! - `LDX`/`ST`/`STX` (`rX = *(T *)(rY + off)`, `*(T *)(rX + off) = rY | imm`): the `off`
//!   field, and the access size when a `byte_off` field changed size;
//! - `LD_IMM64` (`rX = imm64 ll`): both 32-bit halves.
//!
//! Where we differ from libbpf on purpose:
//! - the instruction form is checked before poisoning, so a record pointing at the wrong
//!   instruction is an error, not a silently poisoned instruction;
//! - `orig_val` is validated before poisoning too (unless `validate` is false);
//! - an ALU immediate that cannot hold the new value (libbpf truncates it) is an error, and the
//!   original value is compared as the instruction sees it (sign-extended for ALU64,
//!   32 bits for ALU).
//!
//! Poisoning writes `call 0xbad2310` (an unknown helper the verifier reports if reached); both
//! slots of an `LD_IMM64` are poisoned, as libbpf does, so the second slot is never left as a
//! lone half that the verifier would report as an unknown opcode.

use std::fmt;

use crate::bytes::{Endian, Endianness, Reader};
use crate::ext::CoreReloKind;
use crate::fixup::{Fixup, PoisonReason, RelocationSite};

/// Size of one BPF instruction slot.
pub const INSN_SIZE: usize = 8;
/// The helper id of a poisoned instruction: `0xbad2310`, "bad relo".
pub const POISON_HELPER_ID: i32 = 0x0bad_2310;

const CLASS_MASK: u8 = 0x07;
const CLASS_LD: u8 = 0x00;
const CLASS_LDX: u8 = 0x01;
const CLASS_ST: u8 = 0x02;
const CLASS_STX: u8 = 0x03;
const CLASS_ALU: u8 = 0x04;
const CLASS_JMP: u8 = 0x05;
const CLASS_ALU64: u8 = 0x07;
const SOURCE_REG: u8 = 0x08;
const SIZE_MASK: u8 = 0x18;
const LD_IMM64: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
const CALL: u8 = 0x80 | CLASS_JMP;

/// The instruction form a fixup was applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsnForm {
    /// 32-bit ALU with an immediate.
    Alu,
    /// 64-bit ALU with an immediate.
    Alu64,
    /// Memory load `LDX`.
    Ldx,
    /// Memory store of an immediate `ST`.
    St,
    /// Memory store of a register `STX`.
    Stx,
    /// 64-bit immediate load over two slots.
    LdImm64,
}

impl fmt::Display for InsnForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Alu => "ALU",
            Self::Alu64 => "ALU64",
            Self::Ldx => "LDX",
            Self::St => "ST",
            Self::Stx => "STX",
            Self::LdImm64 => "LD_IMM64",
        })
    }
}

/// What [`apply_fixup`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Patched {
    /// The value was replaced (possibly by the same value).
    Rewritten {
        /// The instruction form.
        form: InsnForm,
        /// The value the instruction held (`imm`, `off` or the 64-bit immediate).
        old: u64,
        /// The value written.
        new: u64,
        /// `(old, new)` access size in bytes when an LDX/ST/STX size was rewritten.
        size_change: Option<(u32, u32)>,
    },
    /// The instruction was replaced by `call 0xbad2310`.
    Poisoned {
        /// The instruction form before poisoning.
        form: InsnForm,
        /// Why.
        reason: PoisonReason,
    },
}

/// Why a fixup could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchErrorReason {
    /// The instruction lies outside the section.
    #[error("instruction is outside the {section_len}-byte section")]
    OutOfBounds {
        /// Section length in bytes.
        section_len: usize,
    },
    /// The instruction is not one of the relocatable forms.
    #[error("instruction with opcode {code:#04x} cannot be relocated")]
    UnsupportedInstruction {
        /// The opcode byte.
        code: u8,
    },
    /// An ALU instruction with a register source has no immediate to relocate.
    #[error("ALU instruction with opcode {code:#04x} takes a register, not an immediate")]
    AluRegisterSource {
        /// The opcode byte.
        code: u8,
    },
    /// An LD_IMM64 whose second slot is missing or whose fields are not those of a plain
    /// 64-bit constant.
    #[error("LD_IMM64 has an unexpected form (pseudo source, offset, or missing second slot)")]
    MalformedLdImm64,
    /// The instruction does not hold the value the compiler was expected to write.
    #[error("{form} instruction holds {found}, expected {expected}")]
    UnexpectedValue {
        /// The instruction form.
        form: InsnForm,
        /// The value found (as the instruction interprets it).
        found: i64,
        /// The value expected from local BTF.
        expected: u64,
    },
    /// A memory offset that does not fit the 16-bit `off` field.
    #[error("{form} offset {new} does not fit in a signed 16-bit offset")]
    OffsetTooLarge {
        /// The instruction form.
        form: InsnForm,
        /// The value that did not fit.
        new: u64,
    },
    /// A value the ALU immediate cannot represent for this instruction.
    #[error("{form} immediate cannot represent {new}")]
    ImmediateTooLarge {
        /// The instruction form.
        form: InsnForm,
        /// The value that did not fit.
        new: u64,
    },
    /// The access size of the instruction is not the local field's size.
    #[error("{form} accesses {found} bytes, the local field has {expected}")]
    UnexpectedMemSize {
        /// The instruction form.
        form: InsnForm,
        /// Access size in the instruction.
        found: u32,
        /// Local field size.
        expected: u32,
    },
    /// The target field size is not an access size (1, 2, 4 or 8).
    #[error("target field size {0} is not a memory access size")]
    InvalidMemSize(u32),
}

/// A fixup that could not be applied, naming the relocation and instruction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{site} ({kind}): {reason}")]
pub struct PatchError {
    /// The relocation.
    pub site: RelocationSite,
    /// Its kind.
    pub kind: CoreReloKind,
    /// What went wrong.
    pub reason: PatchErrorReason,
}

/// Applies `fixup` to instruction `fixup.site.insn_index` of `section`, the bytes of the ELF
/// section named by `fixup.site.section_index`, in byte order `endian`.
///
/// On error the section is left unchanged.
///
/// ```
/// use core_reloc::ext::CoreReloKind;
/// use core_reloc::fixup::{Fixup, RelocationSite};
/// use core_reloc::patch::{apply_fixup, Patched};
/// use core_reloc::bytes::Endianness;
/// // r1 = *(u32 *)(r2 + 8)
/// let mut section = [0x61, 0x21, 8, 0, 0, 0, 0, 0];
/// let site = RelocationSite { record_index: 0, section_index: 2, insn_index: 0 };
/// let fixup = Fixup::rewrite(site, CoreReloKind::FieldByteOffset, 8, 24);
/// let done = apply_fixup(&mut section, Endianness::Little, &fixup).unwrap();
/// assert!(matches!(done, Patched::Rewritten { old: 8, new: 24, .. }));
/// assert_eq!(section, [0x61, 0x21, 24, 0, 0, 0, 0, 0]);
/// ```
pub fn apply_fixup(
    section: &mut [u8],
    endian: Endianness,
    fixup: &Fixup,
) -> Result<Patched, PatchError> {
    let error = |reason| PatchError {
        site: fixup.site,
        kind: fixup.kind,
        reason,
    };
    let start = fixup
        .site
        .insn_index
        .checked_mul(INSN_SIZE)
        .filter(|start| {
            start
                .checked_add(INSN_SIZE)
                .is_some_and(|end| end <= section.len())
        })
        .ok_or_else(|| {
            error(PatchErrorReason::OutOfBounds {
                section_len: section.len(),
            })
        })?;
    let insns = &mut section[start..];
    let first = Insn::read(&insns[..INSN_SIZE], endian);
    let form = classify(&first, insns, endian).map_err(error)?;

    let outcome = match form {
        InsnForm::Alu | InsnForm::Alu64 => patch_alu(insns, endian, form, fixup),
        InsnForm::Ldx | InsnForm::St | InsnForm::Stx => patch_mem(insns, endian, form, fixup),
        InsnForm::LdImm64 => patch_ld_imm64(insns, endian, fixup),
    };
    outcome.map_err(error)
}

/// Decodes the form and checks it is relocatable. Runs before anything is written.
fn classify(first: &Insn, insns: &[u8], endian: Endianness) -> Result<InsnForm, PatchErrorReason> {
    match first.code & CLASS_MASK {
        CLASS_ALU | CLASS_ALU64 if first.code & SOURCE_REG != 0 => {
            Err(PatchErrorReason::AluRegisterSource { code: first.code })
        }
        CLASS_ALU => Ok(InsnForm::Alu),
        CLASS_ALU64 => Ok(InsnForm::Alu64),
        CLASS_LDX => Ok(InsnForm::Ldx),
        CLASS_ST => Ok(InsnForm::St),
        CLASS_STX => Ok(InsnForm::Stx),
        CLASS_LD if first.code == LD_IMM64 => {
            let second = insns
                .get(INSN_SIZE..2 * INSN_SIZE)
                .map(|bytes| Insn::read(bytes, endian))
                .ok_or(PatchErrorReason::MalformedLdImm64)?;
            let plain = first.src_reg(endian) == 0
                && first.off == 0
                && second.code == 0
                && second.regs == 0
                && second.off == 0;
            if plain {
                Ok(InsnForm::LdImm64)
            } else {
                Err(PatchErrorReason::MalformedLdImm64)
            }
        }
        _ => Err(PatchErrorReason::UnsupportedInstruction { code: first.code }),
    }
}

fn patch_alu(
    insns: &mut [u8],
    endian: Endianness,
    form: InsnForm,
    fixup: &Fixup,
) -> Result<Patched, PatchErrorReason> {
    let mut insn = Insn::read(&insns[..INSN_SIZE], endian);
    // The value the instruction produces: ALU64 sign-extends imm, ALU works on 32 bits.
    let found = match form {
        InsnForm::Alu64 => i64::from(insn.imm),
        _ => i64::from(insn.imm as u32),
    };
    let holds_orig = match form {
        InsnForm::Alu64 => fixup.orig_val as i64 == i64::from(insn.imm),
        _ => imm_for_alu32(fixup.orig_val) == Some(insn.imm),
    };
    if fixup.validate && !holds_orig {
        return Err(PatchErrorReason::UnexpectedValue {
            form,
            found,
            expected: fixup.orig_val,
        });
    }
    if let Some(reason) = fixup.poison {
        poison(insns, endian, 1);
        return Ok(Patched::Poisoned { form, reason });
    }
    let imm = match form {
        InsnForm::Alu64 => i32::try_from(fixup.new_val as i64).ok(),
        _ => imm_for_alu32(fixup.new_val),
    }
    .ok_or(PatchErrorReason::ImmediateTooLarge {
        form,
        new: fixup.new_val,
    })?;
    insn.imm = imm;
    insn.write(&mut insns[..INSN_SIZE], endian);
    Ok(Patched::Rewritten {
        form,
        old: found as u64,
        new: fixup.new_val,
        size_change: None,
    })
}

/// The 32-bit immediate for a value a 32-bit ALU operation must produce: any value that fits
/// in 32 bits, unsigned or sign-extended.
fn imm_for_alu32(value: u64) -> Option<i32> {
    u32::try_from(value)
        .map(|v| v as i32)
        .ok()
        .or_else(|| i32::try_from(value as i64).ok())
}

fn patch_mem(
    insns: &mut [u8],
    endian: Endianness,
    form: InsnForm,
    fixup: &Fixup,
) -> Result<Patched, PatchErrorReason> {
    let mut insn = Insn::read(&insns[..INSN_SIZE], endian);
    if fixup.validate && fixup.orig_val as i64 != i64::from(insn.off) {
        return Err(PatchErrorReason::UnexpectedValue {
            form,
            found: i64::from(insn.off),
            expected: fixup.orig_val,
        });
    }
    if let Some(reason) = fixup.poison {
        poison(insns, endian, 1);
        return Ok(Patched::Poisoned { form, reason });
    }
    let off = i16::try_from(fixup.new_val).map_err(|_| PatchErrorReason::OffsetTooLarge {
        form,
        new: fixup.new_val,
    })?;
    let mut size_change = None;
    if let Some(mem_size) = fixup.mem_size.filter(|m| m.changes()) {
        if !mem_size.resizable() {
            poison(insns, endian, 1);
            return Ok(Patched::Poisoned {
                form,
                reason: PoisonReason::MemSizeMismatch,
            });
        }
        let found = access_size(insn.code);
        if found != mem_size.local.size {
            return Err(PatchErrorReason::UnexpectedMemSize {
                form,
                found,
                expected: mem_size.local.size,
            });
        }
        let size_bits = size_bits(mem_size.target.size)
            .ok_or(PatchErrorReason::InvalidMemSize(mem_size.target.size))?;
        insn.code = (insn.code & !SIZE_MASK) | size_bits;
        size_change = Some((found, mem_size.target.size));
    }
    let old = i64::from(insn.off) as u64;
    insn.off = off;
    insn.write(&mut insns[..INSN_SIZE], endian);
    Ok(Patched::Rewritten {
        form,
        old,
        new: fixup.new_val,
        size_change,
    })
}

fn patch_ld_imm64(
    insns: &mut [u8],
    endian: Endianness,
    fixup: &Fixup,
) -> Result<Patched, PatchErrorReason> {
    let form = InsnForm::LdImm64;
    let mut low = Insn::read(&insns[..INSN_SIZE], endian);
    let mut high = Insn::read(&insns[INSN_SIZE..2 * INSN_SIZE], endian);
    let old = u64::from(low.imm as u32) | (u64::from(high.imm as u32) << 32);
    if fixup.validate && old != fixup.orig_val {
        return Err(PatchErrorReason::UnexpectedValue {
            form,
            found: old as i64,
            expected: fixup.orig_val,
        });
    }
    if let Some(reason) = fixup.poison {
        poison(insns, endian, 2);
        return Ok(Patched::Poisoned { form, reason });
    }
    low.imm = fixup.new_val as u32 as i32;
    high.imm = (fixup.new_val >> 32) as u32 as i32;
    low.write(&mut insns[..INSN_SIZE], endian);
    high.write(&mut insns[INSN_SIZE..2 * INSN_SIZE], endian);
    Ok(Patched::Rewritten {
        form,
        old,
        new: fixup.new_val,
        size_change: None,
    })
}

/// Replaces `slots` instructions by `call 0xbad2310`.
fn poison(insns: &mut [u8], endian: Endianness, slots: usize) {
    let call = Insn {
        code: CALL,
        regs: 0,
        off: 0,
        imm: POISON_HELPER_ID,
    };
    for slot in insns.as_chunks_mut::<INSN_SIZE>().0.iter_mut().take(slots) {
        call.write(slot, endian);
    }
}

/// Bytes accessed by an LDX/ST/STX with this opcode.
fn access_size(code: u8) -> u32 {
    match code & SIZE_MASK {
        0x00 => 4,
        0x08 => 2,
        0x10 => 1,
        _ => 8,
    }
}

fn size_bits(bytes: u32) -> Option<u8> {
    match bytes {
        4 => Some(0x00),
        2 => Some(0x08),
        1 => Some(0x10),
        8 => Some(0x18),
        _ => None,
    }
}

/// One decoded instruction slot.
#[derive(Debug, Clone, Copy)]
struct Insn {
    code: u8,
    /// dst and src registers, one nibble each; which nibble is which depends on byte order.
    regs: u8,
    off: i16,
    imm: i32,
}

impl Insn {
    /// Decodes the slot at the start of `bytes`, which callers have checked holds one.
    fn read(bytes: &[u8], endian: Endianness) -> Insn {
        let reader = Reader::new(bytes, endian);
        Insn {
            code: bytes[0],
            regs: bytes[1],
            off: reader.i16(2).unwrap_or(0),
            imm: reader.i32(4).unwrap_or(0),
        }
    }

    fn write(&self, bytes: &mut [u8], endian: Endianness) {
        bytes[0] = self.code;
        bytes[1] = self.regs;
        bytes[2..4].copy_from_slice(&endian.write_i16(self.off));
        bytes[4..8].copy_from_slice(&endian.write_i32(self.imm));
    }

    /// The source register: the high nibble on little-endian, the low one on big-endian
    /// (C bitfields `dst_reg:4, src_reg:4` are laid out from the other end).
    fn src_reg(&self, endian: Endianness) -> u8 {
        match endian {
            Endianness::Little => self.regs >> 4,
            Endianness::Big => self.regs & 0x0f,
        }
    }
}
