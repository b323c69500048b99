//! Paths of the fixtures the tool's tests use; each fails with the command that makes it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn workspace() -> PathBuf {
    // loader/cli -> the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// An object built by `cargo xtask build-ebpf`.
pub fn ebpf_object(name: &str) -> PathBuf {
    let path = workspace().join("target/ebpf").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build-ebpf`",
        path.display()
    );
    path
}

/// A Debian kernel's BTF directory made by `cargo xtask kernels`.
pub fn kernel_btf_dir(series: &str) -> PathBuf {
    let root = std::env::var_os("CORE_RELOC_KERNELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/kernels"));
    let dir = root.join(series).join("btf");
    assert!(
        dir.join("vmlinux").exists(),
        "{} is missing: run `cargo xtask kernels`",
        dir.display()
    );
    dir
}
