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
use core_reloc::ext::CoreReloKind;
use core_reloc::object::BpfObject;
use core_reloc::relo::{EngineOptions, TargetBtf, Targets};
use core_reloc::relocate::{self, RecordResolution};
use integration::libbpf_reference::relocate_with_libbpf;

const LD_IMM64: u8 = 0x18;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn corpus_dir() -> PathBuf {
    let dir = workspace().join("target/ebpf/corpus");
    assert!(
        dir.join("targets").is_dir(),
        "{} is missing: run `cargo xtask build-corpus`",
        dir.display()
    );
    dir
}

fn kernel_btf(series: &str) -> PathBuf {
    let root = std::env::var_os("CORE_RELOC_KERNELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/kernels"));
    let path = root.join(series).join("btf/vmlinux");
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask kernels`",
        path.display()
    );
    path
}

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
        targets.push(kernel_btf("6.1"));
        targets.push(kernel_btf("6.12"));
        cases.extend(targets.into_iter().map(|target| (object.clone(), target)));
    }
    cases
}

/// Our relocation: the relocated bytes, or the failures; plus every resolution.
struct Ours {
    relocated: Result<Vec<u8>, String>,
    sites: Vec<Site>,
}

struct Site {
    section: String,
    section_offset: usize,
    insn_index: usize,
    kind: CoreReloKind,
    access: String,
    new_val: Option<u64>,
}

fn ours(object_path: &Path, target_path: &Path) -> Ours {
    let bytes = std::fs::read(object_path).unwrap();
    let object = BpfObject::parse(&bytes).unwrap();
    let local = relocate::local_btf(&object).unwrap();
    let target = Btf::parse(std::fs::read(target_path).unwrap()).unwrap();
    let mut targets = Targets::new(TargetBtf {
        origin: &BtfOrigin::Vmlinux,
        btf: &target,
    });
    relocate::want_object_types(&object, &local, &mut targets);
    targets.search();
    let resolutions = relocate::resolve_object(&object, &local, &targets, EngineOptions::default());
    let sites = resolutions
        .iter()
        .map(|r: &RecordResolution<'_>| Site {
            section: r.section.to_string(),
            section_offset: object
                .program_section(r.site.section_index)
                .unwrap()
                .file_offset,
            insn_index: r.site.insn_index,
            kind: r.record.kind,
            access: r
                .result
                .as_ref()
                .map(|res| res.access.clone())
                .unwrap_or_else(|e| e.to_string()),
            new_val: r
                .result
                .as_ref()
                .ok()
                .filter(|res| !res.fixup.is_poison())
                .map(|res| res.fixup.new_val),
        })
        .collect();
    let relocated = relocate::apply(&object, &resolutions)
        .map(|relocated| relocated.bytes)
        .map_err(|e| e.to_string());
    Ours { relocated, sites }
}

/// A documented, deliberate difference: libbpf sign-extends a 32-bit enumerator of an
/// unsigned enum; we widen it by the enum's signedness.
fn is_enum_widening_difference(site: &Site, ours: &[u8], libbpf: &[u8]) -> bool {
    if site.kind != CoreReloKind::EnumvalValue || ours.len() != 16 || libbpf.len() != 16 {
        return false;
    }
    let value = |insns: &[u8]| {
        u64::from(u32::from_le_bytes(insns[4..8].try_into().unwrap()))
            | u64::from(u32::from_le_bytes(insns[12..16].try_into().unwrap())) << 32
    };
    let (our_value, their_value) = (value(ours), value(libbpf));
    our_value <= u64::from(u32::MAX)
        && our_value & 0x8000_0000 != 0
        && their_value == (our_value as u32 as i32 as i64 as u64)
        && ours[..4] == libbpf[..4]
        && ours[8..12] == libbpf[8..12]
}

#[derive(Default)]
struct Tally {
    compared_sites: usize,
    agreed_failures: Vec<String>,
    deliberate: Vec<String>,
    mismatches: Vec<String>,
}

fn compare(object_path: &Path, target_path: &Path, tally: &mut Tally) {
    let case = format!(
        "{} vs {}",
        object_path.file_name().unwrap().to_string_lossy(),
        target_path
            .strip_prefix(workspace())
            .unwrap_or(target_path)
            .display()
    );
    let ours = ours(object_path, target_path);
    let theirs = relocate_with_libbpf(object_path, target_path);
    let (our_bytes, theirs) = match (&ours.relocated, theirs) {
        (Ok(bytes), Ok(theirs)) => (bytes, theirs),
        (Err(ours), Err(_)) => {
            tally.agreed_failures.push(format!("{case}: {ours}"));
            return;
        }
        (Ok(_), Err(error)) => {
            tally
                .mismatches
                .push(format!("{case}: libbpf failed, we did not: {error}"));
            return;
        }
        (Err(error), Ok(_)) => {
            tally
                .mismatches
                .push(format!("{case}: we failed, libbpf did not: {error}"));
            return;
        }
    };
    for site in &ours.sites {
        let start = site.section_offset + site.insn_index * 8;
        let width = if our_bytes[start] == LD_IMM64
            || (site.new_val.is_none() && is_poisoned_pair(&our_bytes[start..]))
        {
            16
        } else {
            8
        };
        let ours_insn = &our_bytes[start..start + width];
        let copies = theirs.sites(&site.section, site.insn_index);
        for copy in copies {
            let mut libbpf_insn = Vec::new();
            for i in 0..width / 8 {
                libbpf_insn.extend(copy.program.insn(copy.insn_index + i).unwrap_or_default());
            }
            tally.compared_sites += 1;
            if ours_insn == libbpf_insn.as_slice() {
                continue;
            }
            let line = format!(
                "{case}: {} insn #{} {} `{}`: ours {:02x?}, libbpf {:02x?} (program {})",
                site.section,
                site.insn_index,
                site.kind,
                site.access,
                ours_insn,
                libbpf_insn,
                copy.program.name()
            );
            if is_enum_widening_difference(site, ours_insn, &libbpf_insn) {
                tally.deliberate.push(line);
            } else {
                tally.mismatches.push(line);
            }
        }
    }
}

fn is_poisoned_pair(insns: &[u8]) -> bool {
    insns.len() >= 16 && insns[0] == 0x85 && insns[8] == 0x85
}

#[test]
fn corpus_relocations_equal_libbpf_at_every_core_site() {
    let mut tally = Tally::default();
    let cases = cases();
    for (object, target) in &cases {
        compare(object, target, &mut tally);
    }
    for mismatch in &tally.mismatches {
        eprintln!("MISMATCH {mismatch}");
    }
    for failure in &tally.agreed_failures {
        eprintln!("both failed: {failure}");
    }
    for deliberate in &tally.deliberate {
        eprintln!("deliberate difference: {deliberate}");
    }
    eprintln!(
        "{} cases, {} CO-RE sites compared, {} cases failed in both, {} deliberate differences, {} mismatches",
        cases.len(),
        tally.compared_sites,
        tally.agreed_failures.len(),
        tally.deliberate.len(),
        tally.mismatches.len()
    );
    assert!(
        tally.compared_sites >= 200,
        "only {} sites compared",
        tally.compared_sites
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
    compare(&object, &target, &mut tally);
    assert!(tally.mismatches.is_empty(), "{:#?}", tally.mismatches);
    assert_eq!(tally.deliberate.len(), 1, "{:#?}", tally.deliberate);
    let ours = ours(&object, &target);
    let values: Vec<u64> = ours
        .sites
        .iter()
        .filter(|site| site.access.ends_with("::EVU_SMALL"))
        .filter_map(|site| site.new_val)
        .collect();
    assert_eq!(values, [0x8000_0001]);
}
