//! The tool explains named relocations (CO-RE from Rust, `core-reloc-ebpf`) like `.BTF.ext`
//! records, in text and JSON, with their symbol.

mod common;

use std::process::Command;

#[test]
fn the_tool_explains_named_relocations_in_text_and_json() {
    let object = common::ebpf_object("btrfs_named");
    let output = Command::new(env!("CARGO_BIN_EXE_core-reloc"))
        .arg("explain")
        .arg("--btf-dir")
        .arg(common::kernel_btf_dir("6.1"))
        .arg("--json")
        .arg(&object)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = String::from_utf8(output.stdout).unwrap();
    let line = json
        .lines()
        .find(|line| {
            line.contains("\"access\":\"struct btrfs_inode.vfs_inode.i_ino\"")
                && line.contains("\"kind\":\"byte_off\"")
        })
        .unwrap_or_else(|| panic!("{json}"));
    assert!(
        line.contains(
            "\"symbol\":\"core_reloc:v1:field_byte_offset:struct:btrfs_inode:vfs_inode.i_ino\""
        ),
        "{line}"
    );
    assert!(line.contains("\"btf\":\"btrfs\""), "{line}");
    assert!(line.contains("\"new\":584"), "6.1: 520 + 64: {line}");

    let output = Command::new(env!("CARGO_BIN_EXE_core-reloc"))
        .arg("explain")
        .arg("--btf-dir")
        .arg(common::kernel_btf_dir("6.12"))
        .args(["--module-search", "off"])
        .arg(&object)
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("the type exists in module(s) btrfs, which were not searched"),
        "{text}"
    );
}
