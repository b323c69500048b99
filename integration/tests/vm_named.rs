//! In the guest: the pure-Rust btrfs program (`btrfs_named`, named relocations through
//! `core-reloc-ebpf`, no C) loaded by our loader reads the same values as user space observes
//! (stat, the btrfs ioctl, mkfs) and as bpftool's BTF facts, like the C programs.
//!
//! Guest-only: ignored on the host, run by `cargo xtask vm`.

use core_reloc_loader::{Loader, ModuleSearch};
use integration::aya_programs::{attach_kprobe, read_probe, read_record, set_target_tgid};
use integration::checks::{
    assert_probes_match, assert_record_matches, stat_and_observe, stat_targets,
};
use integration::{guest, programs};

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn pure_rust_program_reads_btrfs_fields_and_probes_like_user_space() {
    let guest = guest();
    let bytes = std::fs::read(guest.object(programs::RUST_NAMED_BTRFS)).unwrap();
    // Default module selection: btrfs owns the attach target, found in /proc/kallsyms.
    let (mut ebpf, report) = Loader::new()
        .load_with(&bytes, &mut aya::EbpfLoader::new())
        .unwrap_or_else(|e| panic!("{}: {e}", programs::RUST_NAMED_BTRFS));
    for fixup in &report.fixups {
        println!("{fixup}");
    }
    assert!(
        report.fixups.iter().all(|fixup| fixup.symbol.is_some()),
        "only named relocations"
    );
    assert_eq!(report.parsed_modules(), ["btrfs"]);
    attach_kprobe(&mut ebpf, programs::BTRFS_GETATTR_PROGRAM).unwrap();
    set_target_tgid(&mut ebpf).unwrap();
    for path in stat_targets(&guest) {
        let observed = stat_and_observe(&guest, &path);
        assert_record_matches(&path, &read_record(&ebpf).unwrap(), &observed);
    }
    assert_probes_match(&guest, |index| read_probe(&ebpf, index).unwrap());
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn without_module_btf_named_reads_are_poisoned_and_explained() {
    let guest = guest();
    let bytes = std::fs::read(guest.object(programs::RUST_NAMED_BTRFS)).unwrap();
    let mut loader = Loader::new();
    loader.module_search(ModuleSearch::Off);
    let (mut ebpf, report) = loader
        .load_with(&bytes, &mut aya::EbpfLoader::new())
        .unwrap();
    assert!(report.parsed_modules().is_empty(), "{:?}", report.modules);
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("btrfs_inode") && w.contains("module(s) btrfs")),
        "no warning names btrfs: {warnings:#?}"
    );
    // The container_of offset of vfs_inode is not guarded by an existence check: it is
    // poisoned, and the verifier's rejection is reported as that relocation.
    let poisoned: Vec<String> = report.poisoned.iter().map(|p| p.to_string()).collect();
    println!("poisoned: {poisoned:#?}");
    assert!(
        report
            .poisoned
            .iter()
            .any(|site| site.access == "struct btrfs_inode.vfs_inode"),
        "{poisoned:#?}"
    );
    let error = Loader::load_program(
        &mut ebpf,
        &report,
        programs::BTRFS_GETATTR_PROGRAM,
        |p: &mut aya::programs::KProbe| p.load(),
    )
    .expect_err("the verifier must reject the poisoned offset");
    println!("verifier: {error}");
    let core_reloc_loader::LoadError::PoisonedRelocation { site, .. } = &error else {
        panic!("not diagnosed as a poisoned relocation: {error}");
    };
    assert_eq!(site.access.to_string(), "struct btrfs_inode.vfs_inode");
    assert!(error.to_string().contains("btrfs"), "{error}");
}
