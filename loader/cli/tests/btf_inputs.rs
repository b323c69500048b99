//! Acceptance for BTF inputs: `core-reloc explain OBJ --btf FILE --json` gives the same
//! records whatever file carries the types: raw BTF, the vmlinux ELF, a `.ko`, a `.ko.xz`,
//! a `.ko.zst` and an eBPF object's `.BTF` (the last three made here from real Debian 6.12
//! files with `llvm-objcopy-22`, `xz` and `zstd`); and the same for the module BTF given with
//! `--module btrfs=FILE`, as raw BTF, `btrfs.ko`, `.ko.xz` and `.ko.zst`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use kernel_fixtures::ScratchDir;
use serde_json::Value;

const SERIES: &str = "6.12";

fn run_tool(tool: &str, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (cargo xtask setup installs it): {e}"));
    assert!(
        output.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// `input` with its `.BTF` replaced by `btf` (llvm-objcopy-22).
fn with_btf(input: &Path, btf: &Path, output: &Path) -> PathBuf {
    let update = format!(".BTF={}", btf.display());
    run_tool(
        "llvm-objcopy-22",
        &[
            "--update-section".as_ref(),
            update.as_ref(),
            input.as_os_str(),
            output.as_os_str(),
        ],
    );
    output.to_path_buf()
}

/// `input` compressed as the kernel's modules_install does (`xz`) or with `zstd`.
fn compressed(tool: &str, input: &Path, output: PathBuf) -> PathBuf {
    let options: &[&str] = match tool {
        "xz" => &["--check=crc32", "--lzma2=dict=1MiB", "-c"],
        _ => &["-q", "-c"],
    };
    let mut args: Vec<&std::ffi::OsStr> = options.iter().map(|o| o.as_ref()).collect();
    args.push(input.as_os_str());
    std::fs::write(&output, run_tool(tool, &args)).unwrap();
    output
}

/// The relocation records `explain --json` prints (the summary line, whose byte counts
/// depend on how the files were loaded, is left out).
fn explain(object: &Path, btf: &Path, btrfs: &Path) -> Vec<Value> {
    let module = format!("btrfs={}", btrfs.display());
    let output = Command::new(env!("CARGO_BIN_EXE_core-reloc"))
        .arg("explain")
        .arg(object)
        .arg("--btf")
        .arg(btf)
        .args(["--module", &module, "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{} / {}: {stdout}{}",
        btf.display(),
        btrfs.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let records: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|value| value["line"] == "relocation")
        .collect();
    assert!(!records.is_empty(), "{stdout}");
    records
}

#[test]
fn explain_gives_the_same_records_for_every_file_format() {
    let scratch = ScratchDir::new("btf-inputs-explain");
    let object = common::ebpf_object("btrfs_getattr.bpf.o");
    let raw_vmlinux = kernel_fixtures::kernel_btf(SERIES, "vmlinux");
    let raw_btrfs = kernel_fixtures::kernel_btf(SERIES, "btrfs");
    let btrfs_ko = kernel_fixtures::kernel_module(SERIES, "btrfs");

    // vmlinux's types in each container.
    let vmlinux_ko = with_btf(&btrfs_ko, &raw_vmlinux, &scratch.path("vmlinux-types.ko"));
    let vmlinuxes = [
        raw_vmlinux.clone(),
        kernel_fixtures::kernel_vmlinux_elf(SERIES),
        compressed("xz", &vmlinux_ko, scratch.path("vmlinux-types.ko.xz")),
        compressed("zstd", &vmlinux_ko, scratch.path("vmlinux-types.ko.zst")),
        with_btf(
            &common::ebpf_object("host_task.bpf.o"),
            &raw_vmlinux,
            &scratch.path("vmlinux-types.bpf.o"),
        ),
        vmlinux_ko,
    ];
    // btrfs's split BTF in each container.
    let modules = [
        raw_btrfs,
        compressed("xz", &btrfs_ko, scratch.path("btrfs.ko.xz")),
        compressed("zstd", &btrfs_ko, scratch.path("btrfs.ko.zst")),
        btrfs_ko,
    ];

    let reference = explain(&object, &raw_vmlinux, &modules[0]);
    assert!(
        reference
            .iter()
            .any(|record| record["target"]["btf"] == "btrfs"),
        "the program reads btrfs types: {reference:?}"
    );
    for vmlinux in &vmlinuxes {
        assert_eq!(
            explain(&object, vmlinux, &modules[0]),
            reference,
            "--btf {}",
            vmlinux.display()
        );
    }
    for module in &modules {
        assert_eq!(
            explain(
                &object,
                &kernel_fixtures::kernel_vmlinux_elf(SERIES),
                module
            ),
            reference,
            "--module btrfs={}",
            module.display()
        );
    }
}

#[test]
fn an_elf_without_btf_is_a_usage_error_naming_the_file() {
    let scratch = ScratchDir::new("btf-inputs-nobtf");
    let stripped = scratch.path("vmlinux-stripped.ko");
    run_tool(
        "llvm-objcopy-22",
        &[
            "--remove-section".as_ref(),
            ".BTF".as_ref(),
            kernel_fixtures::kernel_module(SERIES, "xor").as_os_str(),
            stripped.as_os_str(),
        ],
    );
    let output = Command::new(env!("CARGO_BIN_EXE_core-reloc"))
        .arg("explain")
        .arg(common::ebpf_object("btrfs_getattr.bpf.o"))
        .arg("--btf")
        .arg(&stripped)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: ELF file has no .BTF section",
            stripped.display()
        )),
        "{stderr}"
    );
}
