//! Module attach targets and module kfuncs resolved against the Debian kernels' offline BTF:
//! the ids are the ones the guests' kernels accepted (`cargo xtask vm`, vm_module_attach) and
//! bpftool prints for those BTF files (`bpftool btf dump file btf/btrfs -B btf/vmlinux`).

mod common;

use core_reloc::btf::Kind;
use core_reloc::origin::BtfOrigin;
use core_reloc_loader::btf_attach::ResolveError;
use core_reloc_loader::{KallsymsSource, KernelBtf, LoadError, Loader, ModuleLoadError};

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

/// `testmod_fmodret.bpf.o` against the test module (`cargo xtask kmod`, distilled, its
/// `.BTF` relocated here onto the 6.12 image it was built for).
fn testmod_loader() -> Loader {
    let vmlinux = kernel_fixtures::kernel_btf("6.12-kmod", "vmlinux");
    let ko = common::workspace().join("target/kmod/core_reloc_testmod-v1.ko");
    assert!(
        ko.is_file(),
        "{} is missing: run `cargo xtask kmod`",
        ko.display()
    );
    let mut loader = Loader::new();
    loader
        .kernel_btf(KernelBtf::Files {
            vmlinux,
            modules: vec![("core_reloc_testmod".to_string(), ko)],
        })
        .kallsyms(KallsymsSource::None);
    loader
}

#[test]
fn fmod_ret_target_and_typed_ksym_variable_resolve_in_the_test_module() {
    let bytes = std::fs::read(common::ebpf_object("testmod_fmodret.bpf.o")).unwrap();
    let attachments = testmod_loader().module_attachments(&bytes).unwrap();
    let [attachment] = &attachments[..] else {
        panic!("one program: {attachments:?}");
    };
    println!("{attachment}");
    assert_eq!(attachment.program, "crt_refuse_input");
    assert_eq!(attachment.section, "fmod_ret/crt_testmod_observe");
    let (target, id) = attachment.target.clone().unwrap();
    let module = BtfOrigin::module("core_reloc_testmod");
    // Ids in the module's BTF after relocation onto vmlinux: its own types keep their order
    // and follow vmlinux's instead of the distilled base's. The distilled ids are read from
    // the .ko (they depend on the build: kbuild's DWARF is not the same on every machine).
    let vmlinux_types = core_reloc::btf::Btf::parse(
        std::fs::read(kernel_fixtures::kernel_btf("6.12-kmod", "vmlinux")).unwrap(),
    )
    .unwrap()
    .type_count();
    assert_eq!(
        (target.as_str(), &id.origin),
        ("crt_testmod_observe", &module)
    );
    let (base_types, distilled) = distilled_test_module();
    let distilled_id = |name: &str, kind: Kind| distilled.find_by_name_kind(name, kind).unwrap().0;
    assert_eq!(
        id.id.0,
        vmlinux_types + distilled_id("crt_testmod_observe", Kind::Func) - base_types
    );
    let [(ksym, Some(ksym_id))] = &attachment.symbols[..] else {
        panic!("one resolved symbol: {:?}", attachment.symbols);
    };
    assert_eq!(
        (ksym.as_str(), &ksym_id.origin),
        ("crt_testmod_writes", &module)
    );
    assert_eq!(
        ksym_id.id.0,
        vmlinux_types + distilled_id("crt_testmod_writes", Kind::Var) - base_types
    );
}

/// The test module's `.BTF.base` type count and its `.BTF` as distilled, split on that
/// base: the numbering the .ko carries, before any relocation.
fn distilled_test_module() -> (u32, core_reloc::btf::Btf<'static>) {
    let ko =
        std::fs::read(common::workspace().join("target/kmod/core_reloc_testmod-v1.ko")).unwrap();
    let file = core_reloc::btf_file::BtfFile::parse(ko).unwrap();
    let base = std::sync::Arc::new(
        core_reloc::btf::Btf::parse(file.btf_base.expect(".BTF.base")).unwrap(),
    );
    let count = base.type_count();
    (
        count,
        core_reloc::btf::Btf::parse_split(file.btf, base).unwrap(),
    )
}

#[test]
fn fmod_ret_sections_reach_aya_obj_as_fexit_with_their_func_info() {
    let bytes = std::fs::read(common::ebpf_object("testmod_fmodret.bpf.o")).unwrap();
    // Why the disguise: aya-obj 0.6 has no fmod_ret section.
    assert!(aya_obj::Object::parse(&bytes).is_err());
    let disguised = core_reloc_loader::fmod_ret::disguise_as_fexit(&bytes).unwrap();
    assert_eq!(disguised.len(), bytes.len());
    let object = aya_obj::Object::parse(&disguised).unwrap();
    let program = &object.programs["crt_refuse_input"];
    assert!(matches!(
        program.section,
        aya_obj::ProgramSection::FExit { sleepable: false }
    ));
    // .BTF.ext names sections by .BTF strings: renamed there too, the func_info is found.
    let function = &object.functions[&program.function_key()];
    assert_eq!(function.func_info.num_info, 1);
    assert!(function.line_info.num_info > 0);
    // An object without fmod_ret comes back as it was.
    let other = std::fs::read(common::ebpf_object("btrfs_fentry.bpf.o")).unwrap();
    assert_eq!(
        core_reloc_loader::fmod_ret::disguise_as_fexit(&other).unwrap(),
        other
    );
}
