//! `cargo xtask build-ebpf`: builds the eBPF programs of `ebpf-tests/` into `target/ebpf/`.
//!
//! - C: `ebpf-tests/c/<name>.bpf.c` -> `target/ebpf/<name>.bpf.o` (clang-22, libbpf headers),
//!   recompiled only when the source or a header is newer than the object.
//! - Rust: the aya-ebpf crates `ebpf-tests/rust` (C CO-RE shim as bitcode) and
//!   `ebpf-tests/rust-named` (pure Rust, named relocations through `core-reloc/ebpf`), built with
//!   bpf-linker and build-std, each binary copied to `target/ebpf/<binary>`; cargo decides what
//!   is up to date.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use xshell::{Shell, cmd};

use crate::Result;

const CLANG: &str = "clang-22";
/// The Rust eBPF crates (directories of `ebpf-tests/`) and their binaries (`[[bin]]` names).
const RUST_CRATES: &[(&str, &[&str])] = &[
    ("rust", &["btrfs_getattr_rs", "btrfs_fentry_rs"]),
    (
        "rust-named",
        &["btrfs_named", "host_task_named", "btrfs_fentry_named"],
    ),
];

/// `cargo xtask build-ebpf`.
pub fn run() -> Result<()> {
    let sh = Shell::new()?;
    let objects = build(&sh, &find_bpf_linker()?)?;
    for object in objects {
        println!("{}", object.display());
    }
    Ok(())
}

/// Where the objects go.
pub fn output_dir() -> PathBuf {
    crate::workspace_root().join("target").join("ebpf")
}

/// Builds every program; returns the object paths.
pub fn build(sh: &Shell, bpf_linker: &Path) -> Result<Vec<PathBuf>> {
    let out = output_dir();
    fs::create_dir_all(&out)?;
    let mut objects = build_c(sh, &out)?;
    objects.extend(build_rust(sh, &out, bpf_linker)?);
    Ok(objects)
}

/// bpf-linker on PATH or in cargo's bin directory.
pub fn find_bpf_linker() -> Result<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    let path_dirs = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(cargo_home.map(|home| home.join("bin")))
        .map(|dir| dir.join("bpf-linker"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| "bpf-linker not found: run `cargo xtask setup`".into())
}

fn build_c(sh: &Shell, out: &Path) -> Result<Vec<PathBuf>> {
    let root = crate::workspace_root().join("ebpf-tests");
    let (c_dir, include_dir) = (root.join("c"), root.join("include"));
    let mut headers = files_with_suffix(&include_dir, ".h")?;
    headers.extend(files_with_suffix(&c_dir, ".h")?);
    let headers_time = newest(&headers)?;

    let mut objects = Vec::new();
    for source in files_with_suffix(&c_dir, ".bpf.c")? {
        let name = source.file_name().unwrap().to_string_lossy();
        let object = out.join(format!("{}.o", name.trim_end_matches(".c")));
        let inputs_time = headers_time.max(modified(&source)?);
        if modified(&object).is_ok_and(|built| built >= inputs_time) {
            objects.push(object);
            continue;
        }
        crate::progress::quiet(
            cmd!(
                sh,
                "{CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror
                -I/usr/include/x86_64-linux-gnu -I{include_dir} -I{c_dir}
                -c {source} -o {object}"
            ),
            "ebpf",
        )?;
        objects.push(object);
    }
    Ok(objects)
}

fn build_rust(sh: &Shell, out: &Path, bpf_linker: &Path) -> Result<Vec<PathBuf>> {
    let mut objects = Vec::new();
    for (crate_name, binaries) in RUST_CRATES {
        objects.extend(build_rust_crate(sh, out, bpf_linker, crate_name, binaries)?);
    }
    Ok(objects)
}

fn build_rust_crate(
    sh: &Shell,
    out: &Path,
    bpf_linker: &Path,
    crate_name: &str,
    binaries: &[&str],
) -> Result<Vec<PathBuf>> {
    let crate_dir = crate::workspace_root().join("ebpf-tests").join(crate_name);
    let target_dir = crate::workspace_root().join("target").join("ebpf-rust");
    let linker_dir = bpf_linker
        .parent()
        .ok_or("bpf-linker path has no directory")?;
    let path = std::env::join_paths(std::iter::once(linker_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    let _dir = sh.push_dir(&crate_dir);
    // The crate's own directory picks the pinned toolchain; RUSTC_BOOTSTRAP allows build-std on
    // stable; --btf makes bpf-linker emit .BTF and .BTF.ext (CO-RE records included).
    let build = cmd!(
        sh,
        "cargo build --quiet --release --target bpfel-unknown-none -Z build-std=core"
    )
    .env("RUSTC_BOOTSTRAP", "1")
    .env("RUSTFLAGS", "-C debuginfo=2 -C link-arg=--btf")
    .env("CARGO_TARGET_DIR", &target_dir)
    .env("PATH", path)
    .env("CLANG", CLANG)
    .env_remove("CARGO_ENCODED_RUSTFLAGS");
    crate::progress::quiet(build, "ebpf")?;
    let built = target_dir.join("bpfel-unknown-none").join("release");
    let mut objects = Vec::new();
    for binary in binaries {
        let (from, to) = (built.join(binary), out.join(binary));
        if modified(&to).ok() != Some(modified(&from)?) {
            fs::copy(&from, &to)?;
            // Keep the build's time so the next run can tell nothing changed.
            fs::File::options()
                .write(true)
                .open(&to)?
                .set_modified(modified(&from)?)?;
        }
        objects.push(to);
    }
    Ok(objects)
}

fn files_with_suffix(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.to_str().is_some_and(|p| p.ends_with(suffix)))
        .collect();
    files.sort();
    Ok(files)
}

fn modified(path: &Path) -> std::io::Result<SystemTime> {
    fs::metadata(path)?.modified()
}

fn newest(paths: &[PathBuf]) -> Result<SystemTime> {
    let mut newest = SystemTime::UNIX_EPOCH;
    for path in paths {
        newest = newest.max(modified(path)?);
    }
    Ok(newest)
}
