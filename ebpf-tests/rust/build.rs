//! Compiles the C CO-RE shim to LLVM bitcode and hands it to bpf-linker.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let include = manifest.join("../include");
    let shim = manifest.join("shim/shim.c");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("shim.bc");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang-22".into());

    let status = Command::new(&clang)
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
            "-emit-llvm",
        ])
        .args(["-I/usr/include/x86_64-linux-gnu", "-Wall", "-Werror"])
        .arg("-I")
        .arg(&include)
        .arg("-c")
        .arg(&shim)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|error| panic!("cannot run {clang}: {error}"));
    assert!(status.success(), "{clang} failed on {}", shim.display());

    println!("cargo:rustc-link-arg={}", out.display());
    println!("cargo:rerun-if-changed={}", shim.display());
    println!("cargo:rerun-if-changed={}", include.display());
    println!("cargo:rerun-if-env-changed=CLANG");
}
