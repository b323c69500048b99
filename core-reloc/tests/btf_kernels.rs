//! The BTF reader on real Debian kernel BTF (vmlinux and btrfs as split BTF), fetched by
//! `cargo xtask kernels` into `target/kernels/<series>/btf/` (root overridable with
//! `CORE_RELOC_KERNELS`). Missing fixtures fail the tests; they never pass silently.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use core_reloc::btf::{Btf, Kind, LoadMethod, Type, TypeId};

const SERIES: [&str; 2] = ["6.1", "6.12"];

fn blob(series: &str, name: &str) -> PathBuf {
    kernel_fixtures::kernel_btf(series, name)
}

/// vmlinux and btrfs (split on it) of one series.
fn load(series: &str) -> (Arc<Btf<'static>>, Btf<'static>) {
    let vmlinux = Arc::new(Btf::from_file(blob(series, "vmlinux")).expect("vmlinux BTF parses"));
    let btrfs = Btf::from_file_split(blob(series, "btrfs"), vmlinux.clone())
        .expect("btrfs BTF parses as split on vmlinux");
    (vmlinux, btrfs)
}

/// Byte offset of `member` in struct `name`, searching direct members only.
fn member_offset(btf: &Btf<'_>, name: &str, member: &str) -> Option<u32> {
    let id = btf.find_by_name_kind(name, Kind::Struct)?;
    let ty = btf.type_by_id(id).unwrap();
    ty.members()
        .unwrap()
        .find(|m| btf.str_at(m.name_offset).unwrap() == member)
        .map(|m| m.bit_offset / 8)
}

#[test]
fn every_type_of_vmlinux_and_btrfs_is_readable() {
    for series in SERIES {
        let (vmlinux, btrfs) = load(series);
        assert_eq!(vmlinux.load_info().method, LoadMethod::Mapped);
        assert_eq!(vmlinux.load_info().bytes, vmlinux.bytes().len());
        assert!(
            vmlinux.own_type_count() > 50_000,
            "{series}: vmlinux is big"
        );
        assert_eq!(btrfs.first_type_id(), TypeId(vmlinux.type_count()));
        assert_eq!(btrfs.strings_start(), vmlinux.strings_end());
        for btf in [&*vmlinux, &btrfs] {
            for ty in btf.types() {
                read_everything(btf, &ty);
            }
        }
    }
}

/// Reads every field of `ty` and resolves every id and string it refers to.
fn read_everything(btf: &Btf<'_>, ty: &Type<'_>) {
    let id = ty.id();
    let context = || format!("type [{id}] {:?}", ty);
    btf.name(ty)
        .unwrap_or_else(|e| panic!("{}: {e}", context()));
    assert!(
        !matches!(ty.kind(), Kind::Unknown(_) | Kind::Void),
        "{}",
        context()
    );
    if let Some(target) = ty.type_ref() {
        btf.type_by_id(target)
            .unwrap_or_else(|e| panic!("{}: {e}", context()));
    }
    let name_of = |offset| {
        btf.str_at(offset)
            .unwrap_or_else(|e| panic!("{}: {e}", context()))
    };
    let check_id = |target: TypeId| {
        btf.type_by_id(target)
            .unwrap_or_else(|e| panic!("{}: {e}", context()));
    };
    if let Some(members) = ty.members() {
        assert_eq!(members.len(), ty.vlen() as usize);
        for m in members {
            name_of(m.name_offset);
            check_id(m.type_id);
        }
    }
    if let Some(values) = ty.enum_values() {
        for v in values {
            assert!(!name_of(v.name_offset).is_empty());
        }
    }
    if let Some(params) = ty.params() {
        for p in params {
            name_of(p.name_offset);
            check_id(p.type_id);
        }
    }
    if let Some(entries) = ty.datasec_entries() {
        for e in entries {
            check_id(e.type_id);
        }
    }
    if let Some(array) = ty.array() {
        check_id(array.elem_type);
        check_id(array.index_type);
    }
    match ty.kind() {
        Kind::Int | Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Float => {
            assert_eq!(btf.resolved_size(id).ok(), ty.size(), "{}", context());
        }
        Kind::Ptr => assert_eq!(btf.resolved_size(id).unwrap(), 8),
        Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
            btf.skip_mods_and_typedefs(id)
                .unwrap_or_else(|e| panic!("{}: {e}", context()));
        }
        _ => {}
    }
}

#[test]
fn btrfs_inode_layout_differs_between_6_1_and_6_12() {
    // (series, sizeof(struct btrfs_inode), offsetof(generation), has `location`)
    for (series, size, generation, has_location) in
        [("6.1", 1152, 264, true), ("6.12", 1016, 160, false)]
    {
        let (vmlinux, btrfs) = load(series);
        assert_eq!(
            vmlinux.find_by_name_kind("btrfs_inode", Kind::Struct),
            None,
            "{series}: btrfs_inode is a module type"
        );
        let inode = btrfs
            .find_by_name_kind("btrfs_inode", Kind::Struct)
            .unwrap_or_else(|| panic!("{series}: struct btrfs_inode in btrfs BTF"));
        assert!(inode >= btrfs.first_type_id());
        assert_eq!(btrfs.resolved_size(inode).unwrap(), size, "{series}");
        assert_eq!(
            member_offset(&btrfs, "btrfs_inode", "generation"),
            Some(generation),
            "{series}"
        );
        assert_eq!(
            member_offset(&btrfs, "btrfs_inode", "location").is_some(),
            has_location,
            "{series}"
        );
        // A vmlinux type reached through the module: struct inode vfs_inode.
        let vfs_inode = btrfs
            .type_by_id(inode)
            .unwrap()
            .members()
            .unwrap()
            .find(|m| btrfs.str_at(m.name_offset).unwrap() == "vfs_inode")
            .expect("vfs_inode member");
        assert!(vfs_inode.type_id < btrfs.first_type_id());
        assert_eq!(btrfs.type_name(vfs_inode.type_id).unwrap(), "inode");
        assert!(btrfs.own_strings_contain("btrfs_inode"));
        assert!(!vmlinux.own_strings_contain("btrfs_inode"));
    }
}

/// Formats `ty` exactly as `bpftool btf dump ... format raw` does (the library's dump).
fn bpftool_raw(btf: &Btf<'_>, ty: &Type<'_>, out: &mut String) {
    core_reloc::btf_dump::write_raw(btf, ty, out).unwrap();
}

fn run_bpftool(args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new("bpftool")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("this test needs `bpftool` on PATH (Debian package bpftool): {e}")
        });
    assert!(
        output.status.success(),
        "bpftool {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("bpftool output is UTF-8")
}

/// Compares our rendering with bpftool's line by line, reporting the first difference.
fn assert_same_dump(what: &str, ours: &str, bpftool: &str) {
    let ours: Vec<&str> = ours.lines().collect();
    let theirs: Vec<&str> = bpftool.lines().collect();
    assert!(
        theirs.len() > 1000,
        "{what}: bpftool printed only {} lines",
        theirs.len()
    );
    for (index, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(
            a,
            b,
            "{what}: line {} differs (ours, then bpftool's)",
            index + 1
        );
    }
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{what}: dumps have different lengths"
    );
}

#[test]
fn raw_dump_matches_bpftool() {
    for series in SERIES {
        let (vmlinux, btrfs) = load(series);
        let vmlinux_path = blob(series, "vmlinux");
        let btrfs_path = blob(series, "btrfs");

        let mut ours = String::new();
        for ty in vmlinux.types() {
            bpftool_raw(&vmlinux, &ty, &mut ours);
        }
        let theirs = run_bpftool(&[
            "btf".as_ref(),
            "dump".as_ref(),
            "file".as_ref(),
            vmlinux_path.as_os_str(),
            "format".as_ref(),
            "raw".as_ref(),
        ]);
        assert_same_dump(&format!("{series} vmlinux"), &ours, &theirs);

        let mut ours = String::new();
        for ty in btrfs.types() {
            bpftool_raw(&btrfs, &ty, &mut ours);
        }
        let theirs = run_bpftool(&[
            "-B".as_ref(),
            vmlinux_path.as_os_str(),
            "btf".as_ref(),
            "dump".as_ref(),
            "file".as_ref(),
            btrfs_path.as_os_str(),
            "format".as_ref(),
            "raw".as_ref(),
        ]);
        assert_same_dump(&format!("{series} btrfs"), &ours, &theirs);
    }
}
