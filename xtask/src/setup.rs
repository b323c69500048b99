//! Machine set-up: Debian packages, bpf-linker built for LLVM 22, test kernels.
//!
//! Idempotent and quick when everything is present: it asks dpkg and the installed bpf-linker
//! before doing anything, and never touches the network when nothing is missing.

use std::path::PathBuf;

use xshell::{Shell, cmd};

use crate::{Result, kernels, kmod, progress};

/// Debian packages the build, the tests and the VM harness use.
const APT_PACKAGES: &[&str] = &[
    // eBPF C programs and the LLVM that bpf-linker links against (rustc 1.98 uses LLVM 22).
    "clang-22",
    "llvm-22",
    "llvm-22-dev",
    "libpolly-22-dev",
    "libzstd-dev",
    "libbpf-dev",
    // libbpf-sys (the libbpf reference in benchmarks and differential tests).
    "libelf-dev",
    "zlib1g-dev",
    "pkg-config",
    "make",
    // Kernels, modules and BTF.
    "binutils",
    "kmod",
    "xz-utils",
    "zstd",
    "bpftool",
    // The QEMU guests.
    "qemu-system-x86",
    "cpio",
    "busybox-static",
    "btrfs-progs",
    // The test kernel module (`cargo xtask kmod`; its linux-headers package is resolved by
    // `kmod::apt_packages`): Debian's kernel compiler and pahole, and llvm-objcopy-22 (llvm-22).
    "gcc-12",
    "pahole",
];

const BPF_LINKER_VERSION: &str = "0.13.0";

/// What set-up made ready.
pub struct Prepared {
    pub bpf_linker: PathBuf,
    pub kernels_root: PathBuf,
    pub kernels: Vec<kernels::Kernel>,
}

pub fn run() -> Result<Prepared> {
    let sh = Shell::new()?;
    progress::step_with("apt packages", || ensure_apt_packages(&sh))?;
    let bpf_linker = progress::step_with("bpf-linker", || ensure_bpf_linker(&sh))?;
    let kernels = kernels::ensure_all(&sh)?;
    Ok(Prepared {
        bpf_linker,
        kernels_root: kernels::root(),
        kernels,
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { geteuid() == 0 }
}

unsafe extern "C" {
    fn geteuid() -> u32;
}

fn missing_apt_packages(sh: &Shell) -> Result<Vec<String>> {
    let mut packages: Vec<String> = APT_PACKAGES.iter().map(|p| p.to_string()).collect();
    packages.extend(kmod::apt_packages(sh)?);
    Ok(packages
        .into_iter()
        .filter(|package| {
            let format = "-f=${Status}";
            let status = cmd!(sh, "dpkg-query -W {format} {package}")
                .quiet()
                .ignore_status()
                .ignore_stderr()
                .read()
                .unwrap_or_default();
            status != "install ok installed"
        })
        .collect())
}

/// Installs what is missing; says what it did.
fn ensure_apt_packages(sh: &Shell) -> Result<((), String)> {
    let missing = missing_apt_packages(sh)?;
    if missing.is_empty() {
        return Ok(((), "all installed".to_string()));
    }
    let line = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    if !is_root() {
        return Err(format!("missing Debian packages; as root run:\n    {line}").into());
    }
    let installed = format!("installed {}", missing.join(" "));
    // apt's and dpkg's progress goes to the log; a failure shows its end.
    progress::quiet(cmd!(sh, "apt-get update -qq"), "apt")?;
    progress::quiet(
        cmd!(
            sh,
            "apt-get install -y -qq --no-install-recommends {missing...}"
        )
        .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt",
    )?;
    Ok(((), installed))
}

fn cargo_bin_dir() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    cargo_home.join("bin")
}

/// bpf-linker built for LLVM 22, and whether it had to be built.
fn ensure_bpf_linker(sh: &Shell) -> Result<(PathBuf, String)> {
    let path = cargo_bin_dir().join("bpf-linker");
    let installed = cmd!(sh, "{path} --version")
        .quiet()
        .ignore_status()
        .ignore_stderr()
        .read()
        .unwrap_or_default();
    if installed.contains(BPF_LINKER_VERSION) {
        return Ok((path, format!("{BPF_LINKER_VERSION} installed")));
    }
    let cargo = crate::cargo();
    // bpf-linker defaults to the newest LLVM; rustc 1.98 emits LLVM 22 bitcode.
    progress::quiet(
        cmd!(
            sh,
            "{cargo} install bpf-linker --version {BPF_LINKER_VERSION} --no-default-features --features llvm-22"
        )
        .env("LLVM_PREFIX", "/usr/lib/llvm-22"),
        "bpf-linker",
    )?;
    Ok((path, format!("built {BPF_LINKER_VERSION} for LLVM 22")))
}
