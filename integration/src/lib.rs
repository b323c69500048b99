//! Shared helpers of the integration tests, and the contract between `cargo xtask vm` and the
//! tests it runs inside the QEMU guests.
//!
//! # The guest contract
//! `cargo xtask vm` boots each Debian kernel with an initramfs whose `/init` is the
//! `guest-init` binary of this crate. Before the tests run, guest-init has:
//! - mounted proc, sysfs, devtmpfs, bpffs (`/sys/fs/bpf`), tracefs and debugfs;
//! - loaded btrfs and its dependencies (and `loop`) with `finit_module`;
//! - loop-mounted a btrfs image made on the host by `mkfs.btrfs` at [`Guest::btrfs_mount`].
//!
//! The guest runs the test targets named `vm_*` (`integration/tests/vm_*.rs`); the crate's other
//! tests are host tests. Each runs with `--include-ignored --test-threads=1 --show-output
//! [FILTER]` and these environment variables (read by [`Guest::from_env`]):
//! - [`GUEST_ENV`] = `1`;
//! - [`EBPF_DIR_ENV`]: directory of the objects built by `cargo xtask build-ebpf`
//!   (`<name>.bpf.o` for C, `<name>` for Rust, see [`programs`]);
//! - [`BTRFS_MOUNT_ENV`]: where the btrfs image is mounted;
//! - [`EXPECTATIONS_ENV`]: the [`Expectations`] file computed on the host from the kernel's BTF
//!   by bpftool and from the mkfs parameters.
//!
//! `cargo xtask vm -- FILTER...`: a word naming a guest executable (`vm_loader`, or
//! `vm_loader::probes`) selects that executable (and tests matching the part after `::`); other
//! words are libtest filters for every executable.
//!
//! Tests that need the guest are `#[ignore]`d so a plain `cargo test` on the host skips them;
//! they call [`guest()`] to get the environment. A loader test is: [`Guest::object`] for the
//! path, `core_reloc_loader::Loader` to load it, [`aya_programs`] to attach and read the maps,
//! [`checks`] to stat the files of the image and compare (values vs `stat`, subvolume ioctls,
//! mkfs parameters, and the bpftool facts of [`Expectations`]).

pub mod aya_programs;
pub mod btrfs;
pub mod checks;
pub mod differential;
pub mod expectations;
pub mod fixtures;
pub mod libbpf_live;
pub mod libbpf_reference;
pub mod libbpf_split_base;
pub mod programs;

use std::path::{Path, PathBuf};

pub use expectations::Expectations;

/// Set to `1` in the guest.
pub const GUEST_ENV: &str = "CORE_RELOC_GUEST";
/// Directory holding the eBPF objects.
pub const EBPF_DIR_ENV: &str = "CORE_RELOC_EBPF_DIR";
/// Mount point of the btrfs test image.
pub const BTRFS_MOUNT_ENV: &str = "CORE_RELOC_BTRFS_MOUNT";
/// Path of the expectations file.
pub const EXPECTATIONS_ENV: &str = "CORE_RELOC_EXPECTATIONS";

/// Where the 6.12 guest finds the test module's variants, `core_reloc_testmod-v<N>.ko`
/// (`cargo xtask kmod`); not loaded at boot: `vm_kmod` force-loads them.
pub const KMOD_DIR: &str = "/kmod";
/// Where the test guests have the `core-reloc` CLI (`cargo xtask vm` packs it).
pub const CLI_PATH: &str = "/bin/core-reloc";

/// Why a guest-only test is ignored on the host.
pub const NEEDS_GUEST: &str = "needs the QEMU guest: cargo xtask vm";

/// What a test in the guest can rely on.
#[derive(Debug)]
pub struct Guest {
    /// Directory holding the eBPF objects.
    pub ebpf_dir: PathBuf,
    /// Where the btrfs image is mounted (read-write).
    pub btrfs_mount: PathBuf,
    /// Host-computed expected values.
    pub expectations: Expectations,
}

impl Guest {
    /// Reads the environment set by guest-init; `None` outside the guest.
    pub fn from_env() -> Option<Guest> {
        if std::env::var_os(GUEST_ENV).is_none_or(|value| value != "1") {
            return None;
        }
        let path = |name: &str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("{name} is not set in the guest"))
        };
        let expectations_path = path(EXPECTATIONS_ENV);
        let expectations = Expectations::read(&expectations_path)
            .unwrap_or_else(|error| panic!("{}: {error}", expectations_path.display()));
        Some(Guest {
            ebpf_dir: path(EBPF_DIR_ENV),
            btrfs_mount: path(BTRFS_MOUNT_ENV),
            expectations,
        })
    }

    /// Path of an eBPF object by file name, e.g. [`programs::C_BTRFS_GETATTR`].
    pub fn object(&self, file_name: &str) -> PathBuf {
        self.ebpf_dir.join(file_name)
    }

    /// A file of the btrfs image, by its path relative to the image root.
    pub fn btrfs_file(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.btrfs_mount.join(relative)
    }

    /// The kernel series this guest runs, e.g. `6.12`.
    pub fn series(&self) -> &str {
        self.expectations.get("kernel.series")
    }
}

/// The guest environment; panics with an explanation when run outside the guest.
pub fn guest() -> Guest {
    Guest::from_env().unwrap_or_else(|| panic!("not in the VM guest ({NEEDS_GUEST})"))
}

/// Runs `core-reloc load OBJECT` (an object of the guest's eBPF directory) in the guest and
/// returns its stdout, after checking that it succeeded.
pub fn cli_load(object: &str) -> String {
    let path = guest().object(object);
    let output = std::process::Command::new(CLI_PATH)
        .arg("load")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{CLI_PATH}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("$ core-reloc load {}\n{stdout}", path.display());
    assert!(
        output.status.success(),
        "core-reloc load {}: {}: {}",
        path.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
