//! Where the host tests find what `cargo xtask` built; each fails naming the command that
//! makes the missing piece, never silently passes.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("integration is inside the workspace")
        .to_path_buf()
}

/// The C CO-RE corpus built by `cargo xtask build-corpus`: objects and `targets/*.btf`.
pub fn corpus_dir() -> PathBuf {
    let dir = workspace().join("target/ebpf/corpus");
    assert!(
        dir.join("targets").is_dir() && dir.join("flavors.bpf.o").exists(),
        "{} is not built: run `cargo xtask build-corpus`",
        dir.display()
    );
    dir
}

/// The BTF directory of a Debian test kernel made by `cargo xtask kernels` (`6.1`, `6.12`).
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
