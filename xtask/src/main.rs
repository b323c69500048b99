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
  test       set up, then run every check: fmt, clippy, unit and integration tests
  demo       set up, then run the demo
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run().map(|_| ()),
        Some("kernels") => kernels::run().map(|_| ()),
        Some("kmod") => kmod::run(),
        Some("build-corpus") => corpus::run(),
        Some("build-ebpf") => ebpf::run(),
        Some("vm") => vm::run(&args[1..]),
        Some("bench") => bench(&args[1..]),
        // Internal: one measurement in a fresh process, run by `bench`.
        #[cfg(feature = "bench")]
        Some("bench-case") => bench::run_case(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("test") => test(),
        Some("demo") => demo(),
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
/// BTF, libbpf differential, host kernel), a fuzz smoke run, then the QEMU guests on both
/// Debian kernels.
fn test() -> Result<()> {
    let prepared = setup::run()?;
    let sh = xshell::Shell::new()?;
    sh.change_dir(workspace_root());
    let cargo = cargo();
    xshell::cmd!(sh, "{cargo} fmt --all -- --check").run()?;
    corpus::build()?;
    ebpf::build(&sh, &prepared.bpf_linker)?;
    // The test module and the older 6.12 ABI it is built for: the split-base differential
    // (host) and the guests' module tests need both.
    kmod::ensure(&sh)?;
    xshell::cmd!(
        sh,
        "{cargo} clippy --workspace --all-targets --all-features --quiet -- -D warnings"
    )
    .run()?;
    let host = host_tests(&cargo, &prepared.kernels_root)?;
    // A short run of every cargo-fuzz target, seeded from the real blobs: a crash, a leak
    // past the RSS limit or an endless loop fails the run.
    fuzz::run(&[
        "--seed".into(),
        "--seconds".into(),
        FUZZ_SMOKE_SECONDS.into(),
    ])?;
    let guest = vm::suite()?;
    // One closing line for the whole run: host tests and the tests of every guest.
    println!("\ntests: {} passed, 0 failed", host + guest);
    Ok(())
}

/// `cargo test --workspace`, its output passed through; returns the number of tests that
/// passed, or an error when any failed.
fn host_tests(cargo: &str, kernels_root: &std::path::Path) -> Result<usize> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(cargo)
        .args(["test", "--workspace"])
        .current_dir(workspace_root())
        .env(kernels::ROOT_ENV, kernels_root)
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout from cargo test")?;
    let mut passed = 0;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        // `test result: ok. 34 passed; 0 failed; ...`
        if let Some(counts) = line.strip_prefix("test result: ") {
            passed += counts
                .split(['.', ';'])
                .find_map(|part| part.trim().strip_suffix(" passed"))
                .and_then(|count| count.parse::<usize>().ok())
                .unwrap_or(0);
        }
    }
    if !child.wait()?.success() {
        return Err("cargo test failed".into());
    }
    Ok(passed)
}

fn demo() -> Result<()> {
    vm::demo()
}
