//! The libbpf reference relocates the C corpus: known offsets land where the target layouts put
//! them, poisoned reads are poisoned, and every CO-RE site maps back to libbpf's instructions.
//! Needs root and BPF (libbpf creates the objects' maps) and `cargo xtask build-corpus`.

use core_reloc::ext::CoreReloKind;
use core_reloc::object::BpfObject;
use integration::fixtures::corpus_dir;
use integration::libbpf_reference::{LibbpfError, LibbpfRelocation, relocate_with_libbpf};

fn relocate(case: &str, variant: &str) -> (Vec<u8>, LibbpfRelocation) {
    let dir = corpus_dir();
    let object = dir.join(format!("{case}.bpf.o"));
    let btf = dir.join("targets").join(format!("{case}__{variant}.btf"));
    let done = relocate_with_libbpf(&object, &btf).unwrap_or_else(|e| panic!("{case}: {e}"));
    (std::fs::read(object).unwrap(), done)
}

/// `(section name, insn index, kind)` of each record whose access string is `access` on a root
/// type, in file order.
fn records(bytes: &[u8]) -> Vec<(String, usize, CoreReloKind)> {
    let object = BpfObject::parse(bytes).unwrap();
    object
        .core_relocations()
        .iter()
        .flat_map(|group| {
            group.records.iter().map(|r| {
                (
                    group.section_name.to_owned(),
                    r.site.insn_index,
                    r.relo.kind,
                )
            })
        })
        .collect()
}

fn ldx_off(insn: [u8; 8]) -> Option<i16> {
    (insn[0] & 0x07 == 0x01).then(|| i16::from_ne_bytes([insn[2], insn[3]]))
}

const POISON: [u8; 8] = {
    let imm = 0x0bad2310_i32.to_ne_bytes();
    [0x85, 0, 0, 0, imm[0], imm[1], imm[2], imm[3]]
};

/// flavors_direct loads a, b, c at 0, 4, 8; the target has c, a, new_name, b.
#[test]
fn direct_loads_follow_the_target_layout() {
    let (bytes, done) = relocate("flavors", "moved");
    let program = done
        .programs
        .iter()
        .find(|p| p.name() == "flavors_direct")
        .unwrap();
    assert_eq!(program.section_name(), "raw_tp/sys_enter");
    let offsets: Vec<i16> = records(&bytes)
        .iter()
        .flat_map(|(section, insn, _)| done.sites(section, *insn))
        .filter(|site| site.program.name() == "flavors_direct")
        .filter_map(|site| ldx_off(site.program.insn(site.insn_index).unwrap()))
        .collect();
    assert_eq!(offsets, [4, 12, 0]);
}

/// A flavored target type is a candidate too; the original program is found in the log.
#[test]
fn flavored_target_is_used() {
    let (bytes, done) = relocate("flavors", "flavored");
    let offsets: Vec<i16> = records(&bytes)
        .iter()
        .flat_map(|(section, insn, _)| done.sites(section, *insn))
        .filter(|site| site.program.name() == "flavors_direct")
        .filter_map(|site| ldx_off(site.program.insn(site.insn_index).unwrap()))
        .collect();
    // struct core_flavors___target { long long pad; int b; int old_name; int a; int c; }
    assert_eq!(offsets, [16, 8, 20]);
    assert!(done.log.contains("flavors_direct"), "{}", done.log);
}

/// Sites in `.text` appear in every program that calls the subprogram.
#[test]
fn subprogram_sites_appear_in_every_caller() {
    let (bytes, done) = relocate("subprogs", "moved");
    let text_sites: Vec<_> = records(&bytes)
        .into_iter()
        .filter(|(section, _, _)| section == ".text")
        .collect();
    assert_eq!(text_sites.len(), 3);
    // subprogs_read_a's first record: in->a, local offset 0, target offset 20.
    let (section, insn, kind) = &text_sites[0];
    assert_eq!(*kind, CoreReloKind::FieldByteOffset);
    let sites = done.sites(section, *insn);
    let mut callers: Vec<_> = sites.iter().map(|s| s.program.name()).collect();
    callers.sort();
    assert_eq!(callers, ["subprogs_first", "subprogs_second"]);
    for site in &sites {
        assert!(
            site.insn_index >= site.program.own.insn_count,
            "appended after own code"
        );
        assert_eq!(
            ldx_off(site.program.insn(site.insn_index).unwrap()),
            Some(20)
        );
    }
    // subprogs_read_c is appended only to subprogs_second.
    let (section, insn, _) = &text_sites[2];
    let sites = done.sites(section, *insn);
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].program.name(), "subprogs_second");
}

/// Reads of fields the target lacks are poisoned by libbpf, not rejected.
#[test]
fn missing_fields_are_poisoned() {
    let (bytes, done) = relocate("failures", "missing");
    let program = done
        .programs
        .iter()
        .find(|p| p.name() == "failures_missing_field")
        .unwrap();
    let insns: Vec<[u8; 8]> = records(&bytes)
        .iter()
        .flat_map(|(section, insn, _)| done.sites(section, *insn))
        .filter(|site| site.program.name() == program.name())
        .map(|site| site.program.insn(site.insn_index).unwrap())
        .collect();
    // in->present: target offset 12; in->missing_field: poisoned.
    assert_eq!(insns.len(), 2);
    assert_eq!(ldx_off(insns[0]), Some(12));
    assert_eq!(insns[1], POISON);
}

/// Every CO-RE site of every corpus object maps to at least one libbpf instruction, or libbpf
/// explains its refusal.
#[test]
fn every_site_of_the_corpus_maps_back() {
    let dir = corpus_dir();
    let mut targets: Vec<_> = std::fs::read_dir(dir.join("targets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "btf"))
        .collect();
    targets.sort();
    assert!(targets.len() >= 15);
    let mut relocated = 0;
    for btf in targets {
        let stem = btf.file_stem().unwrap().to_str().unwrap();
        let case = stem.split("__").next().unwrap();
        let object = dir.join(format!("{case}.bpf.o"));
        match relocate_with_libbpf(&object, &btf) {
            Ok(done) => {
                relocated += 1;
                let bytes = std::fs::read(&object).unwrap();
                for (section, insn, kind) in records(&bytes) {
                    assert!(
                        !done.sites(&section, insn).is_empty(),
                        "{stem}: {section}+{insn} ({kind}) not found in libbpf's programs"
                    );
                }
            }
            Err(error) => {
                let error = error.downcast::<LibbpfError>().unwrap();
                eprintln!("{stem}: {error}");
                assert!(error.warnings().next().is_some(), "{stem}: {error}");
            }
        }
    }
    assert!(relocated >= 15, "libbpf relocated only {relocated} pairs");
}

#[test]
fn libbpf_errors_carry_its_log() {
    let dir = corpus_dir();
    let error = relocate_with_libbpf(
        &dir.join("flavors.bpf.o"),
        &dir.join("targets/no-such-target.btf"),
    )
    .unwrap_err()
    .downcast::<LibbpfError>()
    .unwrap();
    assert!(error.errno < 0);
    assert!(!error.log.is_empty());
    assert!(error.to_string().contains("libbpf"), "{error}");
}

/// Our ELF out is loadable by libbpf as is: applying libbpf's own results with our patcher and
/// hiding the records gives an object that libbpf prepares to the same instructions.
#[test]
fn our_relocated_copy_is_accepted_by_libbpf_unchanged() {
    use core_reloc::fixup::{FieldAccess, FieldClass, Fixup, MemSize, PoisonReason};

    let dir = corpus_dir();
    let scratch = std::env::temp_dir().join(format!("libbpf-reference-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    for (case, variant) in [
        ("flavors", "moved"),
        ("subprogs", "moved"),
        ("failures", "missing"),
        ("ints", "resized"),
        ("enum64val", "renumbered"),
        ("bitfields", "moved"),
    ] {
        let (bytes, reference) = relocate(case, variant);
        assert!(reference.log.contains("CO-RE relocations"), "{case}");
        let object = BpfObject::parse(&bytes).unwrap();
        let fixups: Vec<Fixup> = object
            .records()
            .map(|record| {
                let section = object.program_section(record.site.section_index).unwrap();
                let site = reference.sites(section.name, record.site.insn_index)[0];
                let theirs = site.program.insn(site.insn_index).unwrap();
                let ours: [u8; 8] = section.insns[record.site.insn_index * 8..][..8]
                    .try_into()
                    .unwrap();
                let fixup = |new| Fixup::rewrite(record.site, record.relo.kind, 0, new);
                if theirs == POISON {
                    return Fixup::poison(record.site, record.relo.kind, 0, PoisonReason::NotFound)
                        .without_validation();
                }
                let size = |code: u8| [4, 2, 1, 8][usize::from(code >> 3 & 3)];
                let unsigned = |size| FieldAccess {
                    size,
                    class: FieldClass::UnsignedInt,
                };
                match theirs[0] & 0x07 {
                    0x01..=0x03 => fixup(i16::from_ne_bytes([theirs[2], theirs[3]]) as u64)
                        .with_mem_size(MemSize {
                            local: unsigned(size(ours[0])),
                            target: unsigned(size(theirs[0])),
                        }),
                    0x00 => {
                        let next = site.program.insn(site.insn_index + 1).unwrap();
                        let low = u32::from_ne_bytes(theirs[4..8].try_into().unwrap());
                        let high = u32::from_ne_bytes(next[4..8].try_into().unwrap());
                        fixup(u64::from(low) | u64::from(high) << 32)
                    }
                    0x04 => fixup(u64::from(u32::from_ne_bytes(
                        theirs[4..8].try_into().unwrap(),
                    ))),
                    _ => fixup(i32::from_ne_bytes(theirs[4..8].try_into().unwrap()) as i64 as u64),
                }
                .without_validation()
            })
            .collect();
        let ours = object
            .relocate(&fixups)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let path = scratch.join(format!("{case}.bpf.o"));
        std::fs::write(&path, &ours.bytes).unwrap();
        let btf = dir.join("targets").join(format!("{case}__{variant}.btf"));
        let again = relocate_with_libbpf(&path, &btf).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(
            !again.log.contains("CO-RE relocations"),
            "{case}: libbpf relocated the copy again:\n{}",
            again.log
        );
        assert_eq!(
            without_map_fds(&again),
            without_map_fds(&reference),
            "{case}"
        );
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// The programs' instructions with map file descriptors (which differ between opens) zeroed.
fn without_map_fds(done: &LibbpfRelocation) -> Vec<(String, Vec<u8>)> {
    done.programs
        .iter()
        .map(|program| {
            let mut insns = program.insns.clone();
            for insn in insns.as_chunks_mut::<8>().0 {
                // LD_IMM64 with src_reg BPF_PSEUDO_MAP_FD or BPF_PSEUDO_MAP_VALUE.
                if insn[0] == 0x18 && matches!(insn[1] >> 4, 1 | 2) {
                    insn[4..8].fill(0);
                }
            }
            (program.name().to_owned(), insns)
        })
        .collect()
}
