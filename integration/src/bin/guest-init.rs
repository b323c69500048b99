//! PID 1 of the `cargo xtask vm` guests.
//!
//! Mounts the pseudo filesystems, loads the kernel modules, loop-mounts the btrfs image, runs
//! every test executable in [`TESTS_DIR`], and powers off. The host reads the console:
//! - `CORE-RELOC-VM-TEST: <executable>::<test> ok|FAILED` per test;
//! - `CORE-RELOC-VM-RESULT: pass=<n> fail=<m>` once, last; anything else means the guest failed.
//!
//! Layout of the initramfs (written by `xtask/src/vm.rs`):
//! - `/lib/modules/<file>.ko` and `/lib/modules/load-order` (file names, one per line);
//! - `/vm/run.env` (`filter=...`, `rust_log=...`), `/vm/expectations`, `/vm/btrfs.img.sparse`;
//! - `/ebpf/*` (eBPF objects) and `/tests/*` (static test executables);
//! - for the demo (`cargo xtask demo`): `/demo/<program>` and `demo=<program> <object>` in
//!   `/vm/run.env`; the demo then runs instead of the tests, on every file of the image and on
//!   a file in a subvolume it creates.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use integration::{BTRFS_MOUNT_ENV, EBPF_DIR_ENV, EXPECTATIONS_ENV, GUEST_ENV};

const MODULES_DIR: &str = "/lib/modules";
const TESTS_DIR: &str = "/tests";
const EBPF_DIR: &str = "/ebpf";
const RUN_ENV: &str = "/vm/run.env";
const EXPECTATIONS: &str = "/vm/expectations";
const SPARSE_IMAGE: &str = "/vm/btrfs.img.sparse";
const IMAGE: &str = "/vm/btrfs.img";
const BTRFS_MOUNT: &str = "/mnt/btrfs";
const DEMO_DIR: &str = "/demo";

/// Magic of the sparse image format written by xtask: then `u64` total length, then records of
/// `u64` offset, `u64` length and the bytes, all little-endian.
const SPARSE_MAGIC: &[u8; 8] = b"CRSPARS1";

const LOOP_SET_FD: libc::c_ulong = 0x4c00;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4c82;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    fn record(&mut self, name: &str, ok: bool) {
        let status = if ok { "ok" } else { "FAILED" };
        println!("CORE-RELOC-VM-TEST: {name} {status}");
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }
}

fn main() {
    let mut tally = Tally::default();
    let started = Instant::now();
    match set_up() {
        Ok(settings) => {
            println!(
                "guest-init: ready in {:.2} s (kernel uptime {})",
                started.elapsed().as_secs_f64(),
                uptime()
            );
            match &settings.demo {
                Some((program, object)) => run_demo(program, object, &mut tally),
                None => run_tests(&settings, &mut tally),
            }
        }
        Err(error) => {
            println!("guest-init: set-up failed: {error}");
            tally.record("guest-init::set-up", false);
        }
    }
    println!("CORE-RELOC-VM-UPTIME: {}", uptime());
    println!(
        "CORE-RELOC-VM-RESULT: pass={} fail={}",
        tally.passed, tally.failed
    );
    let _ = io::stdout().flush();
    power_off();
}

/// Settings passed by the host in [`RUN_ENV`].
struct Settings {
    /// Test name filter given to every test executable (`cargo xtask vm -- FILTER`).
    filter: Vec<String>,
    /// `RUST_LOG` for the tests, if the host had one.
    rust_log: Option<String>,
    /// `(program in /demo, object in /ebpf)` when the guest runs the demo instead of tests.
    demo: Option<(String, String)>,
}

fn set_up() -> Result<Settings> {
    mount_pseudo_filesystems()?;
    let settings = read_settings()?;
    load_modules()?;
    expand_sparse_image(Path::new(SPARSE_IMAGE), Path::new(IMAGE))?;
    let loop_device = attach_loop(Path::new(IMAGE))?;
    fs::create_dir_all(BTRFS_MOUNT)?;
    mount(&loop_device.to_string_lossy(), BTRFS_MOUNT, "btrfs", "")?;
    println!(
        "guest-init: {} mounted on {BTRFS_MOUNT}",
        loop_device.display()
    );
    Ok(settings)
}

fn mount_pseudo_filesystems() -> Result<()> {
    let table = [
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("devtmpfs", "/dev", "devtmpfs"),
        ("bpf", "/sys/fs/bpf", "bpf"),
        ("tracefs", "/sys/kernel/tracing", "tracefs"),
        ("debugfs", "/sys/kernel/debug", "debugfs"),
        ("tmpfs", "/tmp", "tmpfs"),
    ];
    for (source, target, fstype) in table {
        fs::create_dir_all(target)?;
        mount(source, target, fstype, "")?;
    }
    Ok(())
}

fn mount(source: &str, target: &str, fstype: &str, data: &str) -> Result<()> {
    let c = |text: &str| CString::new(text).expect("no NUL in mount arguments");
    let (source_c, target_c, fstype_c, data_c) = (c(source), c(target), c(fstype), c(data));
    // SAFETY: all pointers are NUL-terminated strings that outlive the call.
    let result = unsafe {
        libc::mount(
            source_c.as_ptr(),
            target_c.as_ptr(),
            fstype_c.as_ptr(),
            0,
            data_c.as_ptr().cast(),
        )
    };
    if result != 0 {
        let error = io::Error::last_os_error();
        return Err(format!("mount {fstype} on {target}: {error}").into());
    }
    Ok(())
}

fn read_settings() -> Result<Settings> {
    let text = fs::read_to_string(RUN_ENV).map_err(|e| format!("{RUN_ENV}: {e}"))?;
    let mut settings = Settings {
        filter: Vec::new(),
        rust_log: None,
        demo: None,
    };
    for line in text.lines() {
        match line.split_once('=') {
            Some(("filter", value)) if !value.is_empty() => {
                settings.filter.push(value.to_string());
            }
            Some(("rust_log", value)) if !value.is_empty() => {
                settings.rust_log = Some(value.to_string());
            }
            Some(("demo", value)) => {
                let (program, object) = value
                    .split_once(' ')
                    .ok_or_else(|| format!("{RUN_ENV}: demo needs a program and an object"))?;
                settings.demo = Some((program.to_string(), object.to_string()));
            }
            _ => {}
        }
    }
    Ok(settings)
}

/// Loads the modules in `load-order` with `finit_module`.
fn load_modules() -> Result<()> {
    let order = fs::read_to_string(Path::new(MODULES_DIR).join("load-order"))?;
    for file_name in order.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let path = Path::new(MODULES_DIR).join(file_name);
        let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let no_params = c"";
        // SAFETY: a valid fd and a NUL-terminated parameter string.
        let result = unsafe {
            libc::syscall(
                libc::SYS_finit_module,
                file.as_raw_fd(),
                no_params.as_ptr(),
                0,
            )
        };
        if result == 0 {
            continue;
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EEXIST) => {}
            // A driver for hardware the VM lacks (crc32c-intel without SSE4.2): the generic
            // implementation loaded before it serves instead.
            Some(libc::ENODEV) => println!("guest-init: {file_name}: {error} (skipped)"),
            _ => return Err(format!("finit_module {file_name}: {error}").into()),
        }
    }
    Ok(())
}

/// Rebuilds the image from the sparse form; holes stay holes in tmpfs.
fn expand_sparse_image(sparse: &Path, image: &Path) -> Result<()> {
    let mut input = BufReader::new(File::open(sparse)?);
    let mut magic = [0; 8];
    input.read_exact(&mut magic)?;
    if &magic != SPARSE_MAGIC {
        return Err(format!("{}: not a sparse image", sparse.display()).into());
    }
    let read_u64 = |input: &mut BufReader<File>| -> io::Result<Option<u64>> {
        let mut bytes = [0; 8];
        match input.read_exact(&mut bytes) {
            Ok(()) => Ok(Some(u64::from_le_bytes(bytes))),
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(error) => Err(error),
        }
    };
    let total = read_u64(&mut input)?.ok_or("sparse image without length")?;
    let mut output = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(image)?;
    output.set_len(total)?;
    let mut buffer = Vec::new();
    while let Some(offset) = read_u64(&mut input)? {
        let length = read_u64(&mut input)?.ok_or("truncated sparse record")?;
        buffer.resize(usize::try_from(length)?, 0);
        input.read_exact(&mut buffer)?;
        output.seek(SeekFrom::Start(offset))?;
        output.write_all(&buffer)?;
    }
    fs::remove_file(sparse)?;
    Ok(())
}

/// Attaches `image` to a free loop device and returns the device path.
fn attach_loop(image: &Path) -> Result<PathBuf> {
    let control = File::open("/dev/loop-control")?;
    // SAFETY: LOOP_CTL_GET_FREE takes no argument.
    let number = unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE) };
    if number < 0 {
        return Err(format!("LOOP_CTL_GET_FREE: {}", io::Error::last_os_error()).into());
    }
    let device = PathBuf::from(format!("/dev/loop{number}"));
    // devtmpfs creates the node asynchronously.
    let deadline = Instant::now() + Duration::from_secs(5);
    let loop_file = loop {
        match OpenOptions::new().read(true).write(true).open(&device) {
            Ok(file) => break file,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(error) => return Err(format!("{}: {error}", device.display()).into()),
        }
    };
    let backing = OpenOptions::new().read(true).write(true).open(image)?;
    // SAFETY: both are open file descriptors.
    let result = unsafe { libc::ioctl(loop_file.as_raw_fd(), LOOP_SET_FD, backing.as_raw_fd()) };
    if result != 0 {
        return Err(format!("LOOP_SET_FD: {}", io::Error::last_os_error()).into());
    }
    Ok(device)
}

/// Runs each test executable, forwarding its output and tallying its tests.
fn run_tests(settings: &Settings, tally: &mut Tally) {
    let mut executables: Vec<PathBuf> = match fs::read_dir(TESTS_DIR) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(error) => {
            println!("guest-init: {TESTS_DIR}: {error}");
            tally.record("guest-init::tests", false);
            return;
        }
    };
    executables.sort();
    for executable in executables {
        let name = executable
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(filter) = filter_for(&name, &settings.filter) else {
            continue;
        };
        if let Err(error) = run_executable(&executable, &name, &filter, settings, tally) {
            println!("guest-init: {name}: {error}");
            tally.record(&format!("{name}::<run>"), false);
        }
    }
}

/// The libtest filter for executable `name`, or `None` to skip it. A filter word naming an
/// executable (`vm_loader`, or `vm_loader::some_test`) selects that executable (and the test
/// name after `::`); other words go to libtest as they are, for every executable.
fn filter_for(name: &str, filter: &[String]) -> Option<Vec<String>> {
    let mut selected_here = false;
    let mut selects_executables = false;
    let mut words = Vec::new();
    for word in filter {
        let (executable, test) = match word.split_once("::") {
            Some((executable, test)) => (executable, Some(test)),
            None => (word.as_str(), None),
        };
        if executable.starts_with("vm_") {
            selects_executables = true;
            if executable == name {
                selected_here = true;
                words.extend(test.map(String::from));
            }
        } else {
            words.push(word.clone());
        }
    }
    (selected_here || !selects_executables).then_some(words)
}

fn run_executable(
    path: &Path,
    name: &str,
    filter: &[String],
    settings: &Settings,
    tally: &mut Tally,
) -> Result<()> {
    println!("guest-init: running {name}");
    let mut command = Command::new(path);
    command
        // --show-output prints what passing tests printed (values read vs observed) after their
        // result lines, so the per-test lines stay parseable.
        .args(["--include-ignored", "--test-threads=1", "--show-output"])
        .args(filter)
        .env(GUEST_ENV, "1")
        .env(EBPF_DIR_ENV, EBPF_DIR)
        .env(BTRFS_MOUNT_ENV, BTRFS_MOUNT)
        .env(EXPECTATIONS_ENV, EXPECTATIONS)
        .env("RUST_BACKTRACE", "1")
        .current_dir("/tmp")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if let Some(rust_log) = &settings.rust_log {
        command.env("RUST_LOG", rust_log);
    }
    let mut child = command.spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (passed_before, failed_before) = (tally.passed, tally.failed);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some((test, ok)) = parse_test_line(&line) {
            tally.record(&format!("{name}::{test}"), ok);
        }
    }
    let status = child.wait()?;
    let failed_here = tally.failed - failed_before;
    if !status.success() && failed_here == 0 {
        // Crashed, or failed before running any test: count it so it cannot pass silently.
        tally.record(&format!("{name}::<exit status {status}>"), false);
    }
    if status.success() && tally.passed == passed_before && failed_here == 0 {
        println!("guest-init: {name}: no test matched");
    }
    Ok(())
}

/// `test <name> ... ok|FAILED` lines of libtest; `ignored` ones are not counted.
fn parse_test_line(line: &str) -> Option<(&str, bool)> {
    let rest = line.strip_prefix("test ")?;
    let (test, outcome) = rest.rsplit_once(" ... ")?;
    match outcome {
        "ok" => Some((test, true)),
        "FAILED" => Some((test, false)),
        _ => None,
    }
}

fn uptime() -> String {
    fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(|s| format!("{s} s")))
        .unwrap_or_else(|| "unknown".into())
}

fn power_off() -> ! {
    // SAFETY: sync and reboot have no memory arguments; PID 1 may power off.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    // Only reached if reboot failed: exiting PID 1 panics the kernel, and panic=-1 with
    // -no-reboot makes QEMU exit anyway.
    std::process::exit(1);
}

/// Runs the demo program on every regular file of the btrfs image plus a file in a new
/// subvolume (so the subvolume id read from module structs is not always 5).
fn run_demo(program: &str, object: &str, tally: &mut Tally) {
    let result = (|| -> Result<bool> {
        let subvolume =
            integration::btrfs::ensure_subvolume(Path::new(BTRFS_MOUNT), "demo-subvolume")?;
        fs::write(
            subvolume.join("in-subvolume.txt"),
            b"written in the guest\n",
        )?;
        let mut files = Vec::new();
        collect_files(Path::new(BTRFS_MOUNT), &mut files)?;
        files.sort();
        let status = Command::new(Path::new(DEMO_DIR).join(program))
            .arg(Path::new(EBPF_DIR).join(object))
            .args(&files)
            .stdin(Stdio::null())
            .status()?;
        Ok(status.success())
    })();
    match result {
        Ok(ok) => tally.record(&format!("demo::{program}"), ok),
        Err(error) => {
            println!("guest-init: demo failed: {error}");
            tally.record(&format!("demo::{program}"), false);
        }
    }
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_files(&entry.path(), files)?;
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn filter_words_select_executables_or_pass_to_libtest() {
        assert_eq!(filter_for("vm_a", &[]), Some(vec![]));
        assert_eq!(
            filter_for("vm_a", &words(&["probes"])),
            Some(words(&["probes"]))
        );
        assert_eq!(filter_for("vm_a", &words(&["vm_a"])), Some(vec![]));
        assert_eq!(filter_for("vm_b", &words(&["vm_a"])), None);
        assert_eq!(
            filter_for("vm_a", &words(&["vm_a::x", "y"])),
            Some(words(&["x", "y"]))
        );
    }

    #[test]
    fn libtest_lines_are_recognised() {
        assert_eq!(parse_test_line("test a::b ... ok"), Some(("a::b", true)));
        assert_eq!(parse_test_line("test a ... FAILED"), Some(("a", false)));
        assert_eq!(parse_test_line("test a ... ignored"), None);
        assert_eq!(parse_test_line("running 3 tests"), None);
    }
}
