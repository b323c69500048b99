//! `cargo xtask vm [--kernel 6.1|6.12|all] [--timeout SECS] [--verbose] [-- FILTER...]`: runs the
//! integration tests inside QEMU guests booting the Debian test kernels.
//!
//! Per run: set-up (packages, bpf-linker, kernels), the eBPF programs, the static guest init and
//! test executables, one btrfs image, then per kernel an expectations file and an initramfs in
//! `target/vm/<series>/`. The guests boot in parallel (at most two: the machine has two cores).
//! One guest's console streams here prefixed with its series; with two, each console goes to
//! `target/vm/<series>/console.log` and is shown whole, after its guest, only when it failed
//! (or with `--verbose`), so the two are never interleaved line by line. A table of every test
//! on every kernel ends the run; the exit status is 0 only if every test passed on every
//! requested kernel. The guest side is `integration/src/bin/guest-init.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use xshell::{Shell, cmd};

use crate::{Result, ebpf, expectations, fsimage, initramfs::Cpio, kernels, kmod, progress, setup};

const RESULT_PREFIX: &str = "CORE-RELOC-VM-RESULT: ";
const TEST_PREFIX: &str = "CORE-RELOC-VM-TEST: ";
/// Kernel messages that fail a run even if every test passed.
const KERNEL_FAILURES: &[&str] = &[
    "Kernel panic",
    "BUG: ",
    "Oops: ",
    "general protection fault",
];
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(240);
/// Guests run at once; each QEMU TCG vCPU keeps one host core busy.
const MAX_PARALLEL_VMS: usize = 2;
const GUEST_TARGET: &str = "x86_64-unknown-linux-gnu";
/// Test targets of the integration crate that run in the guests.
const GUEST_TEST_PREFIX: &str = "vm_";
/// The CLI binary packed into the test guests' `/bin` (integration's `CLI_PATH`).
const CLI_BINARY: &str = "core-reloc";

/// Parsed command line.
struct Options {
    series: Vec<String>,
    timeout: Duration,
    verbose: bool,
    filter: Vec<String>,
    /// Run the demo example instead of the tests.
    demo: bool,
}

/// The demo: `loader/examples/btrfs_fentry.rs` with the pure-Rust fentry/fexit programs on
/// btrfs functions (`ebpf-tests/rust-named/src/btrfs_fentry_named.rs`: named relocations,
/// direct loads, no C).
const DEMO_EXAMPLE: &str = "btrfs_fentry";
const DEMO_OBJECT: &str = "btrfs_fentry_named";
const DEMO_SERIES: &str = "6.12";

fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        series: Vec::new(),
        timeout: DEFAULT_TIMEOUT,
        verbose: false,
        filter: Vec::new(),
        demo: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--kernel" => {
                let value = args.next().ok_or("--kernel needs 6.1, 6.12 or all")?;
                options.series = match value.as_str() {
                    "all" => Vec::new(),
                    series => vec![series.to_string()],
                };
            }
            "--timeout" => {
                let value = args.next().ok_or("--timeout needs seconds")?;
                options.timeout = Duration::from_secs(value.parse()?);
            }
            "--verbose" => options.verbose = true,
            "--" => {
                options.filter = args.cloned().collect();
                break;
            }
            other => return Err(format!("cargo xtask vm: unknown argument {other:?}").into()),
        }
    }
    Ok(options)
}

/// `cargo xtask vm ...`.
pub fn run(args: &[String]) -> Result<()> {
    let options = parse_options(args)?;
    let started = Instant::now();
    let result = prepare_and_run(options);
    progress::print_summary("cargo xtask vm", started);
    result.map(|_| ())
}

/// Set-up and the eBPF programs, then the guests.
fn prepare_and_run(options: Options) -> Result<usize> {
    let prepared = setup::run()?;
    let sh = Shell::new()?;
    sh.change_dir(crate::workspace_root());
    let objects = progress::step("eBPF programs", || ebpf::build(&sh, &prepared.bpf_linker))?;
    run_with(options, &prepared, &objects)
}

/// The whole guest suite on every kernel, after `cargo xtask test` set up and built the eBPF
/// programs; returns the number of guest tests that passed.
pub fn suite(prepared: &setup::Prepared, objects: &[PathBuf]) -> Result<usize> {
    run_with(
        parse_options(&["--kernel".into(), "all".into()])?,
        prepared,
        objects,
    )
}

/// `cargo xtask demo`: boots the 6.12 kernel with btrfs and runs the `btrfs_fentry` example,
/// which loads pure-Rust fentry/fexit programs on btrfs functions with
/// `Loader::load_module_aware`, stats the files of the btrfs image and prints what they read
/// from btrfs's structs (direct CO-RE loads) next to `stat`.
pub fn demo() -> Result<()> {
    prepare_and_run(Options {
        series: vec![DEMO_SERIES.to_string()],
        timeout: DEFAULT_TIMEOUT,
        verbose: false,
        filter: Vec::new(),
        demo: true,
    })
    .map(|_| ())
}

/// Prepares and boots the guests; returns the number of tests that passed on all kernels.
fn run_with(options: Options, prepared: &setup::Prepared, objects: &[PathBuf]) -> Result<usize> {
    let kernels: Vec<&kernels::Kernel> = prepared
        .kernels
        .iter()
        .filter(|k| options.series.is_empty() || options.series.iter().any(|s| s == k.series))
        .collect();
    if kernels.is_empty() {
        return Err(format!("no kernel series matches {:?}", options.series).into());
    }

    let sh = Shell::new()?;
    sh.change_dir(crate::workspace_root());
    let guest = progress::step("guest binaries", || build_guest_binaries(options.demo))?;
    let work = crate::workspace_root().join("target").join("vm");
    fs::create_dir_all(&work)?;
    let mut fs_facts = String::new();
    progress::step("btrfs image", || fsimage::build(&sh, &work, &mut fs_facts))?;
    // The test module is built for an older 6.12 ABI; only the 6.12 guest loads it.
    let kmods = if kernels.iter().any(|k| k.series == "6.12") {
        progress::step("test kernel module", || kmod::ensure(&sh))?
    } else {
        Vec::new()
    };

    let mut guests = Vec::new();
    for kernel in &kernels {
        let dir = work.join(kernel.series);
        fs::create_dir_all(&dir)?;
        let facts = progress::step(&format!("expectations {} (bpftool)", kernel.series), || {
            kernel_facts(&sh, kernel, objects, &fs_facts, &dir)
        })?;
        fs::write(dir.join("expectations"), &facts)?;
        let initrd = dir.join("initramfs.cpio");
        let kmods: &[PathBuf] = if kernel.series == "6.12" { &kmods } else { &[] };
        progress::step_with(&format!("initramfs {}", kernel.series), || {
            let size = pack_initramfs(
                &sh, kernel, &guest, objects, kmods, &work, &facts, &options, &initrd,
            )?;
            Ok(((), format!("{:.1} MiB", size as f64 / (1 << 20) as f64)))
        })?;
        guests.push((kernel, initrd, dir.join("console.log")));
    }
    // Two consoles streaming at once would interleave line by line: only a lone guest streams.
    let stream = guests.len() == 1;
    if !stream {
        eprintln!(
            "xtask: booting {} guests; consoles in {}",
            guests.len(),
            work.join("<series>/console.log").display()
        );
    }

    let mut outcomes = Vec::new();
    for batch in guests.chunks(MAX_PARALLEL_VMS) {
        std::thread::scope(|scope| {
            let running: Vec<_> = batch
                .iter()
                .map(|(kernel, initrd, log)| {
                    let options = &options;
                    scope.spawn(move || boot(kernel, initrd, log, options, stream))
                })
                .collect();
            for handle in running {
                outcomes.push(handle.join().expect("VM thread panicked"));
            }
        });
    }

    print_test_table(&outcomes);
    if outcomes.iter().all(Outcome::passed) {
        Ok(outcomes
            .iter()
            .map(|outcome| outcome.result.map_or(0, |(pass, _)| pass))
            .sum())
    } else {
        Err("VM tests failed".into())
    }
}

/// The static executables the guest needs.
struct GuestBinaries {
    init: PathBuf,
    /// `(test target name, executable)`.
    tests: Vec<(String, PathBuf)>,
    /// The demo example, when running the demo.
    demo: Option<PathBuf>,
    /// The `core-reloc` CLI, when running the tests (packed as `/bin/core-reloc`).
    cli: Option<PathBuf>,
}

/// Builds guest-init and either the guest test executables and the `core-reloc` CLI (which
/// guest tests run) or the demo example, statically linked against glibc.
fn build_guest_binaries(demo: bool) -> Result<GuestBinaries> {
    let builds: &[&[&str]] = if demo {
        &[&[
            "build",
            "--package",
            "integration",
            "--bin",
            "guest-init",
            "--package",
            "core-reloc-loader",
            "--example",
            DEMO_EXAMPLE,
        ]]
    } else {
        &[
            &["test", "--package", "integration", "--no-run"],
            &["build", "--package", "core-reloc-cli", "--bin", CLI_BINARY],
        ]
    };
    let mut init = None;
    let mut tests = Vec::new();
    let mut demo_binary = None;
    let mut cli = None;
    for build in builds {
        for (name, is_test, executable) in cargo_guest_artifacts(build)? {
            // Only `integration/tests/vm_*.rs` run in the guest; the crate's other tests are
            // host tests (they need the host's files and tools).
            if is_test && name.starts_with(GUEST_TEST_PREFIX) {
                tests.push((name, executable));
            } else if !is_test && name == "guest-init" {
                init = Some(executable);
            } else if !is_test && name == DEMO_EXAMPLE {
                demo_binary = Some(executable);
            } else if !is_test && name == CLI_BINARY {
                cli = Some(executable);
            }
        }
    }
    tests.sort();
    if demo && demo_binary.is_none() {
        return Err(format!("cargo built no {DEMO_EXAMPLE} example").into());
    }
    if !demo && cli.is_none() {
        return Err(format!("cargo built no {CLI_BINARY}").into());
    }
    Ok(GuestBinaries {
        init: init.ok_or("cargo built no guest-init")?,
        tests,
        demo: demo_binary,
        cli,
    })
}

/// Runs one static cargo build for the guest; returns `(target name, is a test, executable)`
/// of each executable it produced.
fn cargo_guest_artifacts(args: &[&str]) -> Result<Vec<(String, bool, PathBuf)>> {
    // An explicit --target keeps these flags off build scripts and proc macros (which cannot be
    // static) and keeps the artifacts apart from the host builds in target/debug.
    let output = Command::new(crate::cargo())
        .current_dir(crate::workspace_root())
        .args(args)
        .arg("--target")
        .arg(GUEST_TARGET)
        // Diagnostics still reach the terminal; cargo's progress lines do not.
        .arg("--quiet")
        .arg("--message-format=json-render-diagnostics")
        .env(
            "RUSTFLAGS",
            "-C target-feature=+crt-static -C strip=debuginfo",
        )
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err("building the guest binaries failed".into());
    }
    let mut artifacts = Vec::new();
    for line in String::from_utf8(output.stdout)?.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(executable) = message["executable"].as_str() else {
            continue;
        };
        let name = message["target"]["name"].as_str().unwrap_or_default();
        let is_test = message["profile"]["test"] == true;
        artifacts.push((name.to_string(), is_test, PathBuf::from(executable)));
    }
    Ok(artifacts)
}

/// The expectations file of one kernel: kernel and module facts, BTF facts from bpftool, and the
/// filesystem facts.
fn kernel_facts(
    sh: &Shell,
    kernel: &kernels::Kernel,
    objects: &[PathBuf],
    fs_facts: &str,
    cache_dir: &Path,
) -> Result<String> {
    let mut out = String::new();
    writeln!(
        out,
        "# Written by cargo xtask vm; see integration/src/expectations.rs"
    )?;
    writeln!(out, "kernel.series = {}", kernel.series)?;
    writeln!(out, "kernel.release = {}", kernel.release)?;
    let modules: Vec<String> = module_files(kernel)?
        .iter()
        .map(|file| file.trim_end_matches(".ko").replace('-', "_"))
        .collect();
    writeln!(out, "modules.load_order = {}", modules.join(","))?;
    let btrfs_btf = fs::read(kernel.dir.join("btf/btrfs"))?;
    writeln!(out, "btf.blob.btrfs.size = {}", btrfs_btf.len())?;
    writeln!(
        out,
        "btf.blob.btrfs.fnv1a64 = {:#x}",
        expectations::fnv1a64(&btrfs_btf)
    )?;
    out.push_str(&expectations::btf_facts_cached(
        sh,
        &kernel.dir.join("btf/vmlinux"),
        &kernel.dir.join("btf/btrfs"),
        &cache_dir.join("btf-facts"),
    )?);
    out.push_str(fs_facts);
    let names: Vec<String> = objects.iter().map(|o| file_name(o)).collect();
    writeln!(out, "ebpf.objects = {}", names.join(","))?;
    Ok(out)
}

/// The `.ko` files of btrfs and nf_conntrack (for the module-kfunc tests) and their
/// dependencies, in load order, each once.
fn module_files(kernel: &kernels::Kernel) -> Result<Vec<String>> {
    let mut files: Vec<String> = Vec::new();
    for deps in ["btrfs.deps", "nf_conntrack.deps"] {
        let deps = fs::read_to_string(kernel.dir.join(deps))?;
        for file in deps.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !files.iter().any(|known| known == file) {
                files.push(file.to_string());
            }
        }
    }
    Ok(files)
}

#[allow(clippy::too_many_arguments)]
fn pack_initramfs(
    sh: &Shell,
    kernel: &kernels::Kernel,
    guest: &GuestBinaries,
    objects: &[PathBuf],
    kmods: &[PathBuf],
    work: &Path,
    facts: &str,
    options: &Options,
    initrd: &Path,
) -> Result<u64> {
    let mut cpio = Cpio::create(initrd)?;
    for dir in ["proc", "sys", "dev", "tmp", "mnt/btrfs"] {
        cpio.directory(dir)?;
    }
    // The kernel opens /dev/console for init before devtmpfs is mounted.
    cpio.char_device("dev/console", 0o600, 5, 1)?;
    cpio.file_from("init", &guest.init)?;

    // The loop driver is a module in Debian kernels; it goes first, btrfs last.
    let mut load_order = String::from("loop.ko\n");
    cpio.file(
        "lib/modules/loop.ko",
        0o644,
        &loop_module(sh, kernel, work)?,
    )?;
    for file in module_files(kernel)? {
        cpio.file_from(
            &format!("lib/modules/{file}"),
            &kernel.dir.join("modules").join(&file),
        )?;
        writeln!(load_order, "{file}")?;
    }
    cpio.file("lib/modules/load-order", 0o644, load_order.as_bytes())?;

    for (name, executable) in &guest.tests {
        cpio.file_from(&format!("tests/{name}"), executable)?;
    }
    if let Some(cli) = &guest.cli {
        cpio.directory("bin")?;
        cpio.file_from(&format!("bin/{CLI_BINARY}"), cli)?;
    }
    for object in objects {
        cpio.file_from(&format!("ebpf/{}", file_name(object)), object)?;
    }
    for module in kmods {
        cpio.file_from(&format!("kmod/{}", file_name(module)), module)?;
    }
    let mut run_env = String::new();
    if let Some(demo) = &guest.demo {
        cpio.file_from(&format!("demo/{DEMO_EXAMPLE}"), demo)?;
        writeln!(run_env, "demo={DEMO_EXAMPLE} {DEMO_OBJECT}")?;
    }
    for filter in &options.filter {
        writeln!(run_env, "filter={filter}")?;
    }
    if let Ok(rust_log) = std::env::var("RUST_LOG") {
        writeln!(run_env, "rust_log={rust_log}")?;
    }
    cpio.file("vm/run.env", 0o644, run_env.as_bytes())?;
    cpio.file("vm/expectations", 0o644, facts.as_bytes())?;
    cpio.file_from("vm/btrfs.img.sparse", &work.join("btrfs.img.sparse"))?;
    Ok(cpio.finish()?)
}

/// `loop.ko` of the kernel: from the kernel cache if it has one, otherwise extracted once from
/// the kernel's Debian package into `target/vm/<series>/`.
fn loop_module(sh: &Shell, kernel: &kernels::Kernel, work: &Path) -> Result<Vec<u8>> {
    let in_cache = kernel.dir.join("modules/loop.ko");
    if in_cache.exists() {
        return Ok(fs::read(in_cache)?);
    }
    let extracted = work
        .join(kernel.series)
        .join(format!("loop-{}.ko", kernel.release));
    if extracted.exists() {
        return Ok(fs::read(extracted)?);
    }
    let deb = kernel_package(sh, &kernel.release)?;
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(&deb)
        .stdout(Stdio::piped())
        .spawn()?;
    let tar = Command::new("tar")
        .args(["-x", "-O", "--wildcards", "*/kernel/drivers/block/loop.ko*"])
        .stdin(dpkg.stdout.take().expect("piped"))
        .output()?;
    dpkg.wait()?;
    if !tar.status.success() || tar.stdout.is_empty() {
        return Err(format!("no loop.ko in {}", deb.display()).into());
    }
    let module = if tar.stdout.starts_with(b"\xfd7zXZ\0") {
        let mut xz = Command::new("xz")
            .arg("-dc")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut stdin = xz.stdin.take().expect("piped");
        let compressed = tar.stdout;
        let writer = std::thread::spawn(move || stdin.write_all(&compressed));
        let mut module = Vec::new();
        xz.stdout.take().expect("piped").read_to_end(&mut module)?;
        writer.join().expect("xz writer panicked")?;
        if !xz.wait()?.success() {
            return Err("xz failed on loop.ko.xz".into());
        }
        module
    } else {
        tar.stdout
    };
    if !module.starts_with(b"\x7fELF") {
        return Err("extracted loop.ko is not an ELF file".into());
    }
    fs::write(&extracted, &module)?;
    Ok(module)
}

/// The kernel's image package: in the kernel cache's `debs/`, or downloaded into `target/vm/debs`.
fn kernel_package(sh: &Shell, release: &str) -> Result<PathBuf> {
    let package = format!("linux-image-{release}");
    let find = |dir: &Path| -> Option<PathBuf> {
        fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|path| {
                let name = file_name(path);
                name.starts_with(&format!("{package}_")) && name.ends_with(".deb")
            })
    };
    if let Some(deb) = find(&kernels::root().join("debs")) {
        return Ok(deb);
    }
    let debs = crate::workspace_root().join("target/vm/debs");
    if let Some(deb) = find(&debs) {
        return Ok(deb);
    }
    fs::create_dir_all(&debs)?;
    let _dir = sh.push_dir(&debs);
    crate::progress::quiet(cmd!(sh, "apt-get download -q {package}"), "kernels")?;
    find(&debs).ok_or_else(|| format!("apt-get download {package} left no .deb").into())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What one guest did.
struct Outcome {
    series: String,
    /// `(executable::test, passed)` in the order reported.
    tests: Vec<(String, bool)>,
    /// `(pass, fail)` from the result line, if the guest got that far.
    result: Option<(usize, usize)>,
    /// Kernel messages that fail the run (panic, BUG, Oops).
    kernel_failures: Vec<String>,
    timed_out: bool,
    /// From QEMU's start to the result line.
    boot_to_result: Option<Duration>,
    /// From QEMU's start to its exit.
    total: Duration,
    error: Option<String>,
}

impl Outcome {
    /// A guest that has not reported anything yet.
    fn new(series: &str) -> Outcome {
        Outcome {
            series: series.to_string(),
            tests: Vec::new(),
            result: None,
            kernel_failures: Vec::new(),
            timed_out: false,
            boot_to_result: None,
            total: Duration::ZERO,
            error: None,
        }
    }

    /// The guest's result in a few words.
    fn verdict(&self) -> String {
        let counts = match self.result {
            Some((pass, fail)) => format!("{pass} passed, {fail} failed"),
            None => "no result line".to_string(),
        };
        match self.boot_to_result {
            Some(elapsed) => format!("{counts}, boot to result {:.1} s", elapsed.as_secs_f64()),
            None => counts,
        }
    }

    fn passed(&self) -> bool {
        matches!(self.result, Some((pass, 0)) if pass > 0)
            && self.kernel_failures.is_empty()
            && !self.timed_out
            && self.error.is_none()
    }
}

/// Boots one guest, watches its console (streaming it when `stream`), and collects the
/// results; prints the guest's step line, and its whole console after it when it failed or
/// with `--verbose` (unless it streamed).
fn boot(
    kernel: &kernels::Kernel,
    initrd: &Path,
    log: &Path,
    options: &Options,
    stream: bool,
) -> Outcome {
    let mut outcome = Outcome::new(kernel.series);
    if let Err(error) = boot_and_watch(kernel, initrd, log, options, stream, &mut outcome) {
        outcome.error = Some(error.to_string());
    }
    if !stream && (options.verbose || !outcome.passed()) {
        let console = fs::read_to_string(log).unwrap_or_default();
        let block: String = console
            .lines()
            .map(|line| format!("[{}] {line}\n", kernel.series))
            .collect();
        // One write: the other guest's lines cannot land inside this block.
        print!("{block}");
    }
    progress::record(
        &format!("guest {}", kernel.series),
        outcome.total,
        outcome.verdict(),
        outcome.passed(),
    );
    outcome
}

fn boot_and_watch(
    kernel: &kernels::Kernel,
    initrd: &Path,
    log: &Path,
    options: &Options,
    stream: bool,
    outcome: &mut Outcome,
) -> Result<()> {
    let quiet = if options.verbose { "" } else { " quiet" };
    let append = format!("console=ttyS0 panic=-1 rdinit=/init{quiet}");
    let started = Instant::now();
    let mut qemu = Command::new("qemu-system-x86_64")
        // The host's /dev/kvm is paravirtual and Debian kernels crawl on it; TCG is reliable.
        .args(["-accel", "tcg", "-cpu", "max", "-m", "1G", "-smp", "1"])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ])
        .args(["-serial", "stdio", "-monitor", "none"])
        // The uncompressed ELF boots through PVH and skips the slow in-guest decompression.
        .arg("-kernel")
        .arg(kernel.dir.join("vmlinux"))
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &append])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;

    let (lines_tx, lines) = mpsc::channel::<String>();
    let readers: Vec<_> = [
        qemu.stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        qemu.stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
        let lines_tx = lines_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).split(b'\n') {
                let Ok(line) = line else { break };
                let text = String::from_utf8_lossy(&line);
                let _ = lines_tx.send(text.trim_end_matches('\r').to_string());
            }
        })
    })
    .collect();
    drop(lines_tx);

    let mut console = fs::File::create(log)?;
    let deadline = started + options.timeout;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(remaining) {
            Ok(line) => {
                writeln!(console, "{line}")?;
                if stream {
                    println!("[{}] {line}", kernel.series);
                }
                watch_line(&line, started, outcome);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                outcome.timed_out = true;
                writeln!(
                    console,
                    "xtask: no result after {} s, killing QEMU",
                    options.timeout.as_secs()
                )?;
                let _ = qemu.kill();
                break;
            }
        }
    }
    let status = qemu.wait()?;
    for reader in readers {
        let _ = reader.join();
    }
    outcome.total = started.elapsed();
    if !status.success() && !outcome.timed_out {
        outcome.error = Some(format!("QEMU exited with {status}"));
    }
    Ok(())
}

fn watch_line(line: &str, started: Instant, outcome: &mut Outcome) {
    if let Some(test) = line.strip_prefix(TEST_PREFIX) {
        if let Some((name, status)) = test.rsplit_once(' ') {
            outcome.tests.push((name.to_string(), status == "ok"));
        }
    } else if let Some(result) = line.strip_prefix(RESULT_PREFIX) {
        outcome.result = parse_result(result);
        outcome.boot_to_result = Some(started.elapsed());
    } else if KERNEL_FAILURES.iter().any(|marker| line.contains(marker)) {
        outcome.kernel_failures.push(line.to_string());
    }
}

/// `pass=N fail=M`.
fn parse_result(text: &str) -> Option<(usize, usize)> {
    let values: BTreeMap<&str, usize> = text
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(key, value)| Some((key, value.parse().ok()?)))
        .collect();
    Some((*values.get("pass")?, *values.get("fail")?))
}

/// Every test on every kernel, one row per test; then what else failed a guest.
fn print_test_table(outcomes: &[Outcome]) {
    let mut names: Vec<&str> = Vec::new();
    for outcome in outcomes {
        for (name, _) in &outcome.tests {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    if names.is_empty() {
        return;
    }
    let width = names.iter().map(|name| name.len()).max().unwrap_or(0);
    let mut table = format!("\n{:<width$}", "guest test");
    for outcome in outcomes {
        let _ = write!(table, "  {:>6}", outcome.series);
    }
    table.push('\n');
    for name in &names {
        let _ = write!(table, "{name:<width$}");
        for outcome in outcomes {
            let cell = match outcome.tests.iter().find(|(test, _)| test == name) {
                Some((_, true)) => "ok",
                Some((_, false)) => "FAILED",
                None => "-",
            };
            let _ = write!(table, "  {cell:>6}");
        }
        table.push('\n');
    }
    for outcome in outcomes {
        let _ = writeln!(table, "kernel {}: {}", outcome.series, outcome.verdict());
        if outcome.timed_out {
            let _ = writeln!(table, "  timed out");
        }
        for failure in &outcome.kernel_failures {
            let _ = writeln!(table, "  kernel: {failure}");
        }
        if let Some(error) = &outcome.error {
            let _ = writeln!(table, "  error: {error}");
        }
    }
    print!("{table}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line_needs_both_counts() {
        assert_eq!(parse_result("pass=3 fail=0"), Some((3, 0)));
        assert_eq!(parse_result("pass=3"), None);
        assert_eq!(parse_result("pass=x fail=0"), None);
    }

    #[test]
    fn options_split_kernel_timeout_and_filter() {
        let args: Vec<String> = ["--kernel", "6.12", "--timeout", "9", "--", "harness", "x"]
            .map(String::from)
            .to_vec();
        let options = parse_options(&args).unwrap();
        assert_eq!(options.series, ["6.12"]);
        assert_eq!(options.timeout, Duration::from_secs(9));
        assert_eq!(options.filter, ["harness", "x"]);
        assert!(parse_options(&["--bogus".to_string()]).is_err());
    }

    #[test]
    fn a_guest_passes_only_with_a_clean_result() {
        let started = Instant::now();
        let mut outcome = boot_outcome();
        watch_line("CORE-RELOC-VM-TEST: t::a ok", started, &mut outcome);
        watch_line("CORE-RELOC-VM-RESULT: pass=1 fail=0", started, &mut outcome);
        assert!(outcome.passed());
        watch_line(
            "[   1.0] Kernel panic - not syncing: x",
            started,
            &mut outcome,
        );
        assert!(!outcome.passed());
        let mut empty = boot_outcome();
        watch_line("CORE-RELOC-VM-RESULT: pass=0 fail=0", started, &mut empty);
        assert!(!empty.passed(), "no test ran");
    }

    fn boot_outcome() -> Outcome {
        Outcome::new("6.12")
    }
}
