//! In the guest: a corrupt module BTF in a directory source fails that module only, loudly,
//! and the program still loads and reads btrfs fields correctly.
//!
//! Guest-only: ignored on the host, run by `cargo xtask vm`.

use std::path::Path;

use core_reloc_loader::{KallsymsSource, Loader, ModuleSearch, Warning};
use integration::aya_programs::{attach_kprobe, read_record, set_target_tgid};
use integration::checks::{assert_record_matches, stat_and_observe, stat_targets};
use integration::{guest, programs};

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn a_corrupt_module_blob_fails_only_that_module() {
    let guest = guest();
    // A copy of the live /sys/kernel/btf with one of btrfs's dependencies cut in half.
    let dir = Path::new("/tmp/btf-with-corrupt-module");
    std::fs::create_dir_all(dir).unwrap();
    let mut copied = Vec::new();
    for entry in std::fs::read_dir("/sys/kernel/btf").unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(entry.path()).unwrap();
        let bytes = if name == "xor" {
            bytes[..bytes.len() / 2].to_vec()
        } else {
            bytes
        };
        std::fs::write(dir.join(&name), bytes).unwrap();
        copied.push(name);
    }
    assert!(
        copied.iter().any(|n| n == "xor") && copied.iter().any(|n| n == "btrfs"),
        "{copied:?}"
    );

    let mut loader = Loader::new();
    loader
        .btf_directory(dir)
        .kallsyms(KallsymsSource::None)
        .module_search(ModuleSearch::All);
    let bytes = std::fs::read(guest.object(programs::C_BTRFS_GETATTR)).unwrap();
    let (mut ebpf, report) = loader
        .load_with(&bytes, &mut aya::EbpfLoader::new())
        .expect("the corrupt module does not stop the load");
    let failed: Vec<&str> = report
        .modules
        .iter()
        .filter(|m| m.error.is_some())
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(failed, ["xor"], "{:#?}", report.modules);
    assert!(report.parsed_modules().contains(&"btrfs"));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::ModuleFailed { module, .. } if module == "xor")),
        "{:?}",
        report.warnings
    );
    println!("warnings: {:#?}", report.warnings);

    attach_kprobe(&mut ebpf, programs::BTRFS_GETATTR_PROGRAM).unwrap();
    set_target_tgid(&mut ebpf).unwrap();
    for path in stat_targets(&guest) {
        let observed = stat_and_observe(&guest, &path);
        assert_record_matches(&path, &read_record(&ebpf).unwrap(), &observed);
    }
    std::fs::remove_dir_all(dir).unwrap();
}
