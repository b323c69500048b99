//! `BpfObject` over the real C corpus (`cargo xtask build-corpus`), little- and big-endian.

use std::path::PathBuf;

use core_reloc::ext::CoreReloKind;
use core_reloc::fixup::{Fixup, PoisonReason};
use core_reloc::object::{BpfObject, CoreReloRecord, ObjectError};
use core_reloc::patch::{INSN_SIZE, Patched};
use object::Endianness;

fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ebpf/corpus");
    assert!(
        dir.join("flavors.bpf.o").exists(),
        "the C corpus is not built: run `cargo xtask build-corpus`"
    );
    dir
}

/// Every corpus object, little-endian then big-endian.
fn corpus_objects() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir();
    let mut objects = Vec::new();
    for sub in [dir.clone(), dir.join("bpfeb")] {
        let mut paths: Vec<_> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".bpf.o"))
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap();
            objects.push((path, bytes));
        }
    }
    assert!(objects.len() >= 30, "{} corpus objects", objects.len());
    objects
}

fn read_corpus(name: &str) -> Vec<u8> {
    std::fs::read(corpus_dir().join(name)).unwrap()
}

/// The value the instruction currently holds, as the patcher reads it.
fn current_value(object: &BpfObject<'_>, record: &CoreReloRecord) -> u64 {
    let section = object.program_section(record.site.section_index).unwrap();
    let at = record.site.insn_index * INSN_SIZE;
    let insn = &section.insns[at..at + 2 * INSN_SIZE.min(section.insns.len() - at)];
    let word = |bytes: &[u8]| -> u32 {
        let bytes: [u8; 4] = bytes.try_into().unwrap();
        match object.endian() {
            Endianness::Little => u32::from_le_bytes(bytes),
            Endianness::Big => u32::from_be_bytes(bytes),
        }
    };
    let half = |bytes: &[u8]| -> i16 {
        let bytes: [u8; 2] = bytes.try_into().unwrap();
        match object.endian() {
            Endianness::Little => i16::from_le_bytes(bytes),
            Endianness::Big => i16::from_be_bytes(bytes),
        }
    };
    match insn[0] & 0x07 {
        0x00 => u64::from(word(&insn[4..8])) | (u64::from(word(&insn[12..16])) << 32),
        0x01..=0x03 => i64::from(half(&insn[2..4])) as u64,
        0x04 => u64::from(word(&insn[4..8])),
        0x07 => i64::from(word(&insn[4..8]) as i32) as u64,
        code => panic!("record {record:?} points at opcode class {code}"),
    }
}

/// Fixups that rewrite each value with itself, validated.
fn identity_fixups(object: &BpfObject<'_>) -> Vec<Fixup> {
    object
        .records()
        .map(|record| {
            let value = current_value(object, record);
            Fixup::rewrite(record.site, record.relo.kind, value, value)
        })
        .collect()
}

#[test]
fn every_corpus_object_parses_and_has_records() {
    for (path, bytes) in corpus_objects() {
        let object = BpfObject::parse(&bytes).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let ext = object.btf_ext().expect("corpus objects have .BTF.ext");
        assert!(object.btf().is_some());
        assert!(object.record_count() > 0, "{path:?}");
        assert_eq!(object.record_count(), ext.core_relo_count());
        assert_eq!(object.records().count(), object.record_count());
        let indices: Vec<_> = object.records().map(|r| r.site.record_index).collect();
        assert_eq!(indices, (0..object.record_count()).collect::<Vec<_>>());
        let expected_endian = if path.to_string_lossy().contains("bpfeb") {
            Endianness::Big
        } else {
            Endianness::Little
        };
        assert_eq!(object.endian(), expected_endian, "{path:?}");
    }
}

#[test]
fn identity_relocation_changes_only_core_relo_len() {
    for (path, bytes) in corpus_objects() {
        let object = BpfObject::parse(&bytes).unwrap();
        let relocated = object
            .relocate(&identity_fixups(&object))
            .unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert_eq!(relocated.outcomes.len(), object.record_count());
        assert_eq!(relocated.bytes.len(), bytes.len());
        let differing: Vec<_> = (0..bytes.len())
            .filter(|&i| bytes[i] != relocated.bytes[i])
            .collect();
        // Only the 4 bytes of core_relo_len, inside .BTF.ext, may differ.
        assert!(
            !differing.is_empty() && differing.len() <= 4,
            "{path:?}: {differing:?}"
        );
        let again = BpfObject::parse(&relocated.bytes).unwrap();
        assert_eq!(again.record_count(), 0, "{path:?}: records still visible");
        assert_eq!(again.btf_ext().unwrap().header().core_relo.unwrap().len, 0);
        assert_eq!(again.program_sections(), {
            // Same sections at the same places, instructions untouched.
            let mut same = object.program_sections().to_vec();
            for (mine, theirs) in same.iter_mut().zip(again.program_sections()) {
                mine.insns = theirs.insns;
            }
            same
        });
    }
}

#[test]
fn subprogram_records_map_to_text() {
    for name in ["subprogs.bpf.o", "bpfeb/subprogs.bpf.o"] {
        let bytes = read_corpus(name);
        let object = BpfObject::parse(&bytes).unwrap();
        let names: Vec<_> = object
            .core_relocations()
            .iter()
            .map(|g| (g.section_name, g.records.len()))
            .collect();
        assert!(names.contains(&(".text", 3)), "{names:?}");
        assert!(names.contains(&("raw_tp/sys_enter", 1)), "{names:?}");
        let text = object
            .program_sections()
            .iter()
            .find(|p| p.name == ".text")
            .unwrap();
        let group = object
            .core_relocations()
            .iter()
            .find(|g| g.section_name == ".text")
            .unwrap();
        assert_eq!(group.section_index, text.index);
    }
}

/// flavors_direct reads `a`, `b`, `c` with LDX at offsets 0, 4, 8: move them and check the bytes.
#[test]
fn direct_read_offsets_are_patched_in_the_copy() {
    for name in ["flavors.bpf.o", "bpfeb/flavors.bpf.o"] {
        let bytes = read_corpus(name);
        let object = BpfObject::parse(&bytes).unwrap();
        let fixups: Vec<Fixup> = object
            .records()
            .map(|record| {
                let value = current_value(&object, record);
                let section = object.program_section(record.site.section_index).unwrap();
                let code = section.insns[record.site.insn_index * INSN_SIZE];
                let is_ldx = code & 0x07 == 0x01;
                let new = if is_ldx { value + 100 } else { value };
                Fixup::rewrite(record.site, record.relo.kind, value, new)
            })
            .collect();
        let relocated = object.relocate(&fixups).unwrap();
        let moved: Vec<_> = relocated
            .outcomes
            .iter()
            .filter_map(|(_, outcome)| match outcome {
                Patched::Rewritten { old, new, .. } if old != new => Some((*old, *new)),
                _ => None,
            })
            .collect();
        assert_eq!(moved, [(0, 100), (4, 104), (8, 108)], "{name}");
        let again = BpfObject::parse(&relocated.bytes).unwrap();
        for (record, fixup) in object.records().zip(&fixups) {
            let section = again.program_section(record.site.section_index).unwrap();
            let at = record.site.insn_index * INSN_SIZE;
            if section.insns[at] & 0x07 == 0x01 {
                let off = match again.endian() {
                    Endianness::Little => {
                        i16::from_le_bytes([section.insns[at + 2], section.insns[at + 3]])
                    }
                    Endianness::Big => {
                        i16::from_be_bytes([section.insns[at + 2], section.insns[at + 3]])
                    }
                };
                assert_eq!(off as u64, fixup.new_val);
            }
        }
    }
}

#[test]
fn poisoned_enum_value_takes_both_ld_imm64_slots() {
    let bytes = read_corpus("failures.bpf.o");
    let object = BpfObject::parse(&bytes).unwrap();
    let fixups: Vec<Fixup> = object
        .records()
        .map(|record| {
            let value = current_value(&object, record);
            if record.relo.kind == CoreReloKind::EnumvalValue && value == 2 {
                Fixup::poison(record.site, record.relo.kind, value, PoisonReason::NotFound)
            } else {
                Fixup::rewrite(record.site, record.relo.kind, value, value)
            }
        })
        .collect();
    let relocated = object.relocate(&fixups).unwrap();
    let poisoned: Vec<_> = relocated
        .outcomes
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Patched::Poisoned { .. }))
        .collect();
    assert_eq!(poisoned.len(), 1);
    let site = poisoned[0].0;
    let again = BpfObject::parse(&relocated.bytes).unwrap();
    let section = again.program_section(site.section_index).unwrap();
    let call = [0x85, 0, 0, 0, 0x10, 0x23, 0xad, 0x0b];
    let at = site.insn_index * INSN_SIZE;
    assert_eq!(section.insns[at..at + 8], call);
    assert_eq!(section.insns[at + 8..at + 16], call);
}

#[test]
fn fixups_must_match_the_records_one_to_one() {
    let bytes = read_corpus("flavors.bpf.o");
    let object = BpfObject::parse(&bytes).unwrap();
    let fixups = identity_fixups(&object);

    let missing = object.relocate(&fixups[1..]).unwrap_err();
    assert!(
        matches!(missing, ObjectError::MissingFixup { record_index: 0 }),
        "{missing}"
    );

    let mut twice = fixups.clone();
    twice.push(fixups[0]);
    assert!(matches!(
        object.relocate(&twice).unwrap_err(),
        ObjectError::FixupMismatch { .. }
    ));

    let mut wrong_kind = fixups.clone();
    wrong_kind[0].kind = CoreReloKind::TypeSize;
    assert!(matches!(
        object.relocate(&wrong_kind).unwrap_err(),
        ObjectError::FixupMismatch { .. }
    ));

    let mut wrong_insn = fixups.clone();
    wrong_insn[0].site.insn_index += 1;
    assert!(matches!(
        object.relocate(&wrong_insn).unwrap_err(),
        ObjectError::FixupMismatch { .. }
    ));

    // Order does not matter.
    let mut reversed = fixups.clone();
    reversed.reverse();
    assert_eq!(
        object.relocate(&reversed).unwrap().bytes,
        object.relocate(&fixups).unwrap().bytes
    );
}

#[test]
fn patch_errors_name_the_section() {
    let bytes = read_corpus("flavors.bpf.o");
    let object = BpfObject::parse(&bytes).unwrap();
    let mut fixups = identity_fixups(&object);
    fixups[0].orig_val += 1;
    let error = object.relocate(&fixups).unwrap_err();
    // The section is in the error's message, the relocation in its source (which the message
    // does not repeat).
    let message = error.to_string();
    let source = std::error::Error::source(&error)
        .expect("a patch error has a source")
        .to_string();
    assert!(message.contains("raw_tp/sys_enter"), "{message}");
    assert!(!message.contains(&source), "{message} repeats {source}");
    assert!(source.contains("relocation #0"), "{source}");
}

/// Truncations and byte flips of a real object never panic.
#[test]
fn corrupted_objects_never_panic() {
    let bytes = read_corpus("subprogs.bpf.o");
    let step = (bytes.len() / 400).max(1);
    for len in (0..bytes.len()).step_by(step) {
        let _ = BpfObject::parse(&bytes[..len]);
    }
    for at in (0..bytes.len()).step_by(step.max(3) / 3) {
        for value in [0x00, 0xff, 0x80] {
            let mut corrupted = bytes.clone();
            corrupted[at] = value;
            if let Ok(object) = BpfObject::parse(&corrupted) {
                let _ = object.relocate(&[]);
            }
        }
    }
}
