//! Differential test: the corpus relocated by us and by libbpf 1.7 gives the same instructions
//! at every CO-RE site, and the same objects fail.
//!
//! Targets: each corpus object against the separately compiled layouts made for it
//! (`targets/<object>__<variant>.btf`), and against the Debian 6.1 and 6.12 vmlinux BTF.
//! Needs `cargo xtask build-corpus` and `cargo xtask kernels`, root and BPF (libbpf creates
//! the objects' maps while preparing).

use std::path::{Path, PathBuf};

use core_reloc::BtfOrigin;
use core_reloc::btf::Btf;
use core_reloc::engine::{EngineOptions, Targets};
use core_reloc::object::BpfObject;
use core_reloc::pipeline;
use core_reloc::target::TargetBtf;
use integration::differential::{Site, Tally, compare};
use integration::fixtures::{corpus_dir, kernel_btf_dir, workspace};
use integration::libbpf_reference::relocate_with_libbpf;

/// Every (object, target BTF) pair of the corpus.
fn cases() -> Vec<(PathBuf, PathBuf)> {
    let dir = corpus_dir();
    let mut cases = Vec::new();
    let mut objects: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".bpf.o"))
        .collect();
    objects.sort();
    assert!(objects.len() >= 15, "only {} corpus objects", objects.len());
    for object in &objects {
        let stem = object
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".bpf.o")
            .to_string();
        let mut targets: Vec<PathBuf> = std::fs::read_dir(dir.join("targets"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                let name = path.file_name().unwrap().to_string_lossy();
                name.starts_with(&format!("{stem}__")) && name.ends_with(".btf")
            })
            .collect();
        targets.sort();
        assert!(!targets.is_empty(), "{stem} has no target layout");
        targets.push(kernel_btf_dir("6.1").join("vmlinux"));
        targets.push(kernel_btf_dir("6.12").join("vmlinux"));
        cases.extend(targets.into_iter().map(|target| (object.clone(), target)));
    }
    cases
}

/// Our relocation of one case: the relocated bytes or the failures, and every site.
fn ours(object_path: &Path, target_path: &Path) -> (Result<Vec<u8>, String>, Vec<Site>) {
    let bytes = std::fs::read(object_path).unwrap();
    let object = BpfObject::parse(&bytes).unwrap();
    let local = pipeline::local_btf(&object).unwrap();
    let target = Btf::parse(std::fs::read(target_path).unwrap()).unwrap();
    let mut targets = Targets::new(TargetBtf {
        origin: &BtfOrigin::Vmlinux,
        btf: &target,
    });
    pipeline::want_object_types(&object, &local, &mut targets);
    targets.search();
    let resolutions =
        pipeline::resolve_object(&object, &local, &targets, &[], EngineOptions::default()).unwrap();
    let sites = resolutions
        .iter()
        .map(|r| Site {
            section: r.section.to_string(),
            insn_index: r.site.insn_index,
            kind: r.record.kind,
            access: match &r.result {
                Ok(resolved) => resolved.access.to_string(),
                Err(error) => error.to_string(),
            },
            new_val: r
                .result
                .as_ref()
                .ok()
                .filter(|resolved| !resolved.fixup.is_poison())
                .map(|resolved| resolved.fixup.new_val),
        })
        .collect();
    let relocated = pipeline::apply(&object, &resolutions)
        .map(|relocated| relocated.bytes)
        .map_err(|e| e.to_string());
    (relocated, sites)
}

fn compare_case(object: &Path, target: &Path, tally: &mut Tally) {
    let case = format!(
        "{} vs {}",
        object.file_name().unwrap().to_string_lossy(),
        target.strip_prefix(workspace()).unwrap_or(target).display()
    );
    let (relocated, sites) = ours(object, target);
    let theirs = relocate_with_libbpf(object, target).map_err(|e| e.to_string());
    let ours = relocated
        .as_deref()
        .map(|bytes| (bytes, sites.as_slice()))
        .map_err(Clone::clone);
    compare(&case, ours, theirs, tally);
}

/// The case where libbpf's answer depends on record order and ours does not (a deliberate
/// difference, checked by `binding_does_not_depend_on_record_order_unlike_libbpf`).
fn is_order_dependent_case(object: &Path, target: &Path) -> bool {
    object.ends_with("order_ba.bpf.o") && target.ends_with("targets/order_ba__flavors.btf")
}

#[test]
fn corpus_relocations_equal_libbpf_at_every_core_site() {
    let mut tally = Tally::default();
    let cases = cases();
    for (object, target) in &cases {
        if is_order_dependent_case(object, target) {
            tally.deliberate.push(format!(
                "{} vs {}: libbpf refuses in this record order, we bind by score",
                object.display(),
                target.display()
            ));
            continue;
        }
        compare_case(object, target, &mut tally);
    }
    tally.print(cases.len());
    assert!(
        tally.compared_sites >= 200,
        "only {} sites compared",
        tally.compared_sites
    );
    assert!(
        !tally.agreed_failures.is_empty(),
        "the corpus has cases both refuse"
    );
    assert!(
        tally.mismatches.is_empty(),
        "{} mismatches (see stderr)",
        tally.mismatches.len()
    );
}

/// The one deliberate difference the corpus exercises: `EVU_SMALL = 0x80000001u` in an
/// unsigned enum is 0x80000001 for us and 0xffffffff80000001 for libbpf.
#[test]
fn unsigned_enum_values_are_not_sign_extended_unlike_libbpf() {
    let dir = corpus_dir();
    let object = dir.join("enumval.bpf.o");
    let target = dir.join("targets/enumval__renumbered.btf");
    let mut tally = Tally::default();
    compare_case(&object, &target, &mut tally);
    assert!(tally.mismatches.is_empty(), "{:#?}", tally.mismatches);
    assert_eq!(tally.deliberate.len(), 1, "{:#?}", tally.deliberate);
    let (_, sites) = ours(&object, &target);
    let values: Vec<u64> = sites
        .iter()
        .filter(|site| site.access.ends_with("::EVU_SMALL"))
        .filter_map(|site| site.new_val)
        .collect();
    assert_eq!(values, [0x8000_0001]);
}

/// Local `{a, b}` against flavors `x {a, b}` and `y {b, c}`: we give a = 0, b = 4 whichever
/// field the program reads first. libbpf agrees when `a` is read first (it prunes `y`), and
/// refuses when `b` is read first (both flavors have `b`, at different offsets).
#[test]
fn binding_does_not_depend_on_record_order_unlike_libbpf() {
    let dir = corpus_dir();
    let values = |stem: &str| -> Vec<(String, Option<u64>)> {
        let object = dir.join(format!("{stem}.bpf.o"));
        let target = dir.join(format!("targets/{stem}__flavors.btf"));
        let (relocated, sites) = ours(&object, &target);
        relocated.unwrap();
        let mut values: Vec<_> = sites
            .into_iter()
            .map(|site| (site.access, site.new_val))
            .collect();
        values.sort();
        values
    };
    let expected = [
        ("struct core_order.a".to_string(), Some(0)),
        ("struct core_order.b".to_string(), Some(4)),
    ];
    assert_eq!(values("order_ab"), expected);
    assert_eq!(values("order_ba"), expected);

    // libbpf: the same answer in one order...
    let mut tally = Tally::default();
    compare_case(
        &dir.join("order_ab.bpf.o"),
        &dir.join("targets/order_ab__flavors.btf"),
        &mut tally,
    );
    assert!(tally.mismatches.is_empty(), "{:#?}", tally.mismatches);
    assert_eq!(tally.compared_sites, 2);
    // ...and an ambiguity error in the other.
    let error = relocate_with_libbpf(
        &dir.join("order_ba.bpf.o"),
        &dir.join("targets/order_ba__flavors.btf"),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("ambiguity"), "{error}");
}
