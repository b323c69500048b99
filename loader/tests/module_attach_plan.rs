//! Module attach targets and module kfuncs resolved against the Debian kernels' offline BTF:
//! the ids are the ones the guests' kernels accepted (`cargo xtask vm`, vm_module_attach) and
//! bpftool prints for those BTF files (`bpftool btf dump file btf/btrfs -B btf/vmlinux`).

mod common;

use core_reloc::origin::BtfOrigin;
use core_reloc_loader::btf_attach::ResolveError;
use core_reloc_loader::{KallsymsSource, LoadError, Loader, ModuleLoadError};

fn loader(series: &str) -> Loader {
    let mut loader = Loader::new();
    loader
        .btf_directory(common::kernel_btf_dir(series))
        .kallsyms(KallsymsSource::None);
    loader
}

/// A planned program: its name, `"TARGET ORIGIN ID"` (empty without a target), and the kernel
/// symbols it uses with their ids.
type Planned = (String, String, Vec<(String, u32)>);

fn ids(series: &str, object: &str) -> Vec<Planned> {
    let bytes = std::fs::read(common::ebpf_object(object)).unwrap();
    loader(series)
        .module_attachments(&bytes)
        .unwrap()
        .into_iter()
        .map(|attachment| {
            println!("{series}: {attachment}");
            let target = attachment
                .target
                .map(|(name, id)| format!("{name} {} {}", id.origin, id.id.0))
                .unwrap_or_default();
            let symbols = attachment
                .symbols
                .into_iter()
                .map(|(name, id)| {
                    let id = id.expect("resolved");
                    assert_eq!(id.origin, BtfOrigin::module("nf_conntrack"));
                    (name, id.id.0)
                })
                .collect();
            (attachment.program, target, symbols)
        })
        .collect()
}

#[test]
fn fentry_and_fexit_targets_are_btrfs_split_ids() {
    let ids_6_1 = (104867, 105417, 103503);
    let ids_6_12 = (115082, 116747, 113235);
    for (series, (getattr, delayed_node, sync_file)) in [("6.1", ids_6_1), ("6.12", ids_6_12)] {
        let mut expected = vec![
            (
                "btrfs_fentry_inode".to_string(),
                format!("btrfs_get_delayed_node btrfs {delayed_node}"),
                vec![],
            ),
            (
                "btrfs_fexit_getattr".to_string(),
                format!("btrfs_getattr btrfs {getattr}"),
                vec![],
            ),
        ];
        assert_eq!(ids(series, "btrfs_fentry_rs"), expected, "{series} Rust");
        assert_eq!(
            ids(series, "btrfs_fentry_named"),
            expected,
            "{series} pure Rust"
        );
        expected.push((
            "btrfs_tp_sync_file".to_string(),
            format!("btf_trace_btrfs_sync_file btrfs {sync_file}"),
            vec![],
        ));
        assert_eq!(ids(series, "btrfs_fentry.bpf.o"), expected, "{series} C");
    }
}

#[test]
fn conntrack_kfuncs_are_nf_conntrack_split_ids() {
    for (series, release, lookup) in [("6.1", 101191, 101199), ("6.12", 113380, 113388)] {
        assert_eq!(
            ids(series, "ct_lookup.bpf.o"),
            [(
                "ct_lookup_absent".to_string(),
                String::new(),
                vec![
                    ("bpf_ct_release".to_string(), release),
                    ("bpf_xdp_ct_lookup".to_string(), lookup)
                ]
            )],
            "{series}"
        );
    }
}

#[test]
fn programs_aya_can_load_are_not_planned() {
    let bytes = std::fs::read(common::ebpf_object("btrfs_getattr.bpf.o")).unwrap();
    assert!(
        loader("6.12")
            .module_attachments(&bytes)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_module_function_the_module_lacks_is_a_typed_error() {
    let mut bytes = std::fs::read(common::ebpf_object("btrfs_fentry.bpf.o")).unwrap();
    let (from, to) = (b"btrfs:btrfs_getattr", b"btrfs:btrfs_getattX");
    let sites: Vec<usize> = (0..bytes.len() - from.len())
        .filter(|&at| &bytes[at..at + from.len()] == from)
        .collect();
    for at in sites {
        bytes[at..at + from.len()].copy_from_slice(to);
    }
    match loader("6.12").module_attachments(&bytes) {
        Err(LoadError::ModuleLoad(ModuleLoadError::Target { section, source })) => {
            assert_eq!(section, "fexit/btrfs:btrfs_getattX");
            assert_eq!(
                source,
                ResolveError::NoBtf {
                    name: "btrfs_getattX".into(),
                    kind: "FUNC",
                    origin: BtfOrigin::module("btrfs")
                }
            );
        }
        other => panic!("{other:?}"),
    }
}
