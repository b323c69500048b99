//! Where the host tests find what `cargo xtask` built; each fails naming the command that
//! makes the missing piece, never silently passes.

use std::path::PathBuf;

pub use kernel_fixtures::{kernel_btf_dir, workspace};

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
