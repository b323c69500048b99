//! Where the workspace's tests and `cargo xtask` find what `cargo xtask kernels`,
//! `build-ebpf` and `build-corpus` made: one copy of these paths for every crate (it depends
//! on nothing, so the loader's tests can use it without depending on `integration`).
//!
//! Functions that return a fixture assert that it exists, naming the command that makes it:
//! a missing fixture fails a test, it never passes silently.
//!
//! # Examples
//!
//! ```no_run
//! let btf = kernel_fixtures::kernel_btf("6.12", "btrfs"); // target/kernels/6.12/btf/btrfs
//! let bytes = std::fs::read(btf).unwrap();
//! ```

use std::path::{Path, PathBuf};

/// Environment variable that overrides the kernel cache root (default
/// `<workspace>/target/kernels`).
pub const ROOT_ENV: &str = "CORE_RELOC_KERNELS";

/// The workspace root.
///
/// # Examples
///
/// ```
/// assert!(kernel_fixtures::workspace().join("Cargo.toml").is_file());
/// ```
pub fn workspace() -> PathBuf {
    // core-reloc/kernel-fixtures -> the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("kernel-fixtures sits two levels below the workspace root")
        .to_path_buf()
}

/// The kernel cache root: `$CORE_RELOC_KERNELS`, else `<workspace>/target/kernels`. Does not
/// check that it exists (xtask creates it).
///
/// # Examples
///
/// ```
/// let root = kernel_fixtures::kernels_root();
/// assert!(root.ends_with("kernels") || std::env::var_os(kernel_fixtures::ROOT_ENV).is_some());
/// ```
pub fn kernels_root() -> PathBuf {
    std::env::var_os(ROOT_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target").join("kernels"))
}

fn existing(path: PathBuf, command: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask {command}` (kernel cache root: ${ROOT_ENV} or target/kernels)",
        path.display()
    );
    path
}

/// A Debian test kernel's cache directory (`6.1`, `6.12`): `vmlinux`, `modules/`, `btf/`.
///
/// # Examples
///
/// ```no_run
/// let release = std::fs::read_to_string(kernel_fixtures::kernel_dir("6.12").join("release")).unwrap();
/// ```
pub fn kernel_dir(series: &str) -> PathBuf {
    existing(kernels_root().join(series), "kernels")
}

/// The raw-BTF directory of a test kernel, laid out like `/sys/kernel/btf`.
///
/// # Examples
///
/// ```no_run
/// let dir = kernel_fixtures::kernel_btf_dir("6.1");
/// assert!(dir.join("vmlinux").is_file());
/// ```
pub fn kernel_btf_dir(series: &str) -> PathBuf {
    let dir = kernels_root().join(series).join("btf");
    existing(dir.join("vmlinux"), "kernels");
    dir
}

/// One raw BTF blob of a test kernel: `vmlinux` or a module name.
///
/// # Examples
///
/// ```no_run
/// let vmlinux = kernel_fixtures::kernel_btf("6.12", "vmlinux");
/// ```
pub fn kernel_btf(series: &str, name: &str) -> PathBuf {
    existing(
        kernels_root().join(series).join("btf").join(name),
        "kernels",
    )
}

/// A test kernel's uncompressed vmlinux ELF (it carries `.BTF`).
///
/// # Examples
///
/// ```no_run
/// let elf = kernel_fixtures::kernel_vmlinux_elf("6.12");
/// ```
pub fn kernel_vmlinux_elf(series: &str) -> PathBuf {
    existing(kernels_root().join(series).join("vmlinux"), "kernels")
}

/// A decompressed kernel module of a test kernel (`btrfs` -> `modules/btrfs.ko`).
///
/// # Examples
///
/// ```no_run
/// let btrfs = kernel_fixtures::kernel_module("6.12", "btrfs");
/// ```
pub fn kernel_module(series: &str, module: &str) -> PathBuf {
    existing(
        kernels_root()
            .join(series)
            .join("modules")
            .join(format!("{module}.ko")),
        "kernels",
    )
}

/// An eBPF object built by `cargo xtask build-ebpf` (`target/ebpf/NAME`).
///
/// # Examples
///
/// ```no_run
/// let object = kernel_fixtures::ebpf_object("btrfs_getattr.bpf.o");
/// ```
pub fn ebpf_object(name: &str) -> PathBuf {
    existing(workspace().join("target/ebpf").join(name), "build-ebpf")
}

/// A fresh scratch directory under the system temp dir, removed (with what tests wrote into
/// it) on drop; `name` and the process id keep concurrent tests apart.
///
/// # Examples
///
/// ```
/// let scratch = kernel_fixtures::ScratchDir::new("doc-example");
/// std::fs::write(scratch.path("x"), b"x").unwrap();
/// assert!(scratch.path("x").exists());
/// ```
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates (emptying any leftover) `<temp>/core-reloc-<name>-<pid>`.
    pub fn new(name: &str) -> ScratchDir {
        let dir = std::env::temp_dir().join(format!("core-reloc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory can be created");
        ScratchDir(dir)
    }

    /// `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
