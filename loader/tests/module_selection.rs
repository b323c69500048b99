//! Module selection with offline BTF of Debian kernels (relocation only; the VM suite loads
//! the same objects into those kernels): explicit modules, attach targets from kallsyms, the
//! on-miss probe, search off with its warning, strict mode, and laziness.

mod common;

use core_reloc::BtfOrigin;
use core_reloc::composite::ParseReason;
use core_reloc::engine::{CandidateTier, ReloErrorKind};
use core_reloc::ext::CoreReloKind;
use core_reloc_loader::{KallsymsSource, LoadError, Loader, ModuleSearch, Warning};

fn getattr_object() -> Vec<u8> {
    std::fs::read(common::ebpf_object("btrfs_getattr.bpf.o")).unwrap()
}

fn probes_object() -> Vec<u8> {
    std::fs::read(common::ebpf_object("btrfs_probes.bpf.o")).unwrap()
}

fn offline(series: &str) -> Loader {
    let mut loader = Loader::new();
    loader
        .btf_directory(common::kernel_btf_dir(series))
        .kallsyms(KallsymsSource::None);
    loader
}

#[test_log::test]
fn explicit_module_resolves_btrfs_fields_and_parses_only_btrfs() {
    for (series, i_ino_offset) in [("6.1", 520 + 64), ("6.12", 392 + 64)] {
        let relocated = offline(series)
            .module_search(ModuleSearch::Off)
            .with_module_btf("btrfs")
            .relocate(&getattr_object())
            .unwrap();
        let report = &relocated.report;
        assert_eq!(report.parsed_modules(), ["btrfs"], "{series}");
        assert_eq!(report.modules[0].reason, Some(ParseReason::Requested));
        let i_ino = report
            .fixups
            .iter()
            .find(|f| f.access == "struct btrfs_inode.vfs_inode.i_ino")
            .unwrap();
        assert_eq!(
            i_ino.target.as_ref().unwrap().origin,
            BtfOrigin::module("btrfs")
        );
        assert_eq!(i_ino.new, Some(i_ino_offset), "{series}");
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        // vmlinux types still come from vmlinux.
        let dentry = report
            .fixups
            .iter()
            .find(|f| f.access == "struct path.dentry")
            .unwrap();
        assert_eq!(dentry.target.as_ref().unwrap().origin, BtfOrigin::Vmlinux);
    }
}

#[test_log::test]
fn attach_target_owner_is_found_in_kallsyms() {
    // Saved kallsyms lines: the probe's target and a clone of another btrfs function.
    let kallsyms = "ffffffff81000000 T _stext\n\
                    ffffffffc0a01230 t btrfs_getattr\t[btrfs]\n\
                    ffffffffc0a05550 t btrfs_sync_file.isra.0\t[btrfs]\n";
    let relocated = offline("6.12")
        .kallsyms(KallsymsSource::Text(kallsyms.into()))
        .module_search(ModuleSearch::AttachTargets)
        .relocate(&getattr_object())
        .unwrap();
    let report = &relocated.report;
    assert_eq!(report.parsed_modules(), ["btrfs"]);
    assert_eq!(
        report.modules[0].reason,
        Some(ParseReason::AttachTarget {
            symbol: "btrfs_getattr".into()
        })
    );
    assert!(report.fixups.iter().all(|f| !f.poisoned()));
}

#[test_log::test]
fn on_miss_probe_finds_btrfs_without_parsing_other_modules() {
    let relocated = offline("6.12")
        .module_search(ModuleSearch::Misses)
        .relocate(&probes_object())
        .unwrap();
    let report = &relocated.report;
    // Thousands of modules exist; only btrfs (the one defining btrfs_inode, btrfs_fs_info,
    // btrfs_root and enum btrfs_map_op) is parsed.
    assert_eq!(report.parsed_modules(), ["btrfs"]);
    assert!(matches!(
        report.modules[0].reason,
        Some(ParseReason::TypeSearch { .. })
    ));
    let exists = report
        .fixups
        .iter()
        .find(|f| f.kind == CoreReloKind::TypeExists && f.local_type == "struct btrfs_inode")
        .unwrap();
    assert_eq!(exists.new, Some(1));
}

#[test_log::test]
fn search_off_warns_naming_the_module_and_strict_refuses() {
    let relocated = offline("6.12")
        .module_search(ModuleSearch::Off)
        .relocate(&probes_object())
        .unwrap();
    let report = &relocated.report;
    assert!(report.parsed_modules().is_empty());
    let exists = report
        .fixups
        .iter()
        .find(|f| f.kind == CoreReloKind::TypeExists && f.local_type == "struct btrfs_inode")
        .unwrap();
    assert_eq!(exists.new, Some(0), "without btrfs the type does not exist");
    let warning = report
        .warnings
        .iter()
        .find_map(|w| match w {
            Warning::TypeInUnsearchedModule {
                type_name, modules, ..
            } if type_name == "btrfs_inode" => Some(modules.clone()),
            _ => None,
        })
        .expect("a warning about btrfs_inode");
    assert_eq!(warning, ["btrfs"]);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("with_module_btf(\"btrfs\")")),
        "{:?}",
        report.warnings
    );

    let strict = offline("6.12")
        .module_search(ModuleSearch::Off)
        .strict(true)
        .relocate(&probes_object())
        .unwrap_err();
    assert!(matches!(strict, LoadError::Strict(_)), "{strict}");
    assert!(strict.to_string().contains("btrfs"), "{strict}");
}

#[test_log::test]
fn poisoned_reads_are_diagnosed_with_the_module_to_search() {
    let relocated = offline("6.12")
        .module_search(ModuleSearch::Off)
        .relocate(&getattr_object())
        .unwrap();
    let report = &relocated.report;
    let poisoned: Vec<_> = report
        .poisoned
        .iter()
        .map(|p| p.access.to_string())
        .collect();
    assert!(
        poisoned
            .iter()
            .any(|p| p == "struct btrfs_inode.vfs_inode.i_ino"),
        "{poisoned:?}"
    );
    let site = report
        .poisoned
        .iter()
        .find(|p| p.access == "struct btrfs_inode.vfs_inode.i_ino")
        .unwrap();
    assert_eq!(site.unsearched_modules, ["btrfs"]);
    // What the verifier would print at that instruction leads back to the relocation.
    let log = format!(
        "{}: (85) call unknown#195896080\ninvalid func unknown#195896080\n",
        site.insn
    );
    let found = report.poisoned_sites_in_log(&log, Some(&site.section));
    assert!(found.iter().any(|p| p.access == site.access));
    assert!(
        site.to_string().contains("which were not searched"),
        "{site}"
    );
}

#[test_log::test]
fn a_type_no_kernel_has_fails_naming_the_relocation() {
    let bytes = std::fs::read(common::ebpf_object("missing_type.bpf.o")).unwrap();
    let relocated = offline("6.12").relocate(&bytes).unwrap();
    let site = relocated
        .report
        .poisoned
        .iter()
        .find(|p| p.access.to_string().contains("core_reloc_no_such_type"))
        .expect("the read is poisoned");
    assert_eq!(
        site.access.to_string(),
        "struct core_reloc_no_such_type.no_such_field"
    );
    assert!(site.unsearched_modules.is_empty());
}

#[test_log::test]
fn a_corrupt_module_blob_fails_that_module_only() {
    let source = common::kernel_btf_dir("6.12");
    let dir = std::env::temp_dir().join(format!("core-reloc-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["vmlinux", "btrfs", "xor", "raid6_pq"] {
        std::fs::copy(source.join(name), dir.join(name)).unwrap();
    }
    // xor's BTF is cut in half: it must fail alone.
    let xor = std::fs::read(source.join("xor")).unwrap();
    std::fs::write(dir.join("xor"), &xor[..xor.len() / 2]).unwrap();
    let relocated = Loader::new()
        .btf_directory(&dir)
        .kallsyms(KallsymsSource::None)
        .module_search(ModuleSearch::All)
        .relocate(&getattr_object())
        .unwrap();
    let report = &relocated.report;
    assert_eq!(report.parsed_modules(), ["btrfs", "raid6_pq"]);
    let failed: Vec<_> = report
        .modules
        .iter()
        .filter(|m| m.error.is_some())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].name, "xor");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::ModuleFailed { module, .. } if module == "xor"))
    );
    assert!(report.fixups.iter().all(|f| !f.poisoned()));
    // Named explicitly, the same module is an error.
    let explicit = Loader::new()
        .btf_directory(&dir)
        .kallsyms(KallsymsSource::None)
        .with_module_btf("xor")
        .relocate(&getattr_object())
        .unwrap_err();
    assert!(matches!(explicit, LoadError::Module(_)), "{explicit}");
    assert!(explicit.to_string().contains("xor"), "{explicit}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// e1000 and e1000e both define `struct e1000_adapter`, with `netdev` at byte 1144 and 1448
/// and `msg_enable` at 2152 and 11884 (Debian 6.12). One object has a program attached to a
/// function of each.
fn adapter_object() -> Vec<u8> {
    std::fs::read(common::ebpf_object("e1000_adapter.bpf.o")).unwrap()
}

const E1000_KALLSYMS: &str = "ffffffffc0201000 t e1000_down\t[e1000]\n\
                              ffffffffc0301000 t e1000e_down\t[e1000e]\n";

fn adapter_offsets(report: &core_reloc_loader::Report, section: &str) -> Vec<(String, u64)> {
    report
        .fixups
        .iter()
        .filter(|f| f.section == section)
        .map(|f| {
            (
                f.target.as_ref().unwrap().origin.name().to_string(),
                f.new.unwrap(),
            )
        })
        .collect()
}

#[test_log::test]
fn each_program_binds_the_type_to_its_attach_target_module() {
    // Attach targets only, then attach targets with e1000e also named explicitly: the module
    // a program attaches to comes before an explicitly named one.
    for explicit in [None, Some("e1000e")] {
        let mut loader = offline("6.12");
        loader
            .kallsyms(KallsymsSource::Text(E1000_KALLSYMS.into()))
            .module_search(ModuleSearch::AttachTargets);
        if let Some(module) = explicit {
            loader.with_module_btf(module);
        }
        let report = loader.relocate(&adapter_object()).unwrap().report;
        assert_eq!(report.parsed_modules(), ["e1000", "e1000e"]);
        assert_eq!(
            adapter_offsets(&report, "kprobe/e1000_down"),
            [("e1000".to_string(), 1144), ("e1000".to_string(), 2152)],
            "{explicit:?}"
        );
        assert_eq!(
            adapter_offsets(&report, "kprobe/e1000e_down"),
            [("e1000e".to_string(), 1448), ("e1000e".to_string(), 11884)],
            "{explicit:?}"
        );
        let fixup = &report.fixups[0];
        assert_eq!(fixup.candidates.len(), 1, "{:?}", fixup.candidates);
        assert_eq!(fixup.candidates[0].tier, CandidateTier::AttachTarget);
    }
}

#[test_log::test]
fn explicit_modules_beat_searched_ones_and_two_in_one_tier_are_ambiguous() {
    // No attach information: the on-miss search finds both modules.
    let error = offline("6.12")
        .module_search(ModuleSearch::Misses)
        .relocate(&adapter_object())
        .unwrap_err();
    let LoadError::Relocation { failures } = &error else {
        panic!("{error}");
    };
    assert_eq!(failures.len(), 4, "{error}");
    let ReloErrorKind::Ambiguous(ambiguity) = &*failures[0].error.reason else {
        panic!("{error}");
    };
    assert_eq!(ambiguity.local_type.to_string(), "struct e1000_adapter");
    let origins: Vec<&str> = ambiguity
        .candidates
        .iter()
        .map(|c| c.origin.name())
        .collect();
    assert_eq!(origins, ["e1000", "e1000e"]);
    assert_eq!(failures[0].program, "kprobe/e1000_down");
    assert!(
        error.to_string().contains("in e1000e gives 1448"),
        "{error}"
    );
    // Naming one module explicitly settles it for both programs.
    let report = offline("6.12")
        .module_search(ModuleSearch::Misses)
        .with_module_btf("e1000")
        .relocate(&adapter_object())
        .unwrap()
        .report;
    for section in ["kprobe/e1000_down", "kprobe/e1000e_down"] {
        assert_eq!(
            adapter_offsets(&report, section),
            [("e1000".to_string(), 1144), ("e1000".to_string(), 2152)]
        );
    }
    assert_eq!(report.fixups[0].candidates[0].tier, CandidateTier::Explicit);
}

/// A `Loader` kept by a daemon: a module whose BTF appears after first use (`modprobe`) is found
/// when named (listed again on the miss), and by type search after `refresh`.
#[test_log::test]
fn a_kept_loader_sees_modules_that_appear_later() {
    let source = common::kernel_btf_dir("6.12");
    let dir = std::env::temp_dir().join(format!("core-reloc-later-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(source.join("vmlinux"), dir.join("vmlinux")).unwrap();
    let i_ino = |report: &core_reloc_loader::Report| {
        report
            .fixups
            .iter()
            .find(|f| f.access == "struct btrfs_inode.vfs_inode.i_ino")
            .cloned()
            .unwrap()
    };

    let mut by_search = Loader::new();
    by_search
        .btf_directory(&dir)
        .kallsyms(KallsymsSource::None)
        .module_search(ModuleSearch::Misses);
    let mut by_name = Loader::new();
    by_name
        .btf_directory(&dir)
        .kallsyms(KallsymsSource::None)
        .module_search(ModuleSearch::Off)
        .with_module_btf("btrfs");

    let before = by_search.relocate(&getattr_object()).unwrap();
    assert!(i_ino(&before.report).poisoned(), "no btrfs yet");
    let missing = by_name.relocate(&getattr_object()).unwrap_err();
    assert!(
        matches!(&missing, LoadError::Module(error) if error.to_string().contains("btrfs")),
        "{missing}"
    );

    std::os::unix::fs::symlink(source.join("btrfs"), dir.join("btrfs")).unwrap();

    // Named: the miss lists the modules again, no refresh needed.
    let named = by_name.relocate(&getattr_object()).unwrap();
    assert_eq!(named.report.parsed_modules(), ["btrfs"]);
    assert_eq!(i_ino(&named.report).new, Some(392 + 64));

    // Search by type name: the listing of first use stands until `refresh`.
    let stale = by_search.relocate(&getattr_object()).unwrap();
    assert!(i_ino(&stale.report).poisoned());
    by_search.refresh();
    let fresh = by_search.relocate(&getattr_object()).unwrap();
    assert_eq!(fresh.report.parsed_modules(), ["btrfs"]);
    assert!(matches!(
        fresh.report.modules[0].reason,
        Some(ParseReason::TypeSearch { .. })
    ));
    assert_eq!(i_ino(&fresh.report).new, Some(392 + 64));
    std::fs::remove_dir_all(&dir).unwrap();
}
