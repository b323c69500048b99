//! Which code each program runs, on the real C corpus (`cargo xtask build-corpus`), little-
//! and big-endian: entry sections reach `.text` subprograms through relocated calls to global
//! functions and to static ones (against the section symbol, with the offset in `imm`).

use std::path::PathBuf;

use core_reloc::callgraph::{self, InsnRange, TEXT_SECTION};
use core_reloc::object::BpfObject;

fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ebpf/corpus");
    assert!(
        dir.join("subprogs.bpf.o").exists(),
        "the C corpus is not built: run `cargo xtask build-corpus`"
    );
    dir
}

#[test]
fn subprograms_called_from_a_program_section_belong_to_it() {
    for sub in ["", "bpfeb"] {
        let bytes = std::fs::read(corpus_dir().join(sub).join("subprogs.bpf.o")).unwrap();
        let object = BpfObject::parse(&bytes).unwrap();
        let text = object
            .program_sections()
            .iter()
            .find(|s| s.name == TEXT_SECTION)
            .unwrap()
            .index;
        let programs = callgraph::programs(&object).unwrap();
        assert_eq!(programs.len(), 1, "{programs:?}");
        assert_eq!(programs[0].section, "raw_tp/sys_enter");
        // subprogs_read_a (global, insns 0..4, `call -1` against its symbol) and
        // subprogs_read_c (static, insns 4..6, `call 3` against .text).
        assert_eq!(
            programs[0].subprograms,
            [
                InsnRange {
                    section_index: text,
                    start: 0,
                    end: 4
                },
                InsnRange {
                    section_index: text,
                    start: 4,
                    end: 6
                },
            ],
            "{sub}"
        );
        // Every record of the object is in the program.
        for record in object.records() {
            assert!(
                programs[0].contains(record.site.section_index, record.site.insn_index),
                "{record:?}"
            );
        }
    }
}

#[test]
fn every_corpus_object_has_a_call_graph_and_only_text_is_shared() {
    let dir = corpus_dir();
    let mut checked = 0;
    for sub in [dir.clone(), dir.join("bpfeb")] {
        for entry in std::fs::read_dir(&sub).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().ends_with(".bpf.o") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let object = BpfObject::parse(&bytes).unwrap();
            let programs = callgraph::programs(&object).unwrap();
            let entries = object
                .program_sections()
                .iter()
                .filter(|s| s.name != TEXT_SECTION)
                .count();
            assert_eq!(programs.len(), entries, "{}", path.display());
            for program in &programs {
                assert_ne!(program.section, TEXT_SECTION);
                for range in &program.subprograms {
                    let section = object.program_section(range.section_index).unwrap();
                    assert_eq!(section.name, TEXT_SECTION, "{}", path.display());
                    assert!(range.start < range.end && range.end * 8 <= section.insns.len());
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} objects");
}
