//! Applying fixups to hand-encoded instructions.

use core_reloc::ext::CoreReloKind;
use core_reloc::fixup::{FieldAccess, FieldClass, Fixup, MemSize, PoisonReason, RelocationSite};
use core_reloc::patch::{InsnForm, POISON_HELPER_ID, PatchErrorReason, Patched, apply_fixup};
use object::Endianness;

/// Encodes one instruction slot.
fn insn(endian: Endianness, code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[0] = code;
    match endian {
        Endianness::Little => {
            out[1] = (src << 4) | dst;
            out[2..4].copy_from_slice(&off.to_le_bytes());
            out[4..8].copy_from_slice(&imm.to_le_bytes());
        }
        Endianness::Big => {
            out[1] = (dst << 4) | src;
            out[2..4].copy_from_slice(&off.to_be_bytes());
            out[4..8].copy_from_slice(&imm.to_be_bytes());
        }
    }
    out
}

fn section(slots: &[[u8; 8]]) -> Vec<u8> {
    slots.concat()
}

fn site(insn_index: usize) -> RelocationSite {
    RelocationSite {
        record_index: 4,
        section_index: 3,
        insn_index,
    }
}

const MOV64_K: u8 = 0xb7;
const MOV32_K: u8 = 0xb4;
const ADD64_X: u8 = 0x0f;
const LDX_W: u8 = 0x61;
const LDX_DW: u8 = 0x79;
const LDX_B: u8 = 0x71;
const STX_W: u8 = 0x63;
const ST_W: u8 = 0x62;
const LD_IMM64: u8 = 0x18;
const EXIT: u8 = 0x95;
const CALL: u8 = 0x85;

const ENDIANS: [Endianness; 2] = [Endianness::Little, Endianness::Big];

#[test]
fn alu64_immediate_is_rewritten_in_both_byte_orders() {
    for e in ENDIANS {
        let mut bytes = section(&[insn(e, EXIT, 0, 0, 0, 0), insn(e, MOV64_K, 1, 0, 0, 8)]);
        let fixup = Fixup::rewrite(site(1), CoreReloKind::FieldByteOffset, 8, 40);
        let done = apply_fixup(&mut bytes, e, &fixup).unwrap();
        assert_eq!(
            done,
            Patched::Rewritten {
                form: InsnForm::Alu64,
                old: 8,
                new: 40,
                size_change: None
            }
        );
        assert_eq!(bytes[8..], insn(e, MOV64_K, 1, 0, 0, 40));
    }
}

#[test]
fn alu64_immediate_follows_sign_extension() {
    let e = Endianness::Little;
    // ALU64 with imm -1 produces u64::MAX: that is the value that validates.
    let mut bytes = section(&[insn(e, MOV64_K, 1, 0, 0, -1)]);
    let fixup = Fixup::rewrite(
        site(0),
        CoreReloKind::EnumvalValue,
        u64::MAX,
        (-5i64) as u64,
    );
    apply_fixup(&mut bytes, e, &fixup).unwrap();
    assert_eq!(bytes, insn(e, MOV64_K, 1, 0, 0, -5));
    // An unsigned 0x80000000 cannot be produced by a sign-extended imm; libbpf would truncate.
    let mut bytes = section(&[insn(e, MOV64_K, 1, 0, 0, 1)]);
    let fixup = Fixup::rewrite(site(0), CoreReloKind::EnumvalValue, 1, 0x8000_0000);
    let err = apply_fixup(&mut bytes, e, &fixup).unwrap_err();
    assert_eq!(
        err.reason,
        PatchErrorReason::ImmediateTooLarge {
            form: InsnForm::Alu64,
            new: 0x8000_0000
        }
    );
    assert_eq!(bytes, insn(e, MOV64_K, 1, 0, 0, 1), "unchanged on error");
}

#[test]
fn alu32_immediate_takes_any_32_bit_value() {
    let e = Endianness::Little;
    let mut bytes = section(&[insn(e, MOV32_K, 1, 0, 0, -1)]);
    let fixup = Fixup::rewrite(
        site(0),
        CoreReloKind::EnumvalValue,
        0xffff_ffff,
        0x8000_0000,
    );
    apply_fixup(&mut bytes, e, &fixup).unwrap();
    assert_eq!(bytes, insn(e, MOV32_K, 1, 0, 0, i32::MIN));
    let fixup = Fixup::rewrite(site(0), CoreReloKind::EnumvalValue, 0x8000_0000, 1 << 32);
    assert!(matches!(
        apply_fixup(&mut bytes, e, &fixup).unwrap_err().reason,
        PatchErrorReason::ImmediateTooLarge { .. }
    ));
}

#[test]
fn alu_with_register_source_is_refused() {
    let e = Endianness::Little;
    let mut bytes = section(&[insn(e, ADD64_X, 1, 2, 0, 0)]);
    let fixup = Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 0, 4);
    let err = apply_fixup(&mut bytes, e, &fixup).unwrap_err();
    assert_eq!(
        err.reason,
        PatchErrorReason::AluRegisterSource { code: ADD64_X }
    );
    assert_eq!(err.site, site(0));
    assert_eq!(err.kind, CoreReloKind::FieldByteOffset);
    let message = err.to_string();
    assert!(
        message.contains("relocation #4") && message.contains("insn #0"),
        "{message}"
    );
}

#[test]
fn validation_of_the_original_value() {
    let e = Endianness::Big;
    let mut bytes = section(&[insn(e, LDX_W, 1, 2, 12, 0)]);
    let fixup = Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 8, 16);
    assert_eq!(
        apply_fixup(&mut bytes, e, &fixup).unwrap_err().reason,
        PatchErrorReason::UnexpectedValue {
            form: InsnForm::Ldx,
            found: 12,
            expected: 8
        }
    );
    // Bitfield values are not validated: the compiler may disagree.
    apply_fixup(&mut bytes, e, &fixup.without_validation()).unwrap();
    assert_eq!(bytes, insn(e, LDX_W, 1, 2, 16, 0));
}

#[test]
fn memory_offsets_must_fit_i16() {
    let e = Endianness::Little;
    for code in [LDX_W, STX_W, ST_W] {
        let mut bytes = section(&[insn(e, code, 1, 2, 4, 7)]);
        let ok = Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 4, i16::MAX as u64);
        apply_fixup(&mut bytes, e, &ok).unwrap();
        assert_eq!(bytes, insn(e, code, 1, 2, i16::MAX, 7));
        let too_far = Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 32767, 32768);
        assert!(matches!(
            apply_fixup(&mut bytes, e, &too_far).unwrap_err().reason,
            PatchErrorReason::OffsetTooLarge { new: 32768, .. }
        ));
    }
}

fn field(size: u32, class: FieldClass) -> FieldAccess {
    FieldAccess { size, class }
}

#[test]
fn unsigned_and_pointer_loads_follow_the_field_size() {
    let e = Endianness::Little;
    for class in [FieldClass::UnsignedInt, FieldClass::Pointer] {
        let mut bytes = section(&[insn(e, LDX_W, 1, 2, 8, 0)]);
        let fixup =
            Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 8, 16).with_mem_size(MemSize {
                local: field(4, class),
                target: field(8, class),
            });
        let done = apply_fixup(&mut bytes, e, &fixup).unwrap();
        assert_eq!(
            done,
            Patched::Rewritten {
                form: InsnForm::Ldx,
                old: 8,
                new: 16,
                size_change: Some((4, 8))
            }
        );
        assert_eq!(bytes, insn(e, LDX_DW, 1, 2, 16, 0));
    }
    // Narrowing too: a u64 that became a u8.
    let mut bytes = section(&[insn(e, LDX_DW, 1, 2, 8, 0)]);
    let fixup =
        Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 8, 8).with_mem_size(MemSize {
            local: field(8, FieldClass::UnsignedInt),
            target: field(1, FieldClass::UnsignedInt),
        });
    apply_fixup(&mut bytes, e, &fixup).unwrap();
    assert_eq!(bytes, insn(e, LDX_B, 1, 2, 8, 0));
}

#[test]
fn resizing_a_signed_field_poisons() {
    let e = Endianness::Little;
    let mut bytes = section(&[insn(e, LDX_W, 1, 2, 8, 0)]);
    let fixup =
        Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 8, 16).with_mem_size(MemSize {
            local: field(4, FieldClass::Other),
            target: field(8, FieldClass::UnsignedInt),
        });
    assert_eq!(
        apply_fixup(&mut bytes, e, &fixup).unwrap(),
        Patched::Poisoned {
            form: InsnForm::Ldx,
            reason: PoisonReason::MemSizeMismatch
        }
    );
    assert_eq!(bytes, insn(e, CALL, 0, 0, 0, POISON_HELPER_ID));
}

#[test]
fn access_size_must_be_the_local_field_size() {
    let e = Endianness::Little;
    let mut bytes = section(&[insn(e, LDX_B, 1, 2, 8, 0)]);
    let fixup =
        Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 8, 16).with_mem_size(MemSize {
            local: field(4, FieldClass::UnsignedInt),
            target: field(8, FieldClass::UnsignedInt),
        });
    assert_eq!(
        apply_fixup(&mut bytes, e, &fixup).unwrap_err().reason,
        PatchErrorReason::UnexpectedMemSize {
            form: InsnForm::Ldx,
            found: 1,
            expected: 4
        }
    );
    let fixup =
        Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 8, 16).with_mem_size(MemSize {
            local: field(1, FieldClass::UnsignedInt),
            target: field(3, FieldClass::UnsignedInt),
        });
    assert_eq!(
        apply_fixup(&mut bytes, e, &fixup).unwrap_err().reason,
        PatchErrorReason::InvalidMemSize(3)
    );
}

#[test]
fn ld_imm64_rewrites_both_halves() {
    for e in ENDIANS {
        let value = 0x1122_3344_8899_aabb_u64;
        let mut bytes = section(&[
            insn(e, LD_IMM64, 1, 0, 0, 7),
            insn(e, 0, 0, 0, 0, 0),
            insn(e, EXIT, 0, 0, 0, 0),
        ]);
        let fixup = Fixup::rewrite(site(0), CoreReloKind::EnumvalValue, 7, value);
        apply_fixup(&mut bytes, e, &fixup).unwrap();
        assert_eq!(bytes[..8], insn(e, LD_IMM64, 1, 0, 0, value as u32 as i32));
        assert_eq!(
            bytes[8..16],
            insn(e, 0, 0, 0, 0, (value >> 32) as u32 as i32)
        );
        // Validation sees all 64 bits.
        let again = Fixup::rewrite(site(0), CoreReloKind::EnumvalValue, value, 1);
        apply_fixup(&mut bytes, e, &again).unwrap();
        let wrong = Fixup::rewrite(site(0), CoreReloKind::EnumvalValue, value, 1);
        assert!(matches!(
            apply_fixup(&mut bytes, e, &wrong).unwrap_err().reason,
            PatchErrorReason::UnexpectedValue {
                form: InsnForm::LdImm64,
                found: 1,
                ..
            }
        ));
    }
}

#[test]
fn ld_imm64_needs_its_second_slot_and_plain_form() {
    let e = Endianness::Little;
    let fixup = Fixup::rewrite(site(0), CoreReloKind::TypeIdLocal, 7, 7);
    let mut truncated = section(&[insn(e, LD_IMM64, 1, 0, 0, 7)]);
    assert_eq!(
        apply_fixup(&mut truncated, e, &fixup).unwrap_err().reason,
        PatchErrorReason::MalformedLdImm64
    );
    // src_reg 1 is a map reference (BPF_PSEUDO_MAP_FD), not a constant.
    let mut pseudo = section(&[insn(e, LD_IMM64, 1, 1, 0, 7), insn(e, 0, 0, 0, 0, 0)]);
    assert_eq!(
        apply_fixup(&mut pseudo, e, &fixup).unwrap_err().reason,
        PatchErrorReason::MalformedLdImm64
    );
}

#[test]
fn poisoning_ld_imm64_poisons_both_slots() {
    let e = Endianness::Little;
    let mut bytes = section(&[
        insn(e, LD_IMM64, 1, 0, 0, 3),
        insn(e, 0, 0, 0, 0, 0),
        insn(e, EXIT, 0, 0, 0, 0),
    ]);
    let fixup = Fixup::poison(
        site(0),
        CoreReloKind::EnumvalValue,
        3,
        PoisonReason::NotFound,
    );
    assert_eq!(
        apply_fixup(&mut bytes, e, &fixup).unwrap(),
        Patched::Poisoned {
            form: InsnForm::LdImm64,
            reason: PoisonReason::NotFound
        }
    );
    let poison = insn(e, CALL, 0, 0, 0, 0x0bad2310);
    assert_eq!(bytes, section(&[poison, poison, insn(e, EXIT, 0, 0, 0, 0)]));
}

#[test]
fn poisoning_checks_the_instruction_first() {
    let e = Endianness::Little;
    let fixup = Fixup::poison(
        site(0),
        CoreReloKind::FieldByteOffset,
        8,
        PoisonReason::NotFound,
    );
    // A record pointing at an exit is a broken object, not a poisoned read.
    let mut bytes = section(&[insn(e, EXIT, 0, 0, 0, 0)]);
    assert_eq!(
        apply_fixup(&mut bytes, e, &fixup).unwrap_err().reason,
        PatchErrorReason::UnsupportedInstruction { code: EXIT }
    );
    assert_eq!(bytes, insn(e, EXIT, 0, 0, 0, 0));
    // The original value is validated before poisoning as well.
    let mut bytes = section(&[insn(e, LDX_W, 1, 2, 4, 0)]);
    assert!(matches!(
        apply_fixup(&mut bytes, e, &fixup).unwrap_err().reason,
        PatchErrorReason::UnexpectedValue { .. }
    ));
    let mut bytes = section(&[insn(e, LDX_W, 1, 2, 8, 0)]);
    apply_fixup(&mut bytes, e, &fixup).unwrap();
    assert_eq!(bytes, insn(e, CALL, 0, 0, 0, POISON_HELPER_ID));
}

#[test]
fn out_of_bounds_instruction_is_an_error() {
    let e = Endianness::Little;
    let mut bytes = section(&[insn(e, MOV64_K, 1, 0, 0, 0)]);
    for index in [1, usize::MAX / 4, usize::MAX] {
        let fixup = Fixup::rewrite(site(index), CoreReloKind::FieldExists, 0, 1);
        assert_eq!(
            apply_fixup(&mut bytes, e, &fixup).unwrap_err().reason,
            PatchErrorReason::OutOfBounds { section_len: 8 }
        );
    }
}

/// Any 16 bytes and any fixup give a result or a typed error, never a panic.
#[test]
fn arbitrary_instructions_never_panic() {
    let fixups = [
        Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 0, 1),
        Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 0, 1).without_validation(),
        Fixup::poison(
            site(0),
            CoreReloKind::FieldByteOffset,
            0,
            PoisonReason::NotFound,
        )
        .without_validation(),
        Fixup::rewrite(site(0), CoreReloKind::FieldByteOffset, 0, 1).with_mem_size(MemSize {
            local: field(4, FieldClass::UnsignedInt),
            target: field(8, FieldClass::UnsignedInt),
        }),
    ];
    for code in 0..=255u8 {
        for fixup in &fixups {
            for e in ENDIANS {
                let mut bytes = section(&[insn(e, code, 1, 0, 0, 0), insn(e, 0, 0, 0, 0, 0)]);
                let _ = apply_fixup(&mut bytes, e, fixup);
                let _ = apply_fixup(&mut bytes[..8], e, fixup);
            }
        }
    }
}
