//! Named relocations (`core-reloc-ebpf`) through `Loader` and the `core-reloc` tool, offline on
//! the Debian kernels' BTF: every use is written into its `ld_imm64` and its relocation entry
//! removed, a missing field's offset is poisoned (never 0), and a malformed name is refused with the name quoted.

mod common;

use core_reloc::object::BpfObject;
use core_reloc::patch::POISON_HELPER_ID;
use core_reloc_loader::{KallsymsSource, LoadError, Loader, ModuleSearch};

const BTRFS_NAMED: &str = "btrfs_named";
const HOST_TASK_NAMED: &str = "host_task_named";

fn loader(series: &str) -> Loader {
    let mut loader = Loader::new();
    loader
        .btf_directory(common::kernel_btf_dir(series))
        .kallsyms(KallsymsSource::None);
    loader
}

fn ld_imm64(insns: &[u8], index: usize) -> (u8, u64, i32) {
    let at = index * 8;
    let low = u32::from_le_bytes(insns[at + 4..at + 8].try_into().unwrap());
    let high = u32::from_le_bytes(insns[at + 12..at + 16].try_into().unwrap());
    (
        insns[at],
        u64::from(low) | u64::from(high) << 32,
        low as i32,
    )
}

/// Number of relocation entries of each SHT_REL section, by the section it applies to.
fn relocation_counts(bytes: &[u8]) -> Vec<(String, usize)> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(bytes).unwrap();
    file.sections()
        .map(|section| {
            (
                section.name().unwrap().to_string(),
                section.relocations().count(),
            )
        })
        .filter(|(_, count)| *count > 0)
        .collect()
}

#[test]
fn every_named_site_gets_its_value_and_loses_its_relocation() {
    let bytes = std::fs::read(common::ebpf_object(BTRFS_NAMED)).unwrap();
    let object = BpfObject::parse(&bytes).unwrap();
    let sites = object.named_relocations().len();
    assert!(sites >= 30, "{sites} named relocations");
    for series in ["6.1", "6.12"] {
        let relocated = loader(series).relocate(&bytes).unwrap();
        let report = &relocated.report;
        assert_eq!(report.fixups.len(), sites, "{series}");
        let out = BpfObject::parse(&relocated.bytes).unwrap();
        assert!(
            out.named_relocations().is_empty(),
            "{series}: relocations left"
        );
        let section = out
            .program_sections()
            .iter()
            .find(|section| section.name == "kprobe/btrfs_getattr")
            .unwrap();
        for fixup in &report.fixups {
            let (code, value, _) = ld_imm64(section.insns, fixup.insn);
            assert_eq!(code, 0x18, "{series} {fixup}");
            assert_eq!(Some(value), fixup.new, "{series} {fixup}");
        }
        // Only the named entries went: the map relocations stay for aya.
        let before = relocation_counts(&bytes);
        let after = relocation_counts(&relocated.bytes);
        let count = |counts: &[(String, usize)], name: &str| {
            counts
                .iter()
                .find(|(section, _)| section == name)
                .map_or(0, |(_, count)| *count)
        };
        assert_eq!(
            count(&after, "kprobe/btrfs_getattr"),
            count(&before, "kprobe/btrfs_getattr") - sites,
            "{series}"
        );
        assert!(
            count(&after, "kprobe/btrfs_getattr") > 0,
            "map references kept"
        );
    }
}

#[test]
fn a_missing_field_offset_is_poisoned_never_zero() {
    let bytes = std::fs::read(common::ebpf_object(BTRFS_NAMED)).unwrap();
    // No module BTF: every btrfs type is missing.
    let relocated = loader("6.12")
        .module_search(ModuleSearch::Off)
        .relocate(&bytes)
        .unwrap();
    let out = BpfObject::parse(&relocated.bytes).unwrap();
    let section = out
        .program_sections()
        .iter()
        .find(|section| section.name == "kprobe/btrfs_getattr")
        .unwrap();
    let offsets: Vec<_> = relocated
        .report
        .fixups
        .iter()
        .filter(|fixup| fixup.access == "struct btrfs_inode.vfs_inode")
        .filter(|fixup| fixup.kind == core_reloc::ext::CoreReloKind::FieldByteOffset)
        .collect();
    assert_eq!(offsets.len(), 2, "the probe and container_of");
    for fixup in offsets {
        assert!(fixup.poisoned(), "{fixup}");
        assert!(fixup.target.is_none());
        for slot in [fixup.insn, fixup.insn + 1] {
            let (code, _, imm) = ld_imm64(section.insns, slot);
            assert_eq!(
                (code, imm),
                (0x85, POISON_HELPER_ID),
                "{fixup}: slot {slot}"
            );
        }
    }
    // Existence kinds are 0, not poisoned.
    let exists = relocated
        .report
        .fixups
        .iter()
        .find(|fixup| fixup.access == "struct btrfs_inode.location")
        .unwrap();
    assert_eq!(exists.new, Some(0));
    let warnings: Vec<String> = relocated
        .report
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("btrfs_inode") && w.contains("btrfs")),
        "{warnings:#?}"
    );
}

#[test]
fn a_malformed_name_is_refused_with_the_name_quoted() {
    let mut bytes = std::fs::read(common::ebpf_object(HOST_TASK_NAMED)).unwrap();
    let good = b"core_reloc:v1:field_byte_offset:struct:task_struct:pid\0";
    let bad = b"core_reloc:v1:field_byte_offzet:struct:task_struct:pid\0";
    let mut replaced = 0;
    for at in 0..bytes.len() - good.len() {
        if &bytes[at..at + good.len()] == good {
            bytes[at..at + good.len()].copy_from_slice(bad);
            replaced += 1;
        }
    }
    assert!(replaced > 0);
    let error = loader("6.12").relocate(&bytes).unwrap_err();
    assert!(matches!(error, LoadError::Object(_)), "{error:?}");
    // The message and its causes (a message never repeats its source).
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    assert!(
        message.contains("\"core_reloc:v1:field_byte_offzet:struct:task_struct:pid\""),
        "{message}"
    );
    assert!(
        message.contains("unknown kind \"field_byte_offzet\""),
        "{message}"
    );
}
