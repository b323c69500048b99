//! `cargo xtask kmod`: the test kernel module `core_reloc_testmod` (`ebpf-tests/kmod/`),
//! built out of tree for an older Debian 6.12 ABI than the guests run, in two layout
//! variants, each carrying a `.BTF.base` that our distiller wrote.
//!
//! Steps, each cached:
//! 1. resolve the ABI: the newest `linux-headers-6.12.N+deb12-amd64` older than the newest
//!    6.12 image (the guests' kernel), whose image package also exists;
//! 2. cache that image like `cargo xtask kernels` does, in `<kernels>/6.12-kmod/` (vmlinux,
//!    its BTF, the BTF of every module: the older ABI of the split-base differential);
//! 3. `make -C /usr/src/linux-headers-<release> M=... CC=gcc-12 CRT_VARIANT=<v> modules`: kbuild
//!    runs Debian's pahole 1.24 against the headers' vmlinux, which writes `.BTF` but no
//!    `.BTF.base`;
//! 4. distill that `.BTF` (split on the image's vmlinux BTF) with `core_reloc::split_base`
//!    and write `.BTF` and `.BTF.base` into the module with `llvm-objcopy-22`;
//! 5. fill the module's `.BTF_ids` (its fmod_ret kfunc set) with ids of the distilled BTF,
//!    as the kernel build's `resolve_btfids` does after pahole distills: kbuild's run saw
//!    pahole's numbering, which distilling changes.
//!
//! Output: `target/kmod/core_reloc_testmod-v<variant>.ko` and `target/kmod/release`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use core_reloc::btf::Btf;
use object::{Object, ObjectSection};
use xshell::{Shell, cmd};

use crate::{Result, kernels};

/// Cache directory (under the kernels root) of the image the module is built against.
pub const KERNEL_DIR: &str = "6.12-kmod";
/// The layout variants built.
pub const VARIANTS: [u32; 2] = [1, 2];
const SOURCES: [&str; 2] = ["Kbuild", "core_reloc_testmod.c"];

/// `cargo xtask kmod`.
pub fn run() -> Result<()> {
    let sh = Shell::new()?;
    for module in ensure(&sh)? {
        println!("{}", module.display());
    }
    Ok(())
}

/// The Debian ABI number the module is built against (see the module docs).
pub fn abi(sh: &Shell) -> Result<u32> {
    let newest = kernels::newest_612(sh)?;
    let numbers = |pattern: &str, prefix: &str, suffix: &str| -> Result<Vec<u32>> {
        let listing = cmd!(sh, "apt-cache search --names-only {pattern}")
            .quiet()
            .read()?;
        Ok(listing
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter_map(|name| {
                name.strip_prefix(prefix)?
                    .strip_suffix(suffix)?
                    .parse()
                    .ok()
            })
            .collect())
    };
    let headers = numbers(
        "^linux-headers-6\\.12\\.[0-9]+\\+deb12-amd64$",
        "linux-headers-6.12.",
        "+deb12-amd64",
    )?;
    let images = numbers(
        "^linux-image-6\\.12\\.[0-9]+\\+deb12-amd64$",
        "linux-image-6.12.",
        "+deb12-amd64",
    )?;
    headers
        .into_iter()
        .filter(|n| *n < newest && images.contains(n))
        .max()
        .ok_or_else(|| {
            format!("no linux-headers-6.12.N+deb12-amd64 older than 6.12.{newest} with an image")
                .into()
        })
}

/// The apt packages the build needs beyond set-up's fixed list.
pub fn apt_packages(sh: &Shell) -> Result<Vec<String>> {
    Ok(vec![format!("linux-headers-6.12.{}+deb12-amd64", abi(sh)?)])
}

/// Builds (or finds cached) both variants; returns their paths.
pub fn ensure(sh: &Shell) -> Result<Vec<PathBuf>> {
    let release = format!("6.12.{}+deb12-amd64", abi(sh)?);
    let kernel =
        kernels::ensure_release(sh, KERNEL_DIR, &format!("linux-image-{release}"), &release)?;
    let headers = PathBuf::from(format!("/usr/src/linux-headers-{release}"));
    if !headers.join("Makefile").exists() {
        return Err(format!(
            "{} is missing: run `cargo xtask setup` (installs linux-headers-{release})",
            headers.display()
        )
        .into());
    }
    let source_dir = crate::workspace_root().join("ebpf-tests/kmod");
    let out_dir = crate::workspace_root().join("target/kmod");
    fs::create_dir_all(&out_dir)?;
    // What the outputs depend on: the sources, the release, this builder and the distiller.
    let mut stamp = format!(
        "{release}\n{}{}{}{}\n",
        include_str!("kmod.rs"),
        include_str!("../../core-reloc/src/split_base/distill.rs"),
        include_str!("../../core-reloc/src/split_base/writer.rs"),
        include_str!("../../core-reloc/src/split_base/fields.rs"),
    );
    for source in SOURCES {
        stamp.push_str(&fs::read_to_string(source_dir.join(source))?);
    }
    let stamp_path = out_dir.join("stamp");
    let outputs: Vec<PathBuf> = VARIANTS
        .iter()
        .map(|v| out_dir.join(format!("core_reloc_testmod-v{v}.ko")))
        .collect();
    if fs::read_to_string(&stamp_path).ok().as_deref() == Some(&stamp)
        && outputs.iter().all(|path| path.exists())
    {
        return Ok(outputs);
    }
    let vmlinux_btf = Arc::new(Btf::parse(fs::read(kernel.join("btf/vmlinux"))?)?);
    check_headers_vmlinux(&headers, vmlinux_btf.bytes())?;
    for (variant, output) in VARIANTS.iter().zip(&outputs) {
        let build = out_dir.join(format!("build-v{variant}"));
        if build.exists() {
            fs::remove_dir_all(&build)?;
        }
        fs::create_dir_all(&build)?;
        for source in SOURCES {
            fs::copy(source_dir.join(source), build.join(source))?;
        }
        let variant_arg = format!("CRT_VARIANT={variant}");
        let m = format!("M={}", build.display());
        crate::progress::quiet(
            cmd!(
                sh,
                "make -s -C {headers} {m} CC=gcc-12 {variant_arg} modules"
            ),
            "kmod",
        )?;
        distill_into(
            sh,
            &build.join("core_reloc_testmod.ko"),
            &vmlinux_btf,
            output,
        )?;
    }
    fs::write(out_dir.join("release"), format!("{release}\n"))?;
    fs::write(&stamp_path, stamp)?;
    Ok(outputs)
}

/// The headers' vmlinux (pahole's base) must carry the image's BTF, or the module's split
/// would be on another base than the one it is distilled from.
fn check_headers_vmlinux(headers: &Path, image_btf: &[u8]) -> Result<()> {
    let elf = fs::read(headers.join("vmlinux"))?;
    let file = object::File::parse(&*elf)?;
    let btf = file
        .section_by_name(".BTF")
        .ok_or("the headers' vmlinux has no .BTF")?
        .data()?;
    if btf != image_btf {
        return Err("the headers' vmlinux BTF differs from the image's".into());
    }
    Ok(())
}

/// Distills the `.BTF` kbuild wrote into `ko` and writes `.BTF` + `.BTF.base` into `output`.
fn distill_into(sh: &Shell, ko: &Path, vmlinux: &Arc<Btf<'static>>, output: &Path) -> Result<()> {
    let elf = fs::read(ko)?;
    let file = object::File::parse(&*elf)?;
    let btf = file
        .section_by_name(".BTF")
        .ok_or_else(|| {
            format!(
                "{}: kbuild wrote no .BTF (is pahole installed?)",
                ko.display()
            )
        })?
        .data()?;
    let split = Btf::parse_split(btf, vmlinux.clone())?;
    let distilled = core_reloc::split_base::distill_base(&split)?;
    let dir = ko.parent().ok_or("module without a directory")?;
    let (split_path, base_path) = (dir.join("distilled.btf"), dir.join("distilled-base.btf"));
    fs::write(&split_path, &distilled.split)?;
    fs::write(&base_path, &distilled.base)?;
    let update = format!(".BTF={}", split_path.display());
    let base = format!(".BTF.base={}", base_path.display());
    let base_op = if file.section_by_name(".BTF.base").is_some() {
        "--update-section"
    } else {
        "--add-section"
    };
    crate::progress::quiet(
        cmd!(
            sh,
            "llvm-objcopy-22 --update-section {update} {base_op} {base} {ko} {output}"
        ),
        "kmod",
    )?;
    let base = Arc::new(Btf::parse(distilled.base)?);
    let split = Btf::parse_split(distilled.split, base)?;
    let mut module = fs::read(output)?;
    resolve_btf_ids(&mut module, &split)
        .map_err(|error| format!("{}: .BTF_ids: {error}", output.display()))?;
    fs::write(output, module)?;
    Ok(())
}

/// Writes into `.BTF_ids` what `resolve_btfids` writes: at each `__BTF_ID__func__NAME__N`
/// symbol the id of FUNC `NAME` in `btf`, at each `__BTF_ID__set8__SET` the set's count
/// (`BTF_SET8_END` sizes that symbol: the 8-byte header and 8 bytes per entry). Sets stay in source
/// order: sorting by id matters only for sets of more than one entry, which this module
/// does not have.
fn resolve_btf_ids(elf: &mut [u8], btf: &Btf<'_>) -> Result<()> {
    use object::ObjectSymbol;
    let file = object::File::parse(&*elf)?;
    let Some(section) = file.section_by_name(".BTF_ids") else {
        return Ok(());
    };
    let (section_start, section_len) = section.file_range().ok_or(".BTF_ids has no data")?;
    let mut writes: Vec<(u64, u32)> = Vec::new();
    for symbol in file.symbols() {
        if symbol.section_index() != Some(section.index()) {
            continue;
        }
        let name = symbol.name()?;
        let value = if let Some(rest) = name.strip_prefix("__BTF_ID__func__") {
            let (function, _) = rest
                .rsplit_once("__")
                .ok_or("a BTF_ID symbol without __N")?;
            btf.find_by_name_kind(function, core_reloc::btf::Kind::Func)
                .ok_or_else(|| format!("no FUNC {function} in the distilled BTF"))?
                .0
        } else if name.starts_with("__BTF_ID__set8__") {
            (symbol.size() / 8)
                .checked_sub(1)
                .ok_or_else(|| format!("{name}: a set8 shorter than its header"))?
                as u32
        } else if name.starts_with("__BTF_ID__") {
            return Err(format!("{name}: only func ids and set8 are resolved here").into());
        } else {
            continue;
        };
        writes.push((symbol.address(), value));
    }
    for (address, value) in writes {
        if address + 4 > section_len {
            return Err(format!("a symbol at {address:#x} past the section").into());
        }
        let at = (section_start + address) as usize;
        elf[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }
    Ok(())
}
