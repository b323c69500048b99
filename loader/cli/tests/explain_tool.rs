//! The `core-reloc` tool as a user runs it: `--help` and `--version`, exit statuses, and
//! `explain --json`, parsed with a JSON parser and compared with what `Loader` does (its
//! relocated instructions; `relocate -o` writes the same bytes).

mod common;

use std::process::{Command, Output};

use core_reloc::object::BpfObject;
use core_reloc_loader::{KallsymsSource, Loader, ModuleSearch};
use serde_json::Value;

fn tool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_core-reloc"))
}

fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().unwrap();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    (output, stdout, stderr)
}

/// Every stdout line parsed as one JSON object.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
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
fn help_and_version_go_to_stdout_with_status_0() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["--version"],
        &["-V"],
        &["help"],
        &["explain", "--help"],
        &["relocate", "--help"],
        &["load", "--help"],
        &["btf", "--help"],
        &["help", "explain"],
    ] {
        let (output, stdout, stderr) = run(tool().args(args));
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
        assert!(!stdout.is_empty(), "{args:?}");
    }
    let (_, version, _) = run(tool().arg("--version"));
    assert_eq!(
        version.trim(),
        format!("core-reloc {}", env!("CARGO_PKG_VERSION"))
    );
    let (_, help, _) = run(tool().arg("--help"));
    for word in ["explain", "relocate", "load", "Exit status"] {
        assert!(help.contains(word), "{word} in {help}");
    }
    let (_, help, _) = run(tool().args(["explain", "--help"]));
    for option in [
        "--json",
        "--btf-dir",
        "--module",
        "--module-search",
        "--strict",
        "--verbose",
    ] {
        assert!(help.contains(option), "{option} in {help}");
    }
}

#[test]
fn usage_errors_exit_2_on_stderr() {
    for args in [
        &[][..],
        &["explain"],
        &["frobnicate", "x.o"],
        // Options go on the subcommands that use them.
        &["relocate", "x.o", "-o", "y.o", "--json"],
        &["explain", "x.o", "-o", "y.o"],
        &["--json", "explain", "x.o"],
        &["explain", "x.o", "--btf", "a", "--btf-dir", "b"],
        &["explain", "x.o", "--module-search", "sometimes"],
        // Not clap's to check, still a usage error.
        &["explain", "x.o", "--module", "btrfs=/tmp/btrfs"],
    ] {
        let (output, stdout, stderr) = run(tool().args(args));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(!stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn explain_json_and_relocate_output_equal_the_loader() {
    let object = common::ebpf_object("btrfs_probes.bpf.o");
    let btf_dir = common::kernel_btf_dir("6.12");
    let args = |command: &str| {
        let mut cmd = tool();
        cmd.arg(command)
            .arg(&object)
            .arg("--btf-dir")
            .arg(&btf_dir)
            .args(["--module", "btrfs", "--module-search", "off"]);
        cmd
    };
    let (output, stdout, stderr) = run(args("explain").arg("--json"));
    assert!(output.status.success(), "{stderr}");
    let lines = json_lines(&stdout);

    let relocated = Loader::new()
        .btf_directory(&btf_dir)
        .kallsyms(KallsymsSource::None)
        .module_search(ModuleSearch::Off)
        .with_module_btf("btrfs")
        .relocate(&std::fs::read(&object).unwrap())
        .unwrap();
    let fixups = &relocated.report.fixups;
    assert!(fixups.len() >= 10, "{stdout}");
    assert_eq!(
        lines.len(),
        fixups.len() + 1,
        "relocations, then the summary"
    );
    let parsed = BpfObject::parse(&relocated.bytes).unwrap();
    for (line, fixup) in lines.iter().zip(fixups) {
        assert_eq!(line["line"], "relocation");
        assert_eq!(line["record_index"], fixup.record_index);
        assert_eq!(line["section"], fixup.section.as_str());
        assert_eq!(line["insn"], fixup.insn);
        assert_eq!(line["kind"], fixup.kind.name());
        assert!(line["symbol"].is_null(), ".BTF.ext records have no symbol");
        assert_eq!(line["local_type"], fixup.local_type.to_string().as_str());
        assert_eq!(line["spec"], fixup.spec.to_string().as_str());
        assert_eq!(line["access"], fixup.access.to_string().as_str());
        assert_eq!(line["old"], fixup.old);
        assert_eq!(
            line["candidates"].as_array().unwrap().len(),
            fixup.candidates.len()
        );
        for (json, candidate) in line["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&fixup.candidates)
        {
            assert_eq!(json["btf"], candidate.target.origin.name());
            assert_eq!(json["id"], candidate.target.id.0);
            assert_eq!(json["matched"], candidate.rejected.is_none());
            assert_eq!(
                json["rejected"].as_str(),
                candidate
                    .rejected
                    .as_ref()
                    .map(ToString::to_string)
                    .as_deref()
            );
            assert_eq!(
                json["rejection"].as_str(),
                candidate.rejected.as_ref().map(|why| why.code())
            );
        }
        assert!(line["unsearched_modules"].as_array().unwrap().is_empty());
        match &fixup.target {
            Some(target) => {
                assert_eq!(line["target"]["btf"], target.origin.name());
                assert_eq!(line["target"]["id"], target.id.0);
            }
            None => assert!(line["target"].is_null()),
        }
        let section = parsed
            .program_sections()
            .iter()
            .find(|s| s.name == fixup.section)
            .unwrap();
        if line["new"].is_null() {
            assert_eq!(line["poisoned"], true);
            assert_eq!(
                section.insns[fixup.insn * 8],
                0x85,
                "poisoned into a call: {line}"
            );
        } else {
            assert_eq!(line["poisoned"], false);
            assert_eq!(line["new"], insn_value(section.insns, fixup.insn), "{line}");
        }
    }
    assert!(
        lines.iter().any(|line| line["target"]["btf"] == "btrfs"),
        "module targets are named: {stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line["candidates"][0]["rejected"].is_string()
                && line["candidates"][0]["rejection"].is_string()),
        "a rejected candidate says why: {stdout}"
    );
    let summary = lines.last().unwrap();
    assert_eq!(summary["line"], "summary");
    assert_eq!(summary["relocations"], fixups.len());
    assert_eq!(summary["modules"][0]["name"], "btrfs");
    assert_eq!(summary["modules"][0]["reason"], "requested");
    assert_eq!(summary["modules"][0]["parsed"], true);
    assert_eq!(summary["bytes_mapped"], relocated.report.bytes_mapped);
    assert_eq!(summary["bytes_read"], relocated.report.bytes_read);
    assert!(summary["warnings"].as_array().unwrap().is_empty());

    let out = std::env::temp_dir().join(format!("core-reloc-explain-{}.o", std::process::id()));
    let status = args("relocate").arg("-o").arg(&out).status().unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read(&out).unwrap(), relocated.bytes);
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn explain_json_of_a_refused_relocation_is_an_error_object() {
    // Two flavors of the type put the field at different offsets: libbpf refuses it too.
    let object = common::ebpf_object("corpus/ambiguous.bpf.o");
    let btf = common::ebpf_object("corpus/targets/ambiguous__flavors.btf");
    let (output, stdout, stderr) = run(tool()
        .arg("explain")
        .arg(&object)
        .arg("--btf")
        .arg(&btf)
        .arg("--json"));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("core-reloc: "), "{stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 1, "{stdout}");
    let error = &lines[0];
    assert_eq!(error["line"], "error");
    assert_eq!(error["error"], "relocation");
    assert_eq!(error["exit_code"], 1);
    let failures = error["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{error}");
    let failure = &failures[0];
    assert_eq!(failure["section"], "raw_tp/sys_enter");
    assert_eq!(failure["record_index"], 0);
    assert_eq!(failure["kind"], "byte_off");
    assert_eq!(failure["access"], "struct core_ambiguous.b");
    assert!(failure["insn"].is_u64(), "{failure}");
    let reason = failure["reason"].as_str().unwrap();
    assert!(reason.starts_with("ambiguous"), "{reason}");
    // Both flavors, each in vmlinux (the only BTF given).
    let targets = failure["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{failure}");
    assert!(targets.iter().all(|target| target["btf"] == "vmlinux"));
    assert_ne!(targets[0]["id"], targets[1]["id"]);
    let message = failure["message"].as_str().unwrap();
    assert!(message.contains(reason), "{message}");
}

#[test]
fn explain_json_names_unsearched_modules_and_strict_refuses_with_the_warning() {
    let object = common::ebpf_object("btrfs_getattr.bpf.o");
    let btf_dir = common::kernel_btf_dir("6.12");
    let explain = || {
        let mut cmd = tool();
        cmd.arg("explain")
            .arg(&object)
            .arg("--btf-dir")
            .arg(&btf_dir)
            .args(["--module-search", "off", "--json"]);
        cmd
    };
    let (output, stdout, stderr) = run(&mut explain());
    assert!(output.status.success(), "{stderr}");
    let lines = json_lines(&stdout);
    let unsearched: Vec<&Value> = lines
        .iter()
        .filter(|line| line["line"] == "relocation" && line["target"].is_null())
        .collect();
    assert!(!unsearched.is_empty(), "{stdout}");
    for line in &unsearched {
        assert_eq!(
            line["unsearched_modules"],
            serde_json::json!(["btrfs"]),
            "{line}"
        );
        assert!(line["candidates"].as_array().unwrap().is_empty(), "{line}");
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["line"], "summary");
    assert!(
        summary["modules"].as_array().unwrap().is_empty(),
        "nothing parsed: {summary}"
    );
    let warnings = summary["warnings"].as_array().unwrap();
    assert!(!warnings.is_empty());
    for warning in warnings {
        assert_eq!(warning["warning"], "type_in_unsearched_module");
        assert_eq!(warning["modules"], serde_json::json!(["btrfs"]));
        assert!(warning["record_index"].is_u64() && warning["message"].is_string());
    }
    assert!(
        stderr.contains("WARN") && stderr.contains("btrfs"),
        "logged: {stderr}"
    );

    let (output, stdout, _) = run(explain().arg("--strict"));
    assert_eq!(output.status.code(), Some(1));
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(lines[0]["error"], "strict");
    assert_eq!(lines[0]["warning"]["warning"], "type_in_unsearched_module");
    assert_eq!(lines[0]["warning"]["modules"], serde_json::json!(["btrfs"]));
}

#[test]
fn verbosity_and_rust_log_control_the_log() {
    let object = common::ebpf_object("btrfs_probes.bpf.o");
    let btf_dir = common::kernel_btf_dir("6.12");
    let explain = || {
        let mut cmd = tool();
        cmd.arg("explain")
            .arg(&object)
            .arg("--btf-dir")
            .arg(&btf_dir)
            .args(["--module", "btrfs", "--module-search", "off"])
            .env_remove("RUST_LOG");
        cmd
    };
    let (_, quiet_stdout, quiet) = run(&mut explain());
    assert!(!quiet.contains("DEBUG"), "{quiet}");
    let (_, verbose_stdout, verbose) = run(explain().arg("-vv"));
    assert!(
        verbose.contains("DEBUG"),
        "-vv logs the library's debug lines: {verbose}"
    );
    assert_eq!(quiet_stdout, verbose_stdout, "the log stays off stdout");
    let (_, _, from_env) = run(explain().env("RUST_LOG", "debug"));
    assert!(from_env.contains("DEBUG"), "{from_env}");
}

#[test]
fn unreadable_input_exits_2_with_a_message() {
    let garbage = std::env::temp_dir().join(format!("core-reloc-garbage-{}.o", std::process::id()));
    std::fs::write(&garbage, b"not an ELF file").unwrap();
    let (output, stdout, stderr) = run(tool().arg("explain").arg(&garbage));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("core-reloc: ") && stderr.contains("ELF"),
        "{stderr}"
    );

    let (output, stdout, _) = run(tool().arg("explain").arg(&garbage).arg("--json"));
    assert_eq!(output.status.code(), Some(2));
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["error"], "object");
    assert_eq!(lines[0]["exit_code"], 2);
    std::fs::remove_file(&garbage).unwrap();

    let missing = std::env::temp_dir().join("core-reloc-does-not-exist.o");
    let (output, _, stderr) = run(tool().arg("explain").arg(&missing));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("core-reloc-does-not-exist.o"), "{stderr}");
}

#[test]
fn load_loads_and_unloads_on_the_host_kernel() {
    let object = common::ebpf_object("host_task.bpf.o");
    let (output, stdout, stderr) = run(tool().arg("load").arg(&object));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("program host_task (raw tracepoint): loaded"),
        "{stdout}"
    );
    assert!(stdout.contains("10 relocations applied"), "{stdout}");
}
