//! `core-reloc btf dump | relocate | distill` on real files: the test module of
//! `cargo xtask kmod` (built for an older 6.12 ABI) and the Debian kernels' BTF.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{kernel_btf_dir, workspace};

fn tool(args: &[&Path]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_core-reloc"))
        .args(args)
        .output()
        .expect("the core-reloc binary runs")
}

fn ok(args: &[&Path]) -> Vec<u8> {
    let output = tool(args);
    assert!(
        output.status.success(),
        "core-reloc {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn kmod(file: &str) -> PathBuf {
    let path = workspace().join("target/kmod").join(file);
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask kmod`",
        path.display()
    );
    path
}

fn scratch(name: &str) -> PathBuf {
    let dir = workspace().join("target/tmp/btf_tool");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn p(s: &str) -> &Path {
    Path::new(s)
}

#[test]
fn distill_writes_the_sections_xtask_put_in_the_module() {
    // xtask distilled kbuild's .BTF (build-v1) into core_reloc_testmod-v1.ko with the library.
    let (split, base) = (scratch("distill.split"), scratch("distill.base"));
    let vmlinux = kernel_btf_dir("6.12-kmod").join("vmlinux");
    ok(&[
        p("btf"),
        p("distill"),
        &kmod("build-v1/core_reloc_testmod.ko"),
        p("--base"),
        &vmlinux,
        p("--out-split"),
        &split,
        p("--out-base"),
        &base,
    ]);
    assert_eq!(
        std::fs::read(&split).unwrap(),
        std::fs::read(kmod("build-v1/distilled.btf")).unwrap()
    );
    assert_eq!(
        std::fs::read(&base).unwrap(),
        std::fs::read(kmod("build-v1/distilled-base.btf")).unwrap()
    );
}

#[test]
fn relocate_from_ko_and_from_raw_agree_and_bpftool_reads_the_result() {
    let guest_vmlinux = kernel_btf_dir("6.12").join("vmlinux");
    let (from_ko, from_raw) = (scratch("from_ko.btf"), scratch("from_raw.btf"));
    ok(&[
        p("btf"),
        p("relocate"),
        &kmod("core_reloc_testmod-v1.ko"),
        p("--base"),
        &guest_vmlinux,
        p("-o"),
        &from_ko,
    ]);
    ok(&[
        p("btf"),
        p("relocate"),
        &kmod("build-v1/distilled.btf"),
        p("--distilled-base"),
        &kmod("build-v1/distilled-base.btf"),
        p("--base"),
        &guest_vmlinux,
        p("-o"),
        &from_raw,
    ]);
    let relocated = std::fs::read(&from_ko).unwrap();
    assert_eq!(relocated, std::fs::read(&from_raw).unwrap());

    let ours = ok(&[p("btf"), p("dump"), &from_ko, p("--base"), &guest_vmlinux]);
    let bpftool = Command::new("bpftool")
        .args([
            p("-B"),
            &guest_vmlinux,
            p("btf"),
            p("dump"),
            p("file"),
            &from_ko,
        ])
        .args(["format", "raw"])
        .output()
        .expect("bpftool (Debian package bpftool) runs");
    assert!(bpftool.status.success());
    assert_eq!(
        String::from_utf8(ours).unwrap(),
        String::from_utf8(bpftool.stdout).unwrap()
    );
}

#[test]
fn relocation_onto_6_1_is_refused_with_the_type_named() {
    let output = tool(&[
        p("btf"),
        p("relocate"),
        &kmod("core_reloc_testmod-v1.ko"),
        p("--base"),
        &kernel_btf_dir("6.1").join("vmlinux"),
        p("-o"),
        &scratch("onto_6_1.btf"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("has no match in the target BTF"),
        "{stderr}"
    );
}

#[test]
fn relocating_base_btf_is_a_usage_error() {
    let output = tool(&[
        p("btf"),
        p("relocate"),
        &kernel_btf_dir("6.12").join("vmlinux"),
        p("--base"),
        &kernel_btf_dir("6.12").join("vmlinux"),
        p("-o"),
        &scratch("nothing.btf"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--distilled-base"));
}
