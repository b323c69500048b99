//! Our loader in the guest: the btrfs programs relocated against the btrfs module BTF.
//!
//! Same programs and checks as `vm_libbpf.rs` (the libbpf reference run); the values are
//! compared with what user space observes and with the host's bpftool facts.
//!
//! Guest-only: ignored on the host, run by `cargo xtask vm`.

use std::time::Instant;

use core_reloc_loader::{Loader, ModuleSearch, Report};
use integration::aya_programs::{attach_kprobe, read_probe, read_record, set_target_tgid};
use integration::checks::{
    assert_probes_match, assert_record_matches, stat_and_observe, stat_targets,
};
use integration::{Guest, guest, programs};

/// Relocates and loads `object` with `loader`, keeping the loader's report.
fn load(guest: &Guest, loader: &Loader, object: &str) -> (aya::Ebpf, Report) {
    let started = Instant::now();
    let bytes = std::fs::read(guest.object(object)).unwrap();
    let loaded = loader
        .load_with(&bytes, &mut aya::EbpfLoader::new())
        .unwrap_or_else(|e| panic!("{object}: {e}"));
    println!("{object}: relocated and loaded in {:?}", started.elapsed());
    loaded
}

fn parsed_modules(report: &Report) -> Vec<&str> {
    report.modules.iter().map(|m| m.name.as_str()).collect()
}

fn check_getattr_program(guest: &Guest, loader: &Loader, object: &str) -> Report {
    let (mut ebpf, report) = load(guest, loader, object);
    attach_kprobe(&mut ebpf, programs::BTRFS_GETATTR_PROGRAM).unwrap();
    set_target_tgid(&mut ebpf).unwrap();
    for path in stat_targets(guest) {
        let observed = stat_and_observe(guest, &path);
        assert_record_matches(&path, &read_record(&ebpf).unwrap(), &observed);
    }
    report
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn c_program_reads_btrfs_fields_with_module_btf() {
    let mut loader = Loader::new();
    loader.with_module_btf("btrfs");
    check_getattr_program(&guest(), &loader, programs::C_BTRFS_GETATTR);
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn rust_program_reads_btrfs_fields_with_module_btf() {
    let mut loader = Loader::new();
    loader.with_module_btf("btrfs");
    check_getattr_program(&guest(), &loader, programs::RUST_BTRFS_GETATTR);
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn attach_target_alone_selects_btrfs_and_only_btrfs_is_parsed() {
    let guest = guest();
    // btrfs's dependencies have module BTF too: laziness means none of them is parsed.
    let dependencies_with_btf = guest
        .expectations
        .list("modules.load_order")
        .into_iter()
        .filter(|module| {
            std::path::Path::new("/sys/kernel/btf")
                .join(module)
                .exists()
        })
        .count();
    assert!(
        dependencies_with_btf > 1,
        "the guest has a single module BTF"
    );
    let report = check_getattr_program(&guest, &Loader::new(), programs::C_BTRFS_GETATTR);
    println!("modules parsed: {:?}", report.modules);
    assert_eq!(parsed_modules(&report), ["btrfs"]);
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn probes_match_bpftool_with_module_btf() {
    let guest = guest();
    let mut loader = Loader::new();
    loader.with_module_btf("btrfs");
    let (mut ebpf, _) = load(&guest, &loader, programs::C_BTRFS_PROBES);
    attach_kprobe(&mut ebpf, programs::PROBES_PROGRAM).unwrap();
    std::fs::metadata(guest.btrfs_file("hello.txt")).unwrap();
    assert_probes_match(&guest, |index| read_probe(&ebpf, index).unwrap());
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn probes_are_zero_with_module_search_off_and_the_warning_names_btrfs() {
    let guest = guest();
    let mut loader = Loader::new();
    loader.module_search(ModuleSearch::Off);
    let (mut ebpf, report) = load(&guest, &loader, programs::C_BTRFS_PROBES);
    assert!(parsed_modules(&report).is_empty(), "{:?}", report.modules);
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    println!("warnings: {warnings:#?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("btrfs_inode") && w.contains("btrfs")),
        "no warning names btrfs_inode in btrfs: {warnings:#?}"
    );
    attach_kprobe(&mut ebpf, programs::PROBES_PROGRAM).unwrap();
    std::fs::metadata(guest.btrfs_file("hello.txt")).unwrap();
    assert!(read_probe(&ebpf, programs::probe::RAN).unwrap() > 0);
    for &(index, key) in programs::probe::EXPECTED {
        assert_eq!(
            read_probe(&ebpf, index).unwrap(),
            0,
            "{key} without module BTF"
        );
    }
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn missing_type_is_poisoned_and_explained_in_words() {
    let guest = guest();
    let mut loader = Loader::new();
    loader.with_module_btf("btrfs");
    let (mut ebpf, report) = load(&guest, &loader, programs::C_MISSING_TYPE);
    let poisoned: Vec<String> = report.poisoned.iter().map(|p| p.to_string()).collect();
    println!("poisoned: {poisoned:#?}");
    assert!(
        poisoned
            .iter()
            .any(|p| p.contains("core_reloc_no_such_type.no_such_field")),
        "no poisoned site names the access: {poisoned:#?}"
    );
    // The verifier rejects the poisoned read; the loader names the relocation instead of
    // `invalid func unknown#195896080`.
    let error = Loader::load_program(
        &mut ebpf,
        &report,
        programs::MISSING_TYPE_PROGRAM,
        |p: &mut aya::programs::KProbe| p.load(),
    )
    .expect_err("the verifier must reject the poisoned read");
    println!("verifier: {error}");
    let core_reloc_loader::LoadError::PoisonedRelocation { site, .. } = &error else {
        panic!("not diagnosed as a poisoned relocation: {error}");
    };
    assert_eq!(
        site.access.to_string(),
        "struct core_reloc_no_such_type.no_such_field"
    );
    assert!(
        error
            .to_string()
            .contains("found no match in the kernel's BTF"),
        "{error}"
    );
}
