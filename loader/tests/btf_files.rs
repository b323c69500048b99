//! `Loader` on BTF files as distributions ship them: the vmlinux ELF and `btrfs.ko` given
//! with `btf_files`, and a directory holding those files (`btf_directory`), relocate the btrfs
//! program exactly as the raw `/sys/kernel/btf`-style directory does.

mod common;

use core_reloc_loader::{KallsymsSource, Loader, ModuleSearch};

const SERIES: &str = "6.12";

fn relocated(loader: &mut Loader) -> Vec<u8> {
    let object = std::fs::read(common::ebpf_object("btrfs_getattr.bpf.o")).unwrap();
    loader
        .kallsyms(KallsymsSource::None)
        .module_search(ModuleSearch::Off)
        .with_module_btf("btrfs");
    let relocated = loader.relocate(&object).unwrap();
    assert!(
        relocated.report.fixups.iter().any(|fixup| fixup
            .target
            .as_ref()
            .is_some_and(|t| t.origin.name() == "btrfs")),
        "the program reads btrfs types"
    );
    relocated.bytes
}

#[test]
fn vmlinux_elf_and_ko_files_relocate_like_raw_btf() {
    let reference = relocated(Loader::new().btf_directory(common::kernel_btf_dir(SERIES)));

    let from_files = relocated(Loader::new().btf_files(
        kernel_fixtures::kernel_vmlinux_elf(SERIES),
        [("btrfs", kernel_fixtures::kernel_module(SERIES, "btrfs"))],
    ));
    assert_eq!(from_files, reference);

    let dir = std::env::temp_dir().join(format!("loader-btf-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(
        kernel_fixtures::kernel_vmlinux_elf(SERIES),
        dir.join("vmlinux"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        kernel_fixtures::kernel_module(SERIES, "btrfs"),
        dir.join("btrfs.ko"),
    )
    .unwrap();
    let from_dir = relocated(Loader::new().btf_directory(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(from_dir, reference);
}
