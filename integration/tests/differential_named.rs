//! Host, offline, on both Debian kernels' BTF: the pure-Rust program's named relocations
//! (`btrfs_named`) resolve to the same values as the C programs' `.BTF.ext` records
//! (`btrfs_getattr.bpf.o`, `btrfs_probes.bpf.o`) for the same fields, types and enumerators.

use std::collections::BTreeMap;

use core_reloc::ext::CoreReloKind;
use core_reloc_loader::{KallsymsSource, Loader, Report};
use integration::{fixtures, programs};

fn relocate(series: &str, object: &str) -> Report {
    let path = fixtures::workspace().join("target/ebpf").join(object);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask build-ebpf`)", path.display()));
    Loader::new()
        .btf_directory(fixtures::kernel_btf_dir(series))
        .kallsyms(KallsymsSource::None)
        .relocate(&bytes)
        .unwrap_or_else(|e| panic!("{object} on {series}: {e}"))
        .report
}

/// (kind, access in words) -> the value written (`None`: poisoned); one value per key.
fn values(reports: &[Report]) -> BTreeMap<(CoreReloKind, String), Option<u64>> {
    let mut values = BTreeMap::new();
    for fixup in reports.iter().flat_map(|report| &report.fixups) {
        let previous = values.insert((fixup.kind, fixup.access.to_string()), fixup.new);
        assert!(
            previous.is_none_or(|previous| previous == fixup.new),
            "{fixup}: two values in one object set"
        );
    }
    values
}

fn check(series: &str) {
    let named = relocate(series, programs::RUST_NAMED_BTRFS);
    assert!(named.fixups.iter().all(|fixup| fixup.symbol.is_some()));
    assert_eq!(named.parsed_modules(), ["btrfs"], "{series}");
    let c = values(&[
        relocate(series, programs::C_BTRFS_GETATTR),
        relocate(series, programs::C_BTRFS_PROBES),
    ]);
    let rust = values(&[named]);
    let mut compared = Vec::new();
    for (key, value) in &rust {
        if let Some(c_value) = c.get(key) {
            assert_eq!(value, c_value, "{series}: {} of {}", key.0, key.1);
            compared.push(format!("{} {} = {value:?}", key.0, key.1));
        }
    }
    println!(
        "{series}: {} named relocations equal to .BTF.ext:\n  {}",
        compared.len(),
        compared.join("\n  ")
    );
    // The fields the VM test reads, and every probe of the C program.
    for (kind, access) in [
        (CoreReloKind::FieldByteOffset, "struct path.dentry"),
        (CoreReloKind::FieldByteOffset, "struct dentry.d_inode"),
        (
            CoreReloKind::FieldByteOffset,
            "struct btrfs_inode.vfs_inode",
        ),
        (
            CoreReloKind::FieldByteOffset,
            "struct btrfs_inode.vfs_inode.i_ino",
        ),
        (CoreReloKind::FieldByteOffset, "struct btrfs_inode.root"),
        (
            CoreReloKind::FieldByteOffset,
            "struct btrfs_root.root_key.objectid",
        ),
        (CoreReloKind::FieldByteOffset, "struct btrfs_root.fs_info"),
        (
            CoreReloKind::FieldByteOffset,
            "struct btrfs_fs_info.sectorsize",
        ),
        (
            CoreReloKind::FieldByteOffset,
            "struct btrfs_fs_info.nodesize",
        ),
        (CoreReloKind::FieldExists, "struct btrfs_inode.location"),
        (CoreReloKind::FieldExists, "struct btrfs_inode.generation"),
        (CoreReloKind::FieldByteSize, "struct btrfs_fs_info.nodesize"),
        (CoreReloKind::TypeExists, "struct btrfs_inode"),
        (CoreReloKind::TypeSize, "struct btrfs_inode"),
        (CoreReloKind::TypeSize, "struct btrfs_root"),
        (
            CoreReloKind::EnumvalExists,
            "enum btrfs_map_op::BTRFS_MAP_DISCARD",
        ),
        (
            CoreReloKind::EnumvalValue,
            "enum btrfs_map_op::BTRFS_MAP_GET_READ_MIRRORS",
        ),
    ] {
        let key = (kind, access.to_string());
        assert!(
            rust.contains_key(&key) && c.contains_key(&key),
            "{series}: {kind} of {access} is not in both programs"
        );
    }
}

#[test]
fn named_relocations_equal_btf_ext_records_on_6_1() {
    check("6.1");
}

#[test]
fn named_relocations_equal_btf_ext_records_on_6_12() {
    check("6.12");
}
