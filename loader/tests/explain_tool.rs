//! The `core-reloc` tool prints and writes exactly what `Loader` does: its JSON lines match the
//! relocated instructions of `Loader::relocate`, and `relocate -o` writes the same bytes.

mod common;

use std::process::Command;

use core_reloc::object::BpfObject;
use core_reloc_loader::{KallsymsSource, Loader, ModuleSearch};

/// The value of `"key":` in a flat JSON line (strings unquoted; nested objects raw).
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("{key} in {line}"))
        + key.len()
        + 3;
    let rest = &line[start..];
    let end = if rest.starts_with('{') {
        rest.find('}').unwrap() + 1
    } else if let Some(quoted) = rest.strip_prefix('"') {
        return &quoted[..quoted.find('"').unwrap()];
    } else {
        rest.find([',', '}']).unwrap()
    };
    &rest[..end]
}

/// The value an instruction carries for CO-RE: imm (ALU, LD_IMM64 64-bit) or off (memory).
fn insn_value(insns: &[u8], index: usize) -> u64 {
    let insn = &insns[index * 8..index * 8 + 8];
    let imm = u32::from_le_bytes(insn[4..8].try_into().unwrap());
    match insn[0] & 0x07 {
        // LDX, ST, STX: the offset.
        0x01..=0x03 => u64::from(u16::from_le_bytes(insn[2..4].try_into().unwrap())),
        // LD_IMM64: both halves.
        0x00 => {
            let high =
                u32::from_le_bytes(insns[index * 8 + 12..index * 8 + 16].try_into().unwrap());
            u64::from(imm) | u64::from(high) << 32
        }
        _ => u64::from(imm),
    }
}

#[test]
fn explain_json_and_relocate_output_equal_the_loader() {
    let object = common::ebpf_object("btrfs_probes.bpf.o");
    let btf_dir = common::kernel_btf_dir("6.12");
    let tool = env!("CARGO_BIN_EXE_core-reloc");
    let args = |command: &str| {
        let mut cmd = Command::new(tool);
        cmd.arg("--btf-dir")
            .arg(&btf_dir)
            .args(["--module", "btrfs", "--module-search", "off", command])
            .arg(&object);
        cmd
    };
    let output = args("explain").arg("--json").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = String::from_utf8(output.stdout).unwrap();

    let relocated = Loader::new()
        .btf_directory(&btf_dir)
        .kallsyms(KallsymsSource::None)
        .module_search(ModuleSearch::Off)
        .with_module_btf("btrfs")
        .relocate(&std::fs::read(&object).unwrap())
        .unwrap();
    let parsed = BpfObject::parse(&relocated.bytes).unwrap();
    let lines: Vec<&str> = json.lines().collect();
    assert_eq!(lines.len(), relocated.report.fixups.len());
    assert!(lines.len() >= 10, "{json}");
    assert!(
        json.contains("\"btf\":\"btrfs\""),
        "module targets are named: {json}"
    );
    for (line, fixup) in lines.iter().zip(&relocated.report.fixups) {
        for key in [
            "section",
            "insn",
            "kind",
            "local_type",
            "spec",
            "access",
            "target",
            "old",
            "new",
            "poisoned",
        ] {
            field(line, key);
        }
        assert_eq!(field(line, "section"), fixup.section);
        assert_eq!(field(line, "insn"), fixup.insn.to_string());
        assert_eq!(field(line, "access"), fixup.access.to_string());
        let section = parsed
            .program_sections()
            .iter()
            .find(|s| s.name == fixup.section)
            .unwrap();
        let in_object = insn_value(section.insns, fixup.insn);
        match field(line, "new") {
            "null" => {
                assert_eq!(field(line, "poisoned"), "true");
                assert_eq!(
                    section.insns[fixup.insn * 8],
                    0x85,
                    "poisoned into a call: {line}"
                );
            }
            new => {
                assert_eq!(field(line, "poisoned"), "false");
                assert_eq!(new.parse::<u64>().unwrap(), in_object, "{line}");
            }
        }
        match &fixup.target {
            Some(target) => assert_eq!(
                field(line, "target"),
                format!("{{\"btf\":\"{}\",\"id\":{}}}", target.origin, target.id.0)
            ),
            None => assert_eq!(field(line, "target"), "null"),
        }
    }

    let out = std::env::temp_dir().join(format!("core-reloc-explain-{}.o", std::process::id()));
    let status = args("relocate").arg("-o").arg(&out).status().unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read(&out).unwrap(), relocated.bytes);
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn explain_fails_with_a_message_on_bad_input() {
    let tool = env!("CARGO_BIN_EXE_core-reloc");
    let garbage = std::env::temp_dir().join(format!("core-reloc-garbage-{}.o", std::process::id()));
    std::fs::write(&garbage, b"not an ELF file").unwrap();
    let output = Command::new(tool)
        .arg("explain")
        .arg(&garbage)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("core-reloc:") && stderr.contains("ELF"),
        "{stderr}"
    );
    std::fs::remove_file(&garbage).unwrap();
    let usage = Command::new(tool).arg("explain").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn load_loads_and_unloads_on_the_host_kernel() {
    let tool = env!("CARGO_BIN_EXE_core-reloc");
    let object = common::ebpf_object("host_task.bpf.o");
    let output = Command::new(tool)
        .arg("load")
        .arg(&object)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("program host_task (raw tracepoint): loaded"),
        "{stdout}"
    );
    assert!(stdout.contains("10 relocations applied"), "{stdout}");
}
