//! Debian test kernels: resolve, download, extract, and cache what the tests need.
//!
//! For each series (6.1 and 6.12) the cache directory `<root>/<series>/` holds:
//! - `release`: the kernel release, e.g. `6.12.117+deb12-amd64`;
//! - `vmlinux`: the uncompressed kernel ELF (PVH-bootable by QEMU, no in-guest decompression);
//! - `config`: the kernel configuration;
//! - `modules/<file>.ko`: btrfs and its dependencies, decompressed;
//! - `btrfs.deps`: those `.ko` file names in load order, one per line, btrfs last;
//! - `nf_conntrack.deps`: nf_conntrack and its dependencies in load order (their `.ko` files in
//!   `modules/` too), for the module-kfunc tests (the conntrack kfuncs are registered by it);
//! - `modules/loop.ko`: the loop driver, for loop-mounting a btrfs image in a guest;
//! - `btf/vmlinux` and `btf/<module>`: raw BTF blobs byte-identical to `/sys/kernel/btf/*` in a
//!   guest running that kernel (the `.BTF` sections of vmlinux and of every module).
//!
//! A `complete` marker is written last, so an interrupted run is redone rather than trusted.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};
use xshell::{Shell, cmd};

use crate::{Result, progress};

/// Environment variable that overrides the cache root (default `<workspace>/target/kernels`).
pub use kernel_fixtures::ROOT_ENV;

/// A Debian kernel series we test against, and how to find its newest signed image package.
struct Series {
    name: &'static str,
    /// Prefix and suffix of the package name around the varying part, e.g. the ABI number.
    package_prefix: &'static str,
    package_suffix: &'static str,
}

const SERIES: &[Series] = &[
    Series {
        name: "6.1",
        package_prefix: "linux-image-6.1.0-",
        package_suffix: "-amd64",
    },
    Series {
        name: "6.12",
        package_prefix: "linux-image-6.12.",
        package_suffix: "+deb12-amd64",
    },
];

/// The module whose BTF the tests read, and whose dependencies are packed into the guests.
const TEST_MODULE: &str = "btrfs";
/// The module whose kfuncs (`bpf_xdp_ct_lookup`, ...) the module-kfunc tests call.
const KFUNC_MODULE: &str = "nf_conntrack";

/// A kernel ready in the cache.
pub struct Kernel {
    pub series: &'static str,
    pub release: String,
    pub dir: PathBuf,
    pub module_btf_count: usize,
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kernel {} ({}): {} with {} module BTF blobs",
            self.series,
            self.release,
            self.dir.display(),
            self.module_btf_count
        )
    }
}

/// The cache root (the tests find it through the same function).
pub fn root() -> PathBuf {
    kernel_fixtures::kernels_root()
}

/// `cargo xtask kernels`.
pub fn run() -> Result<Vec<Kernel>> {
    let sh = Shell::new()?;
    let kernels = ensure_all(&sh)?;
    eprintln!("xtask: kernels cached in {}", root().display());
    Ok(kernels)
}

/// Makes every series ready, downloading only what the cache lacks.
pub fn ensure_all(sh: &Shell) -> Result<Vec<Kernel>> {
    let root = root();
    fs::create_dir_all(&root)?;
    SERIES
        .iter()
        .map(|series| {
            progress::step_with(&format!("kernel {}", series.name), || {
                ensure(sh, &root, series)
            })
        })
        .collect()
}

/// The kernel ready in the cache, and whether it was there already.
fn ensure(sh: &Shell, root: &Path, series: &Series) -> Result<(Kernel, String)> {
    let dir = root.join(series.name);
    let package = newest_package(sh, series)?;
    let release = package
        .strip_prefix("linux-image-")
        .expect("package names start with linux-image-")
        .to_string();
    let complete = dir.join("complete");
    let cached_release = fs::read_to_string(dir.join("release")).unwrap_or_default();
    // A cache from before nf_conntrack was kept lacks its deps file: prepared again (from the
    // downloaded package when it is still in `debs/`).
    let layout_current = dir.join(format!("{KFUNC_MODULE}.deps")).exists();
    let cached = complete.exists() && cached_release.trim() == release && layout_current;
    if !cached {
        prepare(sh, root, &dir, &package, &release)?;
    }
    let module_btf_count = verify_layout(&dir)?;
    let detail = format!(
        "{release}, {module_btf_count} module BTF, {}",
        if cached { "cached" } else { "downloaded" }
    );
    let kernel = Kernel {
        series: series.name,
        release,
        dir,
        module_btf_count,
    };
    Ok((kernel, detail))
}

/// Makes `<root>/<name>` hold the cache layout of the module docs for image `package` of
/// `release`, unless it already does; used for kernels outside [`SERIES`] (e.g. the older
/// 6.12 ABI the test module is built against).
pub(crate) fn ensure_release(
    sh: &Shell,
    name: &str,
    package: &str,
    release: &str,
) -> Result<PathBuf> {
    let root = root();
    let dir = root.join(name);
    let cached_release = fs::read_to_string(dir.join("release")).unwrap_or_default();
    // A cache of an older layout (one that lacks a file the layout now has) is prepared again.
    let current = dir.join("complete").exists()
        && cached_release.trim() == release
        && verify_layout(&dir).is_ok();
    if !current {
        eprintln!("xtask: preparing kernel {name} ({release})");
        fs::create_dir_all(&root)?;
        prepare(sh, &root, &dir, package, release)?;
    }
    verify_layout(&dir)?;
    Ok(dir)
}

/// The number of the newest 6.12 image package (`linux-image-6.12.N+deb12-amd64`).
pub(crate) fn newest_612(sh: &Shell) -> Result<u32> {
    let series = SERIES
        .iter()
        .find(|series| series.name == "6.12")
        .ok_or("no 6.12 series")?;
    let package = newest_package(sh, series)?;
    package
        .strip_prefix(series.package_prefix)
        .and_then(|rest| rest.strip_suffix(series.package_suffix))
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| format!("unexpected package name {package}").into())
}

/// The newest signed image package of a series in the local apt lists (no network).
fn newest_package(sh: &Shell, series: &Series) -> Result<String> {
    let pattern = format!(
        "^{}[0-9]+{}$",
        regex_escape(series.package_prefix),
        regex_escape(series.package_suffix)
    );
    let mut listing = cmd!(sh, "apt-cache search --names-only {pattern}")
        .quiet()
        .read()?;
    if listing.trim().is_empty() {
        // A machine whose apt lists were never downloaded knows no kernel packages yet.
        progress::quiet(cmd!(sh, "apt-get update -qq"), "kernels")?;
        listing = cmd!(sh, "apt-cache search --names-only {pattern}")
            .quiet()
            .read()?;
    }
    listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|name| {
            let number = name
                .strip_prefix(series.package_prefix)?
                .strip_suffix(series.package_suffix)?
                .parse::<u32>()
                .ok()?;
            Some((number, name.to_string()))
        })
        .max()
        .map(|(_, name)| name)
        .ok_or_else(|| format!("no package matches {pattern} in the apt lists").into())
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = matches!(c, '.' | '+' | '*' | '?' | '[' | ']' | '(' | ')' | '^' | '$');
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

fn prepare(sh: &Shell, root: &Path, dir: &Path, package: &str, release: &str) -> Result<()> {
    let debs = root.join("debs");
    fs::create_dir_all(&debs)?;
    let deb = download(sh, &debs, package)?;

    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir.join("modules"))?;
    fs::create_dir_all(dir.join("btf"))?;
    let tree = root.join(format!("extract-{release}"));
    if tree.exists() {
        fs::remove_dir_all(&tree)?;
    }
    progress::quiet(cmd!(sh, "dpkg-deb -x {deb} {tree}"), "kernels")?;

    let boot = tree.join("boot");
    fs::copy(boot.join(format!("config-{release}")), dir.join("config"))?;
    let vmlinuz = fs::read(boot.join(format!("vmlinuz-{release}")))?;
    let vmlinux = extract_vmlinux(sh, &vmlinuz, &tree.join("vmlinuz.tail"))?;
    fs::write(
        dir.join("btf").join("vmlinux"),
        btf_section(&vmlinux)?.ok_or("vmlinux has no .BTF section")?,
    )?;
    fs::write(dir.join("vmlinux"), &vmlinux)?;
    drop(vmlinux);

    let modules_dir = tree.join("lib/modules").join(release);
    let load_orders = [
        (
            TEST_MODULE,
            module_load_order(sh, &tree, release, TEST_MODULE)?,
        ),
        (
            KFUNC_MODULE,
            module_load_order(sh, &tree, release, KFUNC_MODULE)?,
        ),
    ];
    decompress_modules(sh, &modules_dir)?;
    for (module, load_order) in &load_orders {
        let mut deps = String::new();
        for module in load_order {
            let source = decompressed_path(module);
            let file_name = source
                .file_name()
                .ok_or("module path without a file name")?;
            fs::copy(&source, dir.join("modules").join(file_name))?;
            deps.push_str(&file_name.to_string_lossy());
            deps.push('\n');
        }
        fs::write(dir.join(format!("{module}.deps")), deps)?;
    }
    // The guests loop-mount their btrfs image; Debian builds the loop driver as a module.
    let loop_driver = modules_dir.join("kernel/drivers/block/loop.ko");
    if loop_driver.exists() {
        fs::copy(&loop_driver, dir.join("modules/loop.ko"))?;
    }
    extract_module_btf(&modules_dir, &dir.join("btf"))?;

    fs::write(dir.join("release"), format!("{release}\n"))?;
    fs::remove_dir_all(&tree)?;
    fs::write(dir.join("complete"), "")?;
    Ok(())
}

/// Downloads a package into `debs` unless it is already there.
fn download(sh: &Shell, debs: &Path, package: &str) -> Result<PathBuf> {
    let find = |debs: &Path| -> Result<Option<PathBuf>> {
        Ok(fs::read_dir(debs)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .find(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| {
                        name.starts_with(&format!("{package}_")) && name.ends_with(".deb")
                    })
            }))
    };
    if let Some(deb) = find(debs)? {
        return Ok(deb);
    }
    let _dir = sh.push_dir(debs);
    progress::quiet(cmd!(sh, "apt-get download -q {package}"), "kernels")?;
    find(debs)?.ok_or_else(|| format!("apt-get download {package} left no .deb").into())
}

/// Finds the compressed kernel inside a bzImage and decompresses it to the vmlinux ELF.
/// `scratch` is a file the candidate streams are written to: the decoders stop at the end of the
/// stream, so feeding them through a pipe would fail on the unread rest.
fn extract_vmlinux(sh: &Shell, vmlinuz: &[u8], scratch: &Path) -> Result<Vec<u8>> {
    // Debian compresses with xz; zstd is accepted too in case that changes.
    let decoders: [(&[u8], &str, &[&str]); 2] = [
        (b"\xfd7zXZ\x00", "xz", &["-dc", "--single-stream"]),
        (b"\x28\xb5\x2f\xfd", "zstd", &["-dcq"]),
    ];
    for (magic, program, args) in decoders {
        for start in find_all(vmlinuz, magic) {
            fs::write(scratch, &vmlinuz[start..])?;
            let output = cmd!(sh, "{program} {args...} {scratch}")
                .quiet()
                .ignore_status()
                .ignore_stderr()
                .output()?;
            // Trailing bytes after the stream make the decoder complain; the ELF is what counts.
            if output.stdout.starts_with(b"\x7fELF") {
                return Ok(output.stdout);
            }
        }
    }
    Err("no compressed ELF kernel found in vmlinuz".into())
}

fn find_all<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(move |(_, window)| *window == needle)
        .map(|(index, _)| index)
}

/// The `.ko` paths (as in the package, possibly `.xz`) that load `module`, dependencies first.
fn module_load_order(sh: &Shell, tree: &Path, release: &str, module: &str) -> Result<Vec<PathBuf>> {
    // The packages ship no modules.dep; depmod builds it inside the extracted tree.
    progress::quiet(cmd!(sh, "depmod -b {tree} {release}"), "kernels")?;
    let plan = cmd!(
        sh,
        "modprobe -d {tree} -S {release} --show-depends {module}"
    )
    .quiet()
    .read()?;
    let order: Vec<PathBuf> = plan
        .lines()
        .filter_map(|line| line.strip_prefix("insmod "))
        .map(|rest| PathBuf::from(rest.split_whitespace().next().unwrap_or_default()))
        .collect();
    if order.is_empty() {
        return Err(format!("modprobe found no load plan for {module}").into());
    }
    Ok(order)
}

fn decompressed_path(module: &Path) -> PathBuf {
    match module.to_str().and_then(|path| path.strip_suffix(".xz")) {
        Some(path) => PathBuf::from(path),
        None => module.to_path_buf(),
    }
}

/// Decompresses every `.ko.xz` in place, two xz processes at a time.
fn decompress_modules(sh: &Shell, modules_dir: &Path) -> Result<()> {
    let mut compressed = Vec::new();
    walk(modules_dir, &mut |path| {
        if path.to_str().is_some_and(|path| path.ends_with(".ko.xz")) {
            compressed.push(path.to_path_buf());
        }
    })?;
    let halves: Vec<&[PathBuf]> = if compressed.is_empty() {
        Vec::new()
    } else {
        compressed.chunks(compressed.len().div_ceil(2)).collect()
    };
    std::thread::scope(|scope| -> Result<()> {
        let jobs: Vec<_> = halves
            .into_iter()
            .map(|half| {
                scope.spawn(move || -> std::result::Result<(), String> {
                    let sh = Shell::new().map_err(|e| e.to_string())?;
                    for batch in half.chunks(400) {
                        cmd!(sh, "xz -d -f {batch...}")
                            .quiet()
                            .run()
                            .map_err(|e| e.to_string())?;
                    }
                    Ok(())
                })
            })
            .collect();
        for job in jobs {
            job.join().map_err(|_| "xz worker panicked")??;
        }
        Ok(())
    })?;
    let _ = sh;
    Ok(())
}

fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, visit)?;
        } else {
            visit(&path);
        }
    }
    Ok(())
}

/// Writes `btf/<module name>` for every module carrying a `.BTF` section.
fn extract_module_btf(modules_dir: &Path, btf_dir: &Path) -> Result<()> {
    let mut failure = None;
    walk(modules_dir, &mut |path| {
        if failure.is_some() || path.extension().is_none_or(|ext| ext != "ko") {
            return;
        }
        let result = (|| -> Result<()> {
            let data = fs::read(path)?;
            let file = object::File::parse(&*data)?;
            let Some(btf) = section_data(&file, ".BTF")? else {
                return Ok(());
            };
            let name = module_name(&file)?.unwrap_or_else(|| {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                stem.replace('-', "_")
            });
            fs::write(btf_dir.join(name), btf)?;
            Ok(())
        })();
        if let Err(error) = result {
            failure = Some(format!("{}: {error}", path.display()));
        }
    })?;
    match failure {
        Some(failure) => Err(failure.into()),
        None => Ok(()),
    }
}

fn btf_section(elf: &[u8]) -> Result<Option<Vec<u8>>> {
    let file = object::File::parse(elf)?;
    Ok(section_data(&file, ".BTF")?.map(<[u8]>::to_vec))
}

fn section_data<'data>(file: &object::File<'data>, name: &str) -> Result<Option<&'data [u8]>> {
    match file.section_by_name(name) {
        Some(section) => Ok(Some(section.data()?)),
        None => Ok(None),
    }
}

/// The module's own name from `.modinfo` (`name=...`), which is what `/sys/kernel/btf` uses.
fn module_name(file: &object::File<'_>) -> Result<Option<String>> {
    let Some(modinfo) = section_data(file, ".modinfo")? else {
        return Ok(None);
    };
    Ok(modinfo
        .split(|&byte| byte == 0)
        .find_map(|entry| entry.strip_prefix(b"name="))
        .map(|name| String::from_utf8_lossy(name).into_owned()))
}

/// Checks a series directory and returns the number of module BTF blobs in it.
pub fn verify_layout(dir: &Path) -> Result<usize> {
    let context = |what: &str| format!("{}: {what}", dir.display());
    let release =
        fs::read_to_string(dir.join("release")).map_err(|_| context("no release file"))?;
    if release.trim().is_empty() {
        return Err(context("empty release file").into());
    }
    let vmlinux = fs::read(dir.join("vmlinux")).map_err(|_| context("no vmlinux"))?;
    let elf = object::File::parse(&*vmlinux).map_err(|e| context(&format!("vmlinux: {e}")))?;
    if elf.architecture() != object::Architecture::X86_64 {
        return Err(context("vmlinux is not an x86-64 ELF").into());
    }
    drop(elf);
    check_btf_blob(&dir.join("btf/vmlinux"), 1 << 20..16 << 20)?;

    let deps = fs::read_to_string(dir.join("btrfs.deps")).map_err(|_| context("no btrfs.deps"))?;
    let deps: Vec<&str> = deps.lines().collect();
    if deps.last() != Some(&"btrfs.ko") {
        return Err(context("btrfs.deps does not end with btrfs.ko").into());
    }
    for module in &deps {
        let ko = fs::read(dir.join("modules").join(module))
            .map_err(|_| context(&format!("missing module {module}")))?;
        if !ko.starts_with(b"\x7fELF") {
            return Err(context(&format!("{module} is not an ELF file")).into());
        }
    }
    check_btf_blob(&dir.join("btf/btrfs"), 64 << 10..2 << 20)?;
    let kfunc_deps = fs::read_to_string(dir.join(format!("{KFUNC_MODULE}.deps")))
        .map_err(|_| context("no nf_conntrack.deps"))?;
    if kfunc_deps.lines().last() != Some("nf_conntrack.ko") {
        return Err(context("nf_conntrack.deps does not end with nf_conntrack.ko").into());
    }
    for module in kfunc_deps.lines() {
        if !dir.join("modules").join(module).is_file() {
            return Err(context(&format!("missing module {module}")).into());
        }
    }
    check_btf_blob(&dir.join("btf/nf_conntrack"), 16 << 10..2 << 20)?;

    let mut count = 0;
    for entry in fs::read_dir(dir.join("btf"))? {
        let path = entry?.path();
        if path.file_name().is_some_and(|name| name != "vmlinux") {
            check_btf_blob(&path, 24..16 << 20)?;
            count += 1;
        }
    }
    if count < 100 {
        return Err(context(&format!("only {count} module BTF blobs")).into());
    }
    Ok(count)
}

/// A raw BTF blob: magic 0xeB9F (little endian on x86), version 1, and a plausible size.
fn check_btf_blob(path: &Path, plausible: std::ops::Range<usize>) -> Result<()> {
    let blob = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !blob.starts_with(&[0x9f, 0xeb, 0x01]) {
        return Err(format!("{}: not little-endian BTF version 1", path.display()).into());
    }
    if !plausible.contains(&blob.len()) {
        return Err(format!(
            "{}: {} bytes, expected {} to {}",
            path.display(),
            blob.len(),
            plausible.start,
            plausible.end
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache that `cargo xtask kernels` made is complete for every series.
    #[test]
    fn cached_kernels_have_the_documented_layout() {
        let root = root();
        for series in SERIES {
            let dir = root.join(series.name);
            assert!(
                dir.join("complete").exists(),
                "{} is not prepared: run `cargo xtask kernels`",
                dir.display()
            );
            let modules = verify_layout(&dir).unwrap_or_else(|e| panic!("{e}"));
            assert!(modules >= 100, "{modules} module BTF blobs");
        }
    }

    #[test]
    fn package_patterns_escape_regex_metacharacters() {
        assert_eq!(regex_escape("linux-image-6.12."), "linux-image-6\\.12\\.");
        assert_eq!(regex_escape("+deb12-amd64"), "\\+deb12-amd64");
    }

    #[test]
    fn decompressed_path_strips_only_xz() {
        assert_eq!(
            decompressed_path(Path::new("a/btrfs.ko.xz")),
            Path::new("a/btrfs.ko")
        );
        assert_eq!(
            decompressed_path(Path::new("a/btrfs.ko")),
            Path::new("a/btrfs.ko")
        );
    }
}
