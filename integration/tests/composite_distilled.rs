//! `CompositeBtf` module sources holding `.BTF.base` modules: the test module of
//! `cargo xtask kmod` (built for an older 6.12 ABI, distilled) from a file, from an xz-compressed
//! `/lib/modules`-style tree, and onto a vmlinux it does not fit.

use std::fs;
use std::path::PathBuf;

use core_reloc::btf::{Btf, Kind};
use core_reloc::btf_file::{BtfFile, BtfFileError};
use core_reloc::composite::{CompositeBtf, ModuleError};
use core_reloc::split_base::{RelocateError, relocate_module_btf};
use integration::fixtures::workspace;

const MODULE: &str = "core_reloc_testmod";

fn kernels() -> PathBuf {
    std::env::var_os("CORE_RELOC_KERNELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/kernels"))
}

fn kmod(variant: u32) -> PathBuf {
    let path = workspace().join(format!("target/kmod/{MODULE}-v{variant}.ko"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask kmod`",
        path.display()
    );
    path
}

fn record_size(btf: &Btf<'_>) -> u32 {
    let id = btf.find_by_name_kind("crt_record", Kind::Struct).unwrap();
    btf.type_by_id(id).unwrap().size().unwrap()
}

#[test]
fn a_distilled_module_file_is_relocated_onto_vmlinux() {
    let vmlinux = kernels().join("6.12/vmlinux");
    let kernel = CompositeBtf::from_files(&vmlinux, [(MODULE, kmod(1))]).unwrap();
    let module = kernel.module(MODULE).unwrap();
    assert_eq!(record_size(module), 56);
    // The same bytes as relocating the .ko's sections by hand, which the 6.12 guest's kernel
    // was shown to produce too (vm_kmod).
    let file = BtfFile::open(kmod(1)).unwrap();
    let vmlinux_btf = Btf::parse(fs::read(kernels().join("6.12/btf/vmlinux")).unwrap()).unwrap();
    let expected =
        relocate_module_btf(&file.btf, file.btf_base.as_deref().unwrap(), &vmlinux_btf).unwrap();
    assert_eq!(module.bytes(), &expected[..]);
    // The file's own .BTF is split on the distilled base, not on vmlinux.
    assert_ne!(&file.btf[..], &expected[..]);
}

#[test]
fn a_compressed_module_tree_relocates_its_distilled_modules() {
    let tree = workspace().join("target/tmp/composite_distilled/lib/modules/6.12.115/extra");
    fs::create_dir_all(&tree).unwrap();
    let ko = tree.join(format!("{MODULE}.ko"));
    fs::copy(kmod(2), &ko).unwrap();
    let status = std::process::Command::new("xz")
        .args(["-f", "-q"])
        .arg(&ko)
        .status()
        .expect("xz (Debian package xz-utils) runs");
    assert!(status.success());
    let kernel =
        CompositeBtf::from_module_tree(kernels().join("6.12/vmlinux"), tree.parent().unwrap())
            .unwrap();
    assert_eq!(record_size(kernel.module(MODULE).unwrap()), 104);
}

#[test]
fn a_module_that_does_not_fit_fails_alone_with_the_type_named() {
    // 6.1's vmlinux has no `char` the module's distilled base can match (see the differential).
    let btrfs = kernels().join("6.1/btf/btrfs");
    let kernel = CompositeBtf::from_files(
        kernels().join("6.1/vmlinux"),
        [(MODULE, kmod(1)), ("btrfs", btrfs)],
    )
    .unwrap();
    let error = kernel.module(MODULE).unwrap_err();
    let ModuleError::File { source, .. } = &error else {
        panic!("{error:?}");
    };
    let BtfFileError::Relocate { source, .. } = &**source else {
        panic!("{source:?}");
    };
    assert!(
        matches!(source, RelocateError::NoMatch { name, .. } if name == "char"),
        "{source}"
    );
    assert!(kernel.module("btrfs").is_ok());
}

#[test]
fn a_module_missing_from_the_btf_directory_comes_from_the_tree() {
    // A /sys/kernel/btf-like directory without the test module, and a module tree with it
    // (xz-compressed) and with btrfs, which the directory has too and keeps.
    let root = workspace().join("target/tmp/composite_dir_and_tree");
    let (dir, tree) = (root.join("btf"), root.join("modules"));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(tree.join("extra")).unwrap();
    fs::create_dir_all(tree.join("kernel/fs/btrfs")).unwrap();
    let btf = kernels().join("6.12/btf");
    fs::copy(btf.join("vmlinux"), dir.join("vmlinux")).unwrap();
    fs::copy(btf.join("btrfs"), dir.join("btrfs")).unwrap();
    fs::copy(
        kernels().join("6.12/modules/btrfs.ko"),
        tree.join("kernel/fs/btrfs/btrfs.ko"),
    )
    .unwrap();
    let ko = tree.join(format!("extra/{MODULE}.ko"));
    fs::copy(kmod(1), &ko).unwrap();
    let status = std::process::Command::new("xz")
        .args(["-f", "-q"])
        .arg(&ko)
        .status()
        .expect("xz runs");
    assert!(status.success());

    let kernel = CompositeBtf::from_dir_and_tree(&dir, &tree).unwrap();
    assert_eq!(kernel.module_names().collect::<Vec<_>>(), ["btrfs", MODULE]);
    assert_eq!(record_size(kernel.module(MODULE).unwrap()), 56);
    assert_eq!(
        kernel.module("btrfs").unwrap().bytes(),
        &fs::read(btf.join("btrfs")).unwrap()[..]
    );
}
