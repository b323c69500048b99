//! The value a CO-RE relocation resolves to, computed by the engine and applied by
//! [`patch`](crate::patch).
//!
//! A [`Fixup`] says *what* the instruction must become, independent of the instruction's form:
//! the value the compiler wrote (computed from local BTF), the value the target needs, or that
//! the instruction must be poisoned. The patch step decides *how* (imm, off, both LD_IMM64
//! halves, memory access size) after looking at the instruction.

use std::fmt;

use crate::ext::CoreReloKind;

/// Which relocation a fixup belongs to, so every message can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelocationSite {
    /// Index of the record among all `.BTF.ext` core_relo records, in file order.
    pub record_index: usize,
    /// ELF section index of the program section that holds the instruction.
    pub section_index: usize,
    /// Instruction index inside that section (the record's `insn_off / 8`).
    pub insn_index: usize,
}

impl fmt::Display for RelocationSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "relocation #{} at insn #{} of section {}",
            self.record_index, self.insn_index, self.section_index
        )
    }
}

/// What kind of value a field holds, as far as resizing a load or store of it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldClass {
    /// A pointer: zero-extension keeps its value when a 32-bit kernel stores 4-byte pointers.
    Pointer,
    /// An unsigned integer (a BTF INT without the signed bit): zero-extension keeps its value.
    UnsignedInt,
    /// Anything else (signed integers, enums, structs, ...): resizing would change the value.
    Other,
}

/// The field a memory access touches: its size in bytes (an array's element size) and class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldAccess {
    /// Size in bytes of the accessed value.
    pub size: u32,
    /// What the value is.
    pub class: FieldClass,
}

/// Local and target field of a `byte_off` relocation on a non-bitfield field, which decides
/// whether an LDX/ST/STX access size must change.
///
/// ```
/// use core_reloc::fixup::{FieldAccess, FieldClass, MemSize};
/// let widened = MemSize {
///     local: FieldAccess { size: 4, class: FieldClass::UnsignedInt },
///     target: FieldAccess { size: 8, class: FieldClass::UnsignedInt },
/// };
/// assert!(widened.changes() && widened.resizable());
/// let signed = MemSize {
///     local: FieldAccess { size: 4, class: FieldClass::Other },
///     target: FieldAccess { size: 8, class: FieldClass::Other },
/// };
/// assert!(signed.changes() && !signed.resizable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemSize {
    /// The field as the object was compiled against.
    pub local: FieldAccess,
    /// The field in the target.
    pub target: FieldAccess,
}

impl MemSize {
    /// True when the access size must change.
    pub fn changes(&self) -> bool {
        self.local.size != self.target.size
    }

    /// True when changing the access size keeps the value: pointer to pointer or unsigned
    /// integer to unsigned integer (libbpf's rule). A size change that is not resizable
    /// poisons the instruction, as libbpf does.
    pub fn resizable(&self) -> bool {
        matches!(
            (self.local.class, self.target.class),
            (FieldClass::Pointer, FieldClass::Pointer)
                | (FieldClass::UnsignedInt, FieldClass::UnsignedInt)
        )
    }
}

/// Why an instruction is poisoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoisonReason {
    /// No candidate in the target has the field, type or enumerator the instruction reads.
    NotFound,
    /// The engine decided to poison for a reason of its own (e.g. a bitfield that no 8-byte
    /// load can hold in the target).
    Unsatisfiable,
    /// The access size would have to change for a field whose value does not survive it;
    /// set by the patch step, never needed in a [`Fixup`].
    MemSizeMismatch,
}

impl fmt::Display for PoisonReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "no matching target",
            Self::Unsatisfiable => "relocation cannot be satisfied",
            Self::MemSizeMismatch => {
                "field size changed and the value would not survive a resized access"
            }
        })
    }
}

/// The resolved value of one CO-RE relocation, as a pure value.
///
/// Modeled on libbpf's `bpf_core_relo_res`: `orig_val` is what the compiler put in the
/// instruction (computed from local BTF), `new_val` what the target needs. When `validate` is
/// true the patch step refuses an instruction that does not hold `orig_val`; the engine turns it
/// off where the compiler may legitimately disagree (bitfield offsets and sizes, type ids that
/// linking renumbers).
///
/// ```
/// use core_reloc::ext::CoreReloKind;
/// use core_reloc::fixup::{Fixup, PoisonReason, RelocationSite};
/// let site = RelocationSite { record_index: 0, section_index: 3, insn_index: 7 };
/// let moved = Fixup::rewrite(site, CoreReloKind::FieldByteOffset, 8, 24);
/// assert_eq!((moved.orig_val, moved.new_val, moved.poison), (8, 24, None));
/// let gone = Fixup::poison(site, CoreReloKind::FieldByteOffset, 8, PoisonReason::NotFound);
/// assert!(gone.is_poison());
/// let bitfield = Fixup::rewrite(site, CoreReloKind::FieldByteSize, 4, 8).without_validation();
/// assert!(!bitfield.validate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fixup {
    /// The relocation this fixup resolves.
    pub site: RelocationSite,
    /// The relocation's kind.
    pub kind: CoreReloKind,
    /// The value expected in the instruction, from local BTF.
    pub orig_val: u64,
    /// The value to write; ignored when `poison` is set.
    pub new_val: u64,
    /// Replace the instruction by an invalid helper call instead of patching it.
    pub poison: Option<PoisonReason>,
    /// Check that the instruction holds `orig_val` before changing it.
    pub validate: bool,
    /// For `byte_off` of a non-bitfield field: the local and target field, so LDX/ST/STX
    /// access sizes follow the field. `None` leaves the access size alone.
    pub mem_size: Option<MemSize>,
}

impl Fixup {
    /// A fixup that replaces `orig_val` by `new_val`, validated, without size change.
    pub fn rewrite(site: RelocationSite, kind: CoreReloKind, orig_val: u64, new_val: u64) -> Self {
        Fixup {
            site,
            kind,
            orig_val,
            new_val,
            poison: None,
            validate: true,
            mem_size: None,
        }
    }

    /// A fixup that poisons the instruction. `orig_val` is still validated unless
    /// [`without_validation`](Self::without_validation) is applied.
    pub fn poison(
        site: RelocationSite,
        kind: CoreReloKind,
        orig_val: u64,
        reason: PoisonReason,
    ) -> Self {
        Fixup {
            poison: Some(reason),
            ..Fixup::rewrite(site, kind, orig_val, 0)
        }
    }

    /// The same fixup without checking the instruction's original value.
    pub fn without_validation(self) -> Self {
        Fixup {
            validate: false,
            ..self
        }
    }

    /// The same fixup with local and target field information for access size rewriting.
    pub fn with_mem_size(self, mem_size: MemSize) -> Self {
        Fixup {
            mem_size: Some(mem_size),
            ..self
        }
    }

    /// True when the instruction is to be poisoned.
    pub fn is_poison(&self) -> bool {
        self.poison.is_some()
    }
}
