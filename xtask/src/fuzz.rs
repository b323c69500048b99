//! `cargo xtask fuzz`: seeds and runs the cargo-fuzz targets of `core-reloc/fuzz`.
//!
//! cargo-fuzz needs `-Zsanitizer`. The installed nightly is older than the workspace's
//! `rust-version`, so the pinned toolchain runs with `RUSTC_BOOTSTRAP=1` instead.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use core_reloc::btf::{Btf, Endianness};
use core_reloc::object::BpfObject;

use crate::{Result, workspace_root};

const USAGE: &str = "\
usage: cargo xtask fuzz [--seed] [--seconds N] [TARGET...]

  --seed       (re)write the seed corpora from the kernel fixtures and eBPF objects, then stop
               unless --seconds is given
  --seconds N  run each target for N seconds (default 20, a smoke run), one after the other
  TARGET       btf_base, btf_split_small_base, btf_split_vmlinux, btf_ext, object, split_base,
               btf_file (default: all)
";

/// Every target, in the order a full run visits them.
pub const TARGETS: &[&str] = &[
    "btf_base",
    "btf_split_small_base",
    "btf_split_vmlinux",
    "btf_ext",
    "object",
    "split_base",
    "btf_file",
];

/// Seeds above this size make every mutation slow; a vmlinux is seeded as a valid prefix.
const MAX_SEED_BYTES: usize = 256 * 1024;

/// Small modules to seed split targets with, besides btrfs (which is big but the one we care
/// about).
const SEED_MODULES: &[&str] = &[
    "btrfs",
    "crc32c_generic",
    "libcrc32c",
    "xor",
    "raid6_pq",
    "blake2b_generic",
    "zstd",
    "loop",
    "dummy",
    "veth",
    "tun",
    "ext4",
    "fuse",
    "nf_tables",
];

struct Options {
    seed: bool,
    seconds: Option<u64>,
    targets: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut options = Options {
        seed: false,
        seconds: None,
        targets: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => options.seed = true,
            "--seconds" => {
                let value = args.next().ok_or("--seconds needs a value")?;
                options.seconds = Some(value.parse().map_err(|_| "--seconds: not a number")?);
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            target if TARGETS.contains(&target) => options.targets.push(target.to_string()),
            other => return Err(format!("fuzz: unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    if options.targets.is_empty() {
        options.targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    Ok(options)
}

pub fn run(args: &[String]) -> Result<()> {
    let options = parse_args(args)?;
    let fuzz_dir = fuzz_dir();
    if options.seed {
        seed(&fuzz_dir.join("corpus"))?;
        if options.seconds.is_none() {
            return Ok(());
        }
    } else if !fuzz_dir.join("corpus").exists() {
        seed(&fuzz_dir.join("corpus"))?;
    }
    let seconds = options.seconds.unwrap_or(20);
    ensure_cargo_fuzz()?;
    let mut summaries = Vec::new();
    for target in &options.targets {
        summaries.push(run_target(&fuzz_dir, target, seconds)?);
    }
    if let Some(crashed) = summaries.iter().find(|s| s.crashed) {
        return Err(format!(
            "fuzz target {} found a crash; see core-reloc/fuzz/artifacts/{}",
            crashed.target, crashed.target
        )
        .into());
    }
    Ok(())
}

fn fuzz_dir() -> PathBuf {
    workspace_root().join("core-reloc/fuzz")
}

fn ensure_cargo_fuzz() -> Result<()> {
    let sh = xshell::Shell::new()?;
    if xshell::cmd!(sh, "cargo fuzz --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_err()
    {
        let cargo = crate::cargo();
        crate::progress::quiet(
            xshell::cmd!(sh, "{cargo} install cargo-fuzz --locked"),
            "cargo-fuzz",
        )?;
    }
    Ok(())
}

/// What one libFuzzer run reported.
struct Summary {
    target: String,
    execs: u64,
    execs_per_sec: u64,
    coverage: u64,
    crashed: bool,
}

fn run_target(fuzz_dir: &Path, target: &str, seconds: u64) -> Result<Summary> {
    let sh = xshell::Shell::new()?;
    sh.change_dir(fuzz_dir);
    let max_time = format!("-max_total_time={seconds}");
    let max_len = format!("-max_len={MAX_SEED_BYTES}");
    let started = Instant::now();
    // -timeout catches endless loops, -rss_limit_mb unbounded allocation; one job, because the
    // machine is shared.
    let output = xshell::cmd!(
        sh,
        "cargo fuzz run -O {target} -- {max_time} {max_len} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1"
    )
    .env("RUSTC_BOOTSTRAP", "1")
    .quiet()
    .ignore_status()
    .output()?;
    let log = String::from_utf8_lossy(&output.stderr);
    let log_path = fuzz_dir.join(format!("artifacts/{target}.log"));
    fs::create_dir_all(log_path.parent().expect("has a parent"))?;
    fs::write(&log_path, log.as_bytes())?;
    let stat = |name: &str| {
        log.lines()
            .find_map(|line| {
                line.strip_prefix(name)?
                    .trim()
                    .strip_prefix(':')?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    };
    let coverage = log
        .lines()
        .rev()
        .find_map(|line| {
            let rest = &line[line.find(" cov: ")? + 6..];
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0);
    let summary = Summary {
        target: target.to_string(),
        execs: stat("stat::number_of_executed_units"),
        execs_per_sec: stat("stat::average_exec_per_sec"),
        coverage,
        crashed: !output.status.success(),
    };
    // One line per target, in the run's summary table too; the log has libFuzzer's output.
    crate::progress::record(
        &format!("fuzz {target}"),
        started.elapsed(),
        format!(
            "{} execs ({}/s), cov {}, {}",
            summary.execs,
            summary.execs_per_sec,
            summary.coverage,
            if summary.crashed {
                format!("CRASH (log: {})", log_path.display())
            } else {
                "no crash".to_string()
            }
        ),
        !summary.crashed,
    );
    Ok(summary)
}

/// Writes one directory of seeds per target under `corpus`.
fn seed(corpus: &Path) -> Result<()> {
    let root = workspace_root();
    let kernels = crate::kernels::root();
    let objects = ebpf_objects(&root.join("target/ebpf"));
    if objects.is_empty() {
        eprintln!("fuzz: no eBPF objects under target/ebpf (cargo xtask build-corpus makes them)");
    }
    let mut written = 0;
    let mut put = |target: &str, name: &str, bytes: &[u8]| -> Result<()> {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(name), bytes)?;
        written += 1;
        Ok(())
    };

    for kernel in ["6.1", "6.12"] {
        let btf_dir = kernels.join(kernel).join("btf");
        let Ok(vmlinux) = fs::read(btf_dir.join("vmlinux")) else {
            eprintln!("fuzz: no {kernel} kernel fixtures (cargo xtask kernels makes them)");
            continue;
        };
        let prefix = vmlinux_prefix(&vmlinux, MAX_SEED_BYTES)?;
        put("btf_base", &format!("vmlinux-{kernel}-prefix"), &prefix)?;
        for module in SEED_MODULES {
            let Ok(bytes) = fs::read(btf_dir.join(module)) else {
                continue;
            };
            // Module ids and string offsets fit the real 6.12 base; on the small base they
            // dangle, which is worth fuzzing too.
            if bytes.len() <= MAX_SEED_BYTES * 2 {
                put("btf_split_vmlinux", &format!("{module}-{kernel}"), &bytes)?;
            }
            if bytes.len() <= MAX_SEED_BYTES / 4 {
                put(
                    "btf_split_small_base",
                    &format!("{module}-{kernel}"),
                    &bytes,
                )?;
                put("split_base", &format!("{module}-{kernel}"), &bytes)?;
            }
        }
    }

    // BTF files as users have them: small modules as .ko, .ko.xz, .ko.zst (compressed with the
    // tools, as modules_install does) and raw; eBPF objects below.
    for kernel in ["6.1", "6.12"] {
        let modules = kernels.join(kernel).join("modules");
        for module in ["crc32c_generic", "libcrc32c", "xor"] {
            let Ok(ko) = fs::read(modules.join(format!("{module}.ko"))) else {
                continue;
            };
            put("btf_file", &format!("{module}-{kernel}.ko"), &ko)?;
            for (tool, args) in [
                ("xz", &["--check=crc32", "--lzma2=dict=1MiB", "-c"][..]),
                ("zstd", &["-q", "-c"][..]),
            ] {
                let path = modules.join(format!("{module}.ko"));
                let sh = xshell::Shell::new()?;
                match xshell::cmd!(sh, "{tool} {args...} {path}").quiet().output() {
                    Ok(out) if out.status.success() => put(
                        "btf_file",
                        &format!(
                            "{module}-{kernel}.ko.{}",
                            if tool == "xz" { "xz" } else { "zst" }
                        ),
                        &out.stdout,
                    )?,
                    _ => eprintln!(
                        "fuzz: {tool} not available: no {tool} seeds (cargo xtask setup installs it)"
                    ),
                }
            }
            if let Ok(raw) = fs::read(kernels.join(kernel).join("btf").join(module)) {
                put("btf_file", &format!("{module}-{kernel}.btf"), &raw)?;
            }
        }
    }

    for (name, bytes) in &objects {
        put("object", name, bytes)?;
        if bytes.len() <= MAX_SEED_BYTES {
            put("btf_file", name, bytes)?;
        }
        let Ok(object) = BpfObject::parse(bytes) else {
            continue;
        };
        if let Some(btf) = object.btf() {
            put("btf_base", name, btf)?;
        }
        if let Some(ext) = object.btf_ext() {
            let order = match object.endian() {
                object::Endianness::Little => 0u8,
                object::Endianness::Big => 1u8,
            };
            let mut seed = vec![order];
            seed.extend_from_slice(ext.data());
            put("btf_ext", name, &seed)?;
        }
    }
    // Target-layout BTFs of the corpus are base BTF on their own.
    if let Ok(entries) = fs::read_dir(root.join("target/ebpf/corpus/targets")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "btf") {
                let name = path
                    .file_name()
                    .expect("a file")
                    .to_string_lossy()
                    .into_owned();
                put("btf_base", &name, &fs::read(&path)?)?;
            }
        }
    }
    println!("fuzz: wrote {written} seeds under {}", corpus.display());
    Ok(())
}

/// Every `.o` under `root` (recursively), named by its path relative to `root`.
fn ebpf_objects(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "o")
                && let Ok(bytes) = fs::read(&path)
                && bytes.len() <= MAX_SEED_BYTES
            {
                let name = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('/', "_");
                found.push((name, bytes));
            }
        }
    }
    found.sort();
    found
}

/// A valid base BTF made of the first types of `blob` that fit in `max_bytes`, with the string
/// section cut after the last string they use: real kernel records at a size the fuzzer can
/// mutate quickly. References to types past the cut dangle, as they may in fuzzed data.
fn vmlinux_prefix(blob: &[u8], max_bytes: usize) -> Result<Vec<u8>> {
    let btf = Btf::parse(blob)?;
    let header = btf.header();
    let strings_at = header.hdr_len as usize + header.str_off as usize;
    let strings = &blob[strings_at..strings_at + header.str_len as usize];
    let string_end = |offset: u32| {
        let start = offset as usize;
        strings[start.min(strings.len())..]
            .iter()
            .position(|&b| b == 0)
            .map_or(strings.len(), |nul| start + nul + 1)
    };

    let mut types = Vec::new();
    let mut strings_len = 1; // the empty string at offset 0
    for ty in btf.types() {
        let mut names = vec![ty.name_offset()];
        if let Some(members) = ty.members() {
            names.extend(members.map(|m| m.name_offset));
        }
        if let Some(values) = ty.enum_values() {
            names.extend(values.map(|v| v.name_offset));
        }
        if let Some(params) = ty.params() {
            names.extend(params.map(|p| p.name_offset));
        }
        let needed = names
            .into_iter()
            .map(string_end)
            .fold(strings_len, usize::max);
        if 24 + types.len() + ty.record().len() + needed > max_bytes {
            break;
        }
        types.extend_from_slice(ty.record());
        strings_len = needed;
    }
    let u32_bytes = |value: u32| match header.endian {
        Endianness::Little => value.to_le_bytes(),
        Endianness::Big => value.to_be_bytes(),
    };
    let mut out = Vec::with_capacity(24 + types.len() + strings_len);
    out.extend_from_slice(&blob[..4]); // magic, version, flags
    out.extend_from_slice(&u32_bytes(24)); // hdr_len
    out.extend_from_slice(&u32_bytes(0)); // type_off
    out.extend_from_slice(&u32_bytes(types.len() as u32));
    out.extend_from_slice(&u32_bytes(types.len() as u32)); // str_off
    out.extend_from_slice(&u32_bytes(strings_len as u32));
    out.extend_from_slice(&types);
    out.extend_from_slice(&strings[..strings_len]);
    Btf::parse(&out[..])?;
    Ok(out)
}
