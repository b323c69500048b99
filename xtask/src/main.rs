//! `cargo xtask ...`: project automation.
//!
//! Every command installs or fetches what it needs itself (apt packages, bpf-linker, Debian
//! kernels), so a fresh machine needs nothing but the commands in README.md.

#[cfg(feature = "bench")]
mod bench;
mod corpus;
mod ebpf;
mod expectations;
mod fsimage;
mod fuzz;
mod initramfs;
mod kernels;
mod kmod;
mod progress;
mod setup;
mod vm;

use std::path::PathBuf;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup      install apt packages and bpf-linker, fetch Debian kernels
  kernels    fetch and extract the Debian test kernels (cached)
  kmod       build the test kernel module (ebpf-tests/kmod) for an older 6.12 ABI, distilled
  build-corpus  compile the C CO-RE corpus and its target BTFs into target/ebpf/corpus
  build-ebpf compile the ebpf-tests programs (C and Rust) into target/ebpf
  vm [--kernel 6.1|6.12|all] [--timeout SECS] [--verbose] [-- FILTER...]
             run the integration tests in QEMU guests of the Debian kernels
  bench [--json] [CASE...]
             release-build, then time BTF parsing and CO-RE relocation: ours, libbpf, aya-obj
  fuzz [--seed] [--seconds N] [TARGET...]
             seed and run the core-reloc cargo-fuzz targets (default 20 s each)
  package    cargo package the library crates and build them from the packages
  test       set up, then run every check: fmt, clippy, unit and integration tests
  demo       set up, then run the demo
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => summarised("set-up", || setup::run().map(|_| ())),
        Some("kernels") => summarised("kernels", || kernels::run().map(|_| ())),
        Some("kmod") => summarised("kmod", kmod::run),
        Some("build-corpus") => corpus::run(),
        Some("build-ebpf") => ebpf::run(),
        Some("vm") => vm::run(&args[1..]),
        Some("bench") => bench(&args[1..]),
        // Internal: one measurement in a fresh process, run by `bench`.
        #[cfg(feature = "bench")]
        Some("bench-case") => bench::run_case(&args[1..]),
        Some("fuzz") => summarised("cargo xtask fuzz", || fuzz::run(&args[1..])),
        Some("package") => summarised("cargo xtask package", package),
        Some("test") => summarised("cargo xtask test", test),
        Some("demo") => summarised("cargo xtask demo", demo),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => {
            eprint!("{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(error) = result {
        eprintln!("xtask: error: {error}");
        std::process::exit(1);
    }
}

/// Runs a long command, then prints the table of its steps (also when it failed).
fn summarised(title: &str, run: impl FnOnce() -> Result<()>) -> Result<()> {
    let started = std::time::Instant::now();
    let result = run();
    progress::print_summary(title, started);
    result
}

/// The workspace root: xtask lives one level below it.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

/// The cargo that runs this xtask, so nested builds use the pinned toolchain.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `cargo xtask bench`: runs in a release build with the libbpf comparison compiled in, which
/// this (default) build leaves out so that xtask itself builds before set-up.
#[cfg(feature = "bench")]
fn bench(args: &[String]) -> Result<()> {
    bench::run(args)
}

#[cfg(not(feature = "bench"))]
fn bench(args: &[String]) -> Result<()> {
    setup::run()?;
    let status = std::process::Command::new(cargo())
        .current_dir(workspace_root())
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "xtask",
            "--features",
            "bench",
            "--",
            "bench",
        ])
        .args(args)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err("cargo xtask bench failed".into())
    }
}

/// Seconds each fuzz target runs in `cargo xtask test`.
const FUZZ_SMOKE_SECONDS: &str = "10";

/// Every check, in the order that fails fastest: formatting, lints, host tests (unit, real
/// BTF, libbpf differential, host kernel, packaging), a fuzz smoke run, then the QEMU guests on
/// both Debian kernels. Each step prints one line; tools' output goes to `target/xtask-logs/`.
fn test() -> Result<()> {
    let prepared = setup::run()?;
    let sh = xshell::Shell::new()?;
    sh.change_dir(workspace_root());
    let cargo = cargo();
    progress::step("cargo fmt --check", || {
        progress::quiet(xshell::cmd!(sh, "{cargo} fmt --all -- --check"), "fmt")
    })?;
    progress::step("C CO-RE corpus", || corpus::build().map(|_| ()))?;
    let objects = progress::step("eBPF programs", || ebpf::build(&sh, &prepared.bpf_linker))?;
    // The test module and the older 6.12 ABI it is built for: the split-base differential
    // (host) and the guests' module tests need both.
    progress::step("test kernel module", || kmod::ensure(&sh).map(|_| ()))?;
    progress::step("cargo clippy", || {
        progress::quiet(
            xshell::cmd!(
                sh,
                "{cargo} clippy --workspace --all-targets --all-features --quiet -- -D warnings"
            ),
            "clippy",
        )
    })?;
    let host = progress::step_with("host tests", || {
        let passed = host_tests(&cargo, &prepared.kernels_root)?;
        Ok((passed, format!("{passed} passed, 0 failed")))
    })?;
    package()?;
    // A short run of every cargo-fuzz target, seeded from the real blobs: a crash, a leak
    // past the RSS limit or an endless loop fails the run.
    fuzz::run(&[
        "--seed".into(),
        "--seconds".into(),
        FUZZ_SMOKE_SECONDS.into(),
    ])?;
    let guest = vm::suite(&prepared, &objects)?;
    // One closing line for the whole run: host tests and the tests of every guest.
    println!("\ntests: {} passed, 0 failed", host + guest);
    Ok(())
}

/// `cargo xtask package`: the library crates must stay publishable, so they are packaged and
/// built from the packages alone (nothing is uploaded).
fn package() -> Result<()> {
    let sh = xshell::Shell::new()?;
    sh.change_dir(workspace_root());
    let cargo = cargo();
    progress::step("cargo package (libraries)", || {
        clear_stale_package_sources()?;
        progress::quiet(
            xshell::cmd!(
                sh,
                "{cargo} package --offline --allow-dirty --target-dir {PACKAGE_TARGET_DIR} -p core-reloc -p core-reloc-loader -p core-reloc-cli"
            ),
            "package",
        )
    })
}

/// Where `cargo package` verifies the library crates: its own target directory, so that what
/// it builds from the packages never mixes with the workspace's builds.
const PACKAGE_TARGET_DIR: &str = "target/package-verify";

/// Removes what makes `cargo package` verify stale sources.
///
/// Verification builds each crate against the ones packaged before it through a local
/// registry. Cargo unpacks those under `$CARGO_HOME/registry/src/-<hash>/<name>-<version>` and
/// fingerprints registry crates by version only, so an unpacked copy or a build of an earlier
/// run (same version, older sources) would be reused. Only our crates are removed: their
/// unpacked copies in local registries (named `-<hash>`), the packages, and their builds in
/// [`PACKAGE_TARGET_DIR`]; dependencies stay built.
fn clear_stale_package_sources() -> Result<()> {
    // Our three crates and nothing else: `core-reloc-0.1.0`, `core-reloc-loader-<hash>`, ...
    let remove_ours = |dir: &std::path::Path| -> Result<()> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("core-reloc")
            {
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        Ok(())
    };
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    if let Ok(registries) = std::fs::read_dir(cargo_home.join("registry/src")) {
        for registry in registries.flatten() {
            if registry.file_name().to_string_lossy().starts_with('-') {
                remove_ours(&registry.path())?;
            }
        }
    }
    let target = workspace_root().join(PACKAGE_TARGET_DIR);
    let packages = target.join("package");
    if packages.exists() {
        std::fs::remove_dir_all(&packages)?;
    }
    // Without their fingerprints our crates are rebuilt; their dependencies are not.
    remove_ours(&target.join("debug/.fingerprint"))?;
    Ok(())
}

/// `cargo test --workspace` with its output in `target/xtask-logs/host-tests.log`; returns the
/// number of tests that passed, or an error naming the failures when any failed.
fn host_tests(cargo: &str, kernels_root: &std::path::Path) -> Result<usize> {
    let log = progress::log_path("host-tests");
    std::fs::create_dir_all(log.parent().expect("logs have a directory"))?;
    let output = std::process::Command::new(cargo)
        .args(["test", "--workspace", "--quiet"])
        .current_dir(workspace_root())
        .env(kernels::ROOT_ENV, kernels_root)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    std::fs::write(&log, format!("{stdout}{stderr}"))?;
    let (passed, failed) = test_counts(&stdout);
    if !output.status.success() || failed > 0 {
        return Err(format!(
            "cargo test failed ({failed} failed); failures and last lines of {}:\n{}\n{}",
            log.display(),
            failures(&stdout),
            progress::tail(&stderr, 20)
        )
        .into());
    }
    Ok(passed)
}

/// Passed and failed counts summed over libtest's `test result:` lines.
fn test_counts(stdout: &str) -> (usize, usize) {
    let count = |counts: &str, what: &str| {
        counts
            .split(['.', ';'])
            .find_map(|part| part.trim().strip_suffix(what))
            .and_then(|count| count.trim().parse::<usize>().ok())
            .unwrap_or(0)
    };
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("test result: "))
        .fold((0, 0), |(passed, failed), counts| {
            (
                passed + count(counts, " passed"),
                failed + count(counts, " failed"),
            )
        })
}

/// libtest's `failures:` sections: the panics and the names of the failed tests.
fn failures(stdout: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in stdout.lines() {
        if line == "failures:" {
            inside = true;
        } else if line.starts_with("test result: ") {
            inside = false;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn demo() -> Result<()> {
    vm::demo()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_counts_add_up_every_test_binary() {
        let stdout = "running 2 tests\n..\ntest result: ok. 2 passed; 0 failed; 0 ignored\n\
                      test result: FAILED. 5 passed; 1 failed; 0 ignored\n";
        assert_eq!(test_counts(stdout), (7, 1));
        assert_eq!(test_counts(""), (0, 0));
    }

    #[test]
    fn failures_keep_libtest_failure_sections() {
        let stdout = "running 1 test\nF\nfailures:\n\n---- a stdout ----\npanicked\n\nfailures:\n    a\n\ntest result: FAILED. 0 passed; 1 failed\n";
        let text = failures(stdout);
        assert!(
            text.contains("panicked") && text.contains("    a"),
            "{text}"
        );
        assert!(!text.contains("running 1 test"));
    }
}
