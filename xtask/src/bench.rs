//! `cargo xtask bench`: BTF parsing and CO-RE relocation, ours against libbpf 1.7 (C, through
//! `libbpf-sys`) and aya-obj 0.6, side by side.
//!
//! The command builds xtask in release mode and runs every (case, library) pair in a fresh
//! child process (`xtask bench-case CASE LIBRARY`), so that one library's allocations, caches
//! and page-cache warm-up never count against another's heap figure, and so that the peak
//! heap is that of the case's first call in a clean process.
//!
//! In the child: one call with heap counting armed (the peak), warm-up calls for about 0.2 s,
//! then samples for about 1.5 s; a sample times a batch of calls when one call is too short
//! for the clock. The figure is the median sample divided by the batch size. What a call
//! builds is dropped outside the timed region.

#[path = "bench_cases.rs"]
mod cases;
#[path = "bench_heap.rs"]
mod heap;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Result, workspace_root};

#[global_allocator]
static ALLOCATOR: heap::CountingAllocator = heap::CountingAllocator;

/// The 6.12 kernel's raw BTF directory in the kernel cache (`cargo xtask kernels`).
fn btf_612() -> PathBuf {
    crate::kernels::root().join("6.12").join("btf")
}
/// The btrfs program whose records the `modules-*` cases resolve (`cargo xtask build-ebpf`).
const BTRFS_OBJECT: &str = "target/ebpf/btrfs_getattr.bpf.o";
const HOST_VMLINUX: &str = "/sys/kernel/btf/vmlinux";
const LARGE_SOURCE: &str = "ebpf-tests/corpus/bench/large.bpf.c";
const LARGE_OBJECT: &str = "target/ebpf/bench/large.bpf.o";

const FOUND_NAME: &str = "task_struct";
const MISSING_NAME: &str = "no_such_type_xyz";
const SPLIT_NAME: &str = "btrfs_inode";

const USAGE: &str = "\
usage: cargo xtask bench [--json] [CASE...]

  --json   one JSON object per case and line: case, ours_ns, libbpf_ns, aya_obj_ns,
           ours_peak_bytes, libbpf_peak_bytes, aya_obj_peak_bytes, libbpf_over_ours,
           aya_obj_over_ours, libbpf_heap_over_ours, aya_obj_heap_over_ours (time and peak
           heap ratios), modules (module BTFs beside vmlinux, modules-* cases) (null: not
           applicable)
  CASE     a subset of the cases below (default: all)
";

/// The libraries compared, in column order.
const LIBRARIES: [&str; 3] = ["ours", "libbpf", "aya-obj"];

struct Case {
    name: &'static str,
    what: &'static str,
    /// Why aya-obj has no figure, when it has none.
    aya_not_applicable: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "parse-6.12-mem",
        what: "6.12 vmlinux BTF already in memory: parse + find task_struct (STRUCT)",
        aya_not_applicable: None,
    },
    Case {
        name: "parse-miss-6.12",
        what: "6.12 vmlinux BTF in memory: parse + find no_such_type_xyz as the first lookup \
               (a full scan for all three)",
        aya_not_applicable: None,
    },
    Case {
        name: "parse-2-6.12",
        what: "6.12 vmlinux BTF in memory: parse + find task_struct + find no_such_type_xyz \
               (ours scans for both: the name index comes after 8 scanning lookups)",
        aya_not_applicable: None,
    },
    Case {
        name: "parse-6.12-file",
        what: "6.12 vmlinux BTF file: open + parse + find task_struct",
        aya_not_applicable: None,
    },
    Case {
        name: "parse-host-file",
        what: "/sys/kernel/btf/vmlinux of this host: open + parse + find task_struct",
        aya_not_applicable: None,
    },
    Case {
        name: "miss-6.12",
        what: "find no_such_type_xyz (STRUCT) on parsed 6.12 vmlinux, after a first lookup",
        aya_not_applicable: None,
    },
    Case {
        name: "split-btrfs-6.12",
        what: "6.12 btrfs BTF file split on parsed vmlinux: open + parse + find btrfs_inode",
        aya_not_applicable: Some(
            "aya-obj cannot parse split BTF (ids restart at 1, no base for string offsets)",
        ),
    },
    Case {
        name: "modules-10",
        what: "6.12 vmlinux + 10 module BTFs (btrfs among them): ours opens the directory, \
               probes module strings for the names vmlinux lacks, parses btrfs, resolves the \
               btrfs program's records and patches; libbpf parses vmlinux and btf__parse_split \
               every module, looking the names up in each (load_module_btfs on a vmlinux miss)",
        aya_not_applicable: Some("aya-obj cannot parse split BTF"),
    },
    Case {
        name: "modules-100",
        what: "as modules-10, with 100 module BTFs",
        aya_not_applicable: Some("aya-obj cannot parse split BTF"),
    },
    Case {
        name: "modules-1000",
        what: "as modules-10, with 1000 module BTFs",
        aya_not_applicable: Some("aya-obj cannot parse split BTF"),
    },
    Case {
        name: "modules-all",
        what: "as modules-10, with every module BTF of the 6.12 cache (about 4,230)",
        aya_not_applicable: Some("aya-obj cannot parse split BTF"),
    },
    Case {
        name: "modules-all-attach",
        what: "as modules-all, ours knowing the attach target's owner (kprobe/btrfs_getattr is \
               in btrfs, which Loader reads from /proc/kallsyms on a live system): btrfs is \
               parsed for it and no probe runs; libbpf: modules-all (its module search does \
               not use the attach target)",
        aya_not_applicable: Some("aya-obj cannot parse split BTF"),
    },
    Case {
        name: "modules-all-again",
        what: "a later relocation of the btrfs program on the same composite as modules-all \
               (what the probe learned and btrfs's parse are kept); libbpf: modules-all again \
               (it keeps nothing across objects)",
        aya_not_applicable: Some("aya-obj cannot parse split BTF"),
    },
    Case {
        name: "modules-all-floor",
        what: "not a relocation: the least any per-file look at the modules costs, listing the \
               6.12 cache and opening every module file to read its 32-byte header (one \
               thread); libbpf: modules-all. What a 50x target at N = all leaves for this",
        aya_not_applicable: Some("not compared"),
    },
    Case {
        name: "reloc-corpus-6.12",
        what: "per corpus object: open 6.12 vmlinux BTF + object, resolve all CO-RE records, patch",
        aya_not_applicable: Some("not compared (issue 4: ours vs libbpf open + prepare)"),
    },
    Case {
        name: "reloc-large-6.12",
        what: "the large object: open 6.12 vmlinux BTF + object, resolve all CO-RE records, patch",
        aya_not_applicable: Some("not compared (issue 4: ours vs libbpf open + prepare)"),
    },
];

/// One library's figures for one case.
#[derive(Debug, Clone, Default)]
struct Figures {
    ns: Option<f64>,
    peak_bytes: Option<u64>,
    samples: u64,
    batch: u64,
    note: Option<String>,
}

pub fn run(args: &[String]) -> Result<()> {
    let mut json_output = false;
    let mut selected = Vec::new();
    for arg in args {
        match arg.as_str() {
            "--json" => json_output = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                for case in CASES {
                    println!("  {:<18} {}", case.name, case.what);
                }
                return Ok(());
            }
            name if CASES.iter().any(|c| c.name == name) => selected.push(name.to_string()),
            other => return Err(format!("bench: unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| selected.is_empty() || selected.iter().any(|s| s == c.name))
        .collect();

    let root = workspace_root();
    let binary = build_release(&root)?;
    if cases.iter().any(|c| c.name.starts_with("reloc-")) {
        crate::corpus::build()?;
        build_large_object(&root)?;
    }
    if cases.iter().any(|c| c.name.starts_with("modules-")) && !root.join(BTRFS_OBJECT).is_file() {
        let sh = xshell::Shell::new()?;
        crate::ebpf::build(&sh, &crate::ebpf::find_bpf_linker()?)?;
    }

    let mut rows = Vec::new();
    for case in &cases {
        let mut row = Vec::new();
        for library in LIBRARIES {
            let figures = if library == "aya-obj"
                && let Some(reason) = case.aya_not_applicable
            {
                Figures {
                    note: Some(format!("n/a: {reason}")),
                    ..Figures::default()
                }
            } else {
                run_child(&binary, case.name, library)?
            };
            if !json_output {
                eprintln!("bench: {} {library}: {}", case.name, describe(&figures));
            }
            row.push(figures);
        }
        if json_output {
            println!("{}", json_line(case.name, &row));
        }
        rows.push((*case, row));
    }
    if !json_output {
        print_table(&rows);
    }
    Ok(())
}

fn build_release(root: &Path) -> Result<PathBuf> {
    let status = Command::new(crate::cargo())
        .current_dir(root)
        .args([
            "build",
            "--quiet",
            "--release",
            "--package",
            "xtask",
            "--features",
            "bench",
        ])
        .status()?;
    if !status.success() {
        return Err("bench: release build of xtask failed".into());
    }
    Ok(root.join("target/release/xtask"))
}

/// Compiles the large object against a vmlinux.h dumped from the 6.12 BTF (both cached).
fn build_large_object(root: &Path) -> Result<()> {
    let source = root.join(LARGE_SOURCE);
    let object = root.join(LARGE_OBJECT);
    let out_dir = object.parent().expect("has a parent");
    std::fs::create_dir_all(out_dir)?;
    let header = out_dir.join("vmlinux.h");
    let sh = xshell::Shell::new()?;
    if !header.exists() {
        let vmlinux = btf_612().join("vmlinux");
        let dump = xshell::cmd!(sh, "bpftool btf dump file {vmlinux} format c").read()?;
        std::fs::write(&header, dump)?;
    }
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if modified(&object) < modified(&source) {
        xshell::cmd!(
            sh,
            "clang-22 -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wno-default-const-init-var-unsafe -I{out_dir} -c {source} -o {object}"
        )
        .run()?;
    }
    Ok(())
}

fn run_child(binary: &Path, case: &str, library: &str) -> Result<Figures> {
    let output = Command::new(binary)
        .args(["bench-case", case, library])
        .current_dir(workspace_root())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "bench-case {case} {library} failed: {}{}",
            String::from_utf8_lossy(&output.stderr),
            stdout
        )
        .into());
    }
    let line = stdout.lines().last().ok_or("bench-case printed nothing")?;
    let value: Value = serde_json::from_str(line)?;
    Ok(Figures {
        ns: value["ns"].as_f64(),
        peak_bytes: value["peak_bytes"].as_u64(),
        samples: value["samples"].as_u64().unwrap_or(0),
        batch: value["batch"].as_u64().unwrap_or(0),
        note: value["note"].as_str().map(str::to_string),
    })
}

fn describe(figures: &Figures) -> String {
    match figures.ns {
        Some(ns) => format!(
            "{} median of {} samples x {} calls, peak heap {}{}",
            format_ns(ns),
            figures.samples,
            figures.batch,
            figures.peak_bytes.map_or("-".into(), format_bytes),
            figures
                .note
                .as_ref()
                .map_or(String::new(), |n| format!(" ({n})"))
        ),
        None => figures.note.clone().unwrap_or_default(),
    }
}

/// One case as a JSON object, fields in the documented order (`serde_json::Map` would sort
/// them).
fn json_line(case: &str, row: &[Figures]) -> String {
    let number = |value: Option<u64>| value.map_or("null".to_string(), |v| v.to_string());
    let ns = |f: &Figures| number(f.ns.map(|ns| ns.round() as u64));
    let ratio = |value: Option<f64>| value.map_or("null".to_string(), |v| format!("{v:.2}"));
    let modules = module_count(case).map(|n| n.map_or("\"all\"".to_string(), |n| n.to_string()));
    format!(
        "{{\"case\": {}, \"ours_ns\": {}, \"libbpf_ns\": {}, \"aya_obj_ns\": {}, \
         \"ours_peak_bytes\": {}, \"libbpf_peak_bytes\": {}, \"aya_obj_peak_bytes\": {}, \
         \"libbpf_over_ours\": {}, \"aya_obj_over_ours\": {}, \"libbpf_heap_over_ours\": {}, \
         \"aya_obj_heap_over_ours\": {}, \"modules\": {}}}",
        Value::from(case),
        ns(&row[0]),
        ns(&row[1]),
        ns(&row[2]),
        number(row[0].peak_bytes),
        number(row[1].peak_bytes),
        number(row[2].peak_bytes),
        ratio(time_ratio(&row[1], &row[0])),
        ratio(time_ratio(&row[2], &row[0])),
        ratio(heap_ratio(&row[1], &row[0])),
        ratio(heap_ratio(&row[2], &row[0])),
        modules.unwrap_or_else(|| "null".to_string()),
    )
}

fn time_ratio(other: &Figures, ours: &Figures) -> Option<f64> {
    match (other.ns, ours.ns) {
        (Some(other), Some(ours)) if ours > 0.0 => Some(other / ours),
        _ => None,
    }
}

fn heap_ratio(other: &Figures, ours: &Figures) -> Option<f64> {
    match (other.peak_bytes, ours.peak_bytes) {
        (Some(other), Some(ours)) if ours > 0 => Some(other as f64 / ours as f64),
        _ => None,
    }
}

/// The module count of a `modules-*` case: `Some(Some(n))`, `Some(None)` for all, `None`
/// for other cases.
fn module_count(case: &str) -> Option<Option<usize>> {
    let rest = case.strip_prefix("modules-")?;
    if rest.starts_with("all") {
        return Some(None);
    }
    rest.parse().ok().map(Some)
}

fn print_table(rows: &[(&Case, Vec<Figures>)]) {
    println!();
    println!("Median wall time per call (release build; each library in its own process).");
    println!(
        "Peak heap = highest net growth of live heap bytes during the first call in a fresh \
         process, including any heap copy of the input:"
    );
    println!("  ours, aya-obj: counting #[global_allocator] (requested bytes);");
    println!(
        "  libbpf: malloc/calloc/realloc/free interposed in this binary (malloc_usable_size bytes)."
    );
    println!(
        "  mmap'd or borrowed BTF bytes are not heap: ours maps files and borrows memory; \
         libbpf and aya-obj read files into the heap; libbpf's btf__new copies its input."
    );
    println!();
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>8} {:>8} | {:>10} {:>10} {:>10}",
        "case",
        "ours",
        "libbpf",
        "aya-obj",
        "lb/ours",
        "aya/ours",
        "ours heap",
        "libbpf",
        "aya-obj"
    );
    let ratio = |other: Option<f64>, ours: Option<f64>| match (other, ours) {
        (Some(other), Some(ours)) if ours > 0.0 => format!("{:.1}x", other / ours),
        _ => "n/a".into(),
    };
    for (case, row) in rows {
        let time = |f: &Figures| f.ns.map_or("n/a".into(), format_ns);
        let heap = |f: &Figures| f.peak_bytes.map_or("n/a".into(), format_bytes);
        println!(
            "{:<18} {:>10} {:>10} {:>10} {:>8} {:>8} | {:>10} {:>10} {:>10}",
            case.name,
            time(&row[0]),
            time(&row[1]),
            time(&row[2]),
            ratio(row[1].ns, row[0].ns),
            ratio(row[2].ns, row[0].ns),
            heap(&row[0]),
            heap(&row[1]),
            heap(&row[2]),
        );
    }
    print_module_targets(rows);
    println!();
    for (case, row) in rows {
        println!("{}: {}", case.name, case.what);
        for (library, figures) in LIBRARIES.iter().zip(row) {
            if let Some(note) = &figures.note {
                println!("  {library}: {note}");
            }
        }
    }
}

/// The targets for the `modules-*` cases, checked against this run.
fn print_module_targets(rows: &[(&Case, Vec<Figures>)]) {
    let find = |name: &str| {
        rows.iter()
            .find(|(case, _)| case.name == name)
            .map(|(_, row)| row)
    };
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!();
    if let Some(all) = find("modules-all")
        && let (Some(time), Some(heap)) =
            (time_ratio(&all[1], &all[0]), heap_ratio(&all[1], &all[0]))
    {
        println!(
            "modules-all: {time:.1}x faster than libbpf's parse-all (target 50x: {}), \
             {heap:.1}x less peak heap (target 20x: {})",
            verdict(time >= 50.0),
            verdict(heap >= 20.0)
        );
    }
    if let Some(attach) = find("modules-all-attach")
        && let (Some(time), Some(heap)) = (
            time_ratio(&attach[1], &attach[0]),
            heap_ratio(&attach[1], &attach[0]),
        )
    {
        println!(
            "modules-all-attach: {time:.1}x faster than libbpf's parse-all (target 50x: {}), \
             {heap:.1}x less peak heap (target 20x: {})",
            verdict(time >= 50.0),
            verdict(heap >= 20.0)
        );
    }
    if let Some(floor) = find("modules-all-floor")
        && let Some(time) = time_ratio(&floor[1], &floor[0])
    {
        println!(
            "modules-all-floor: only listing the directory and opening every module file is \
             {time:.1}x faster than libbpf's parse-all: no per-file probe can reach 50x here"
        );
    }
    if let (Some(again), Some(ten)) = (find("modules-all-again"), find("modules-10"))
        && let (Some(again_ns), Some(ten_ns)) = (again[0].ns, ten[0].ns)
    {
        let ratio = again_ns / ten_ns;
        println!(
            "modules-all-again: a later relocation costs {} = {ratio:.2}x ours at modules-10 \
             ({}; target at most 2x: {})",
            format_ns(again_ns),
            format_ns(ten_ns),
            verdict(ratio <= 2.0)
        );
    }
}

fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} us", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn format_bytes(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.2} MiB", bytes as f64 / (1 << 20) as f64)
    } else if bytes >= 1 << 10 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

// --- the child ---------------------------------------------------------------------------

/// One measurement's result, printed by the child as JSON.
struct Measurement {
    ns: f64,
    peak_bytes: u64,
    samples: u64,
    batch: u64,
    note: Option<String>,
}

/// Which counter holds a library's allocations.
#[derive(Clone, Copy)]
enum Heap {
    Rust,
    C,
}

const WARM_UP: Duration = Duration::from_millis(200);
const SAMPLING: Duration = Duration::from_millis(1500);
/// Shortest timed sample: clock reads cost tens of nanoseconds.
const MIN_SAMPLE: Duration = Duration::from_micros(20);

fn measure<T>(heap_source: Heap, mut call: impl FnMut() -> T) -> Measurement {
    let (first, peaks) = heap::measure_peak(&mut call);
    drop(first);
    let (peak_bytes, other) = match heap_source {
        Heap::Rust => (peaks.rust, peaks.c),
        Heap::C => (peaks.c, peaks.rust),
    };
    // The other counter should see next to nothing; say so if not, rather than hide it.
    let note = (other > 64 * 1024)
        .then(|| format!("the other allocator saw {} more", format_bytes(other)));

    let started = Instant::now();
    let mut warm_calls = 0u32;
    while warm_calls < 2 || started.elapsed() < WARM_UP {
        drop(black_box(call()));
        warm_calls += 1;
    }
    let per_call = started.elapsed() / warm_calls;
    let batch = (MIN_SAMPLE.as_nanos() / per_call.as_nanos().max(1)).max(1) as u32;
    let samples = (SAMPLING.as_nanos() / (per_call.as_nanos().max(1) * u128::from(batch)))
        .clamp(11, 5001) as usize;

    let mut times = Vec::with_capacity(samples);
    let mut kept = Vec::with_capacity(batch as usize);
    for _ in 0..samples {
        let start = Instant::now();
        for _ in 0..batch {
            kept.push(black_box(call()));
        }
        times.push(start.elapsed());
        kept.clear();
    }
    times.sort_unstable();
    Measurement {
        ns: times[times.len() / 2].as_nanos() as f64 / f64::from(batch),
        peak_bytes,
        samples: samples as u64,
        batch: u64::from(batch),
        note,
    }
}

/// `xtask bench-case CASE LIBRARY`: measures one pair and prints one JSON line.
pub fn run_case(args: &[String]) -> Result<()> {
    let [case, library] = args else {
        return Err("usage: xtask bench-case CASE LIBRARY".into());
    };
    cases::quiet_libbpf();
    let root = workspace_root();
    let measurement = measure_case(&root, case, library)?;
    println!(
        "{}",
        json!({
            "ns": measurement.ns,
            "peak_bytes": measurement.peak_bytes,
            "samples": measurement.samples,
            "batch": measurement.batch,
            "note": measurement.note,
        })
    );
    Ok(())
}

fn measure_case(root: &Path, case: &str, library: &str) -> Result<Measurement> {
    let vmlinux = btf_612().join("vmlinux");
    let host = PathBuf::from(HOST_VMLINUX);
    let found = cases::c_string(FOUND_NAME);
    let missing = cases::c_string(MISSING_NAME);
    let split_name = cases::c_string(SPLIT_NAME);

    let measurement = match (case, library) {
        ("parse-6.12-mem", _) => {
            let bytes = std::fs::read(&vmlinux)?;
            match library {
                "ours" => measure(Heap::Rust, || cases::ours_parse_mem(&bytes, FOUND_NAME)),
                "libbpf" => measure(Heap::C, || cases::libbpf_parse_mem(&bytes, &found)),
                _ => measure(Heap::Rust, || cases::aya_parse_mem(&bytes, FOUND_NAME)),
            }
        }
        ("parse-miss-6.12", _) => {
            let bytes = std::fs::read(&vmlinux)?;
            match library {
                "ours" => measure(Heap::Rust, || {
                    let btf = core_reloc::btf::Btf::parse(&bytes[..]).expect("parses");
                    assert!(!cases::ours_miss(&btf, MISSING_NAME));
                    btf
                }),
                "libbpf" => measure(Heap::C, || {
                    let btf = cases::libbpf_new_mem(&bytes);
                    assert!(!cases::libbpf_miss(&btf, &missing));
                    btf
                }),
                _ => measure(Heap::Rust, || {
                    let btf = aya_obj::btf::Btf::parse(&bytes, Default::default()).expect("parses");
                    assert!(!cases::aya_miss(&btf, MISSING_NAME));
                    btf
                }),
            }
        }
        ("parse-2-6.12", _) => {
            let bytes = std::fs::read(&vmlinux)?;
            match library {
                "ours" => measure(Heap::Rust, || {
                    let btf = cases::ours_parse_mem(&bytes, FOUND_NAME);
                    assert!(!cases::ours_miss(&btf, MISSING_NAME));
                    btf
                }),
                "libbpf" => measure(Heap::C, || {
                    let btf = cases::libbpf_parse_mem(&bytes, &found);
                    assert!(!cases::libbpf_miss(&btf, &missing));
                    btf
                }),
                _ => measure(Heap::Rust, || {
                    let btf = cases::aya_parse_mem(&bytes, FOUND_NAME);
                    assert!(!cases::aya_miss(&btf, MISSING_NAME));
                    btf
                }),
            }
        }
        ("parse-6.12-file" | "parse-host-file", _) => {
            let path = if case == "parse-host-file" {
                host
            } else {
                vmlinux
            };
            let c_path = cases::c_path(&path);
            let mut measurement = match library {
                "ours" => measure(Heap::Rust, || cases::ours_parse_file(&path, FOUND_NAME)),
                "libbpf" => measure(Heap::C, || cases::libbpf_parse_file(&c_path, &found)),
                _ => measure(Heap::Rust, || cases::aya_parse_file(&path, FOUND_NAME)),
            };
            if library == "ours" {
                let info = core_reloc::btf::Btf::from_file(&path)?.load_info();
                measurement.note = Some(format!("{:?} {} bytes", info.method, info.bytes));
            }
            measurement
        }
        ("miss-6.12", _) => {
            let bytes = std::fs::read(&vmlinux)?;
            // The first lookup (which builds our name index) belongs to the parse cases;
            // this is a later one.
            match library {
                "ours" => {
                    let btf = cases::ours_parse_mem(&bytes, FOUND_NAME);
                    measure(Heap::Rust, || cases::ours_miss(&btf, MISSING_NAME))
                }
                "libbpf" => {
                    let btf = cases::libbpf_parse_mem(&bytes, &found);
                    measure(Heap::C, || cases::libbpf_miss(&btf, &missing))
                }
                _ => {
                    let btf = cases::aya_parse_mem(&bytes, FOUND_NAME);
                    measure(Heap::Rust, || cases::aya_miss(&btf, MISSING_NAME))
                }
            }
        }
        ("split-btrfs-6.12", _) => {
            let btrfs = btf_612().join("btrfs");
            let c_btrfs = cases::c_path(&btrfs);
            // The base is parsed and has answered a lookup before the measurement.
            match library {
                "ours" => {
                    let base = Arc::new(cases::ours_parse_file(&vmlinux, FOUND_NAME));
                    measure(Heap::Rust, || {
                        cases::ours_split_file(&btrfs, &base, SPLIT_NAME)
                    })
                }
                "libbpf" => {
                    let base = cases::libbpf_parse_file(&cases::c_path(&vmlinux), &found);
                    measure(Heap::C, || {
                        cases::libbpf_split_file(&c_btrfs, &base, &split_name)
                    })
                }
                _ => return Err("aya-obj cannot parse split BTF".into()),
            }
        }
        ("modules-all-attach", _) => {
            let object = std::fs::read(root.join(BTRFS_OBJECT))?;
            match library {
                "ours" => {
                    let mut measurement = measure(Heap::Rust, || {
                        cases::ours_modules_attach(&btf_612(), &object)
                    });
                    let (composite, bytes) = cases::ours_modules_attach(&btf_612(), &object);
                    assert_eq!(bytes, cases::ours_modules(&btf_612(), &object).1);
                    let stats = composite.stats();
                    measurement.note = Some(format!(
                        "{} modules listed, parsed: {:?}, probe read {} bytes; same bytes as \
                         modules-all",
                        stats.modules_listed,
                        stats.parsed_names(),
                        stats.probe_bytes_read
                    ));
                    measurement
                }
                "libbpf" => measure_libbpf_modules(root, &vmlinux, None, &object)?,
                _ => return Err("aya-obj cannot parse split BTF".into()),
            }
        }
        ("modules-all-floor", _) => {
            let object = std::fs::read(root.join(BTRFS_OBJECT))?;
            match library {
                "ours" => {
                    let mut measurement =
                        measure(Heap::Rust, || cases::open_every_module_file(&btf_612()));
                    measurement.note = Some(format!(
                        "{} module files listed and opened, nothing parsed",
                        cases::open_every_module_file(&btf_612())
                    ));
                    measurement
                }
                "libbpf" => measure_libbpf_modules(root, &vmlinux, None, &object)?,
                _ => return Err("not compared".into()),
            }
        }
        ("modules-all-again", _) => {
            let object = std::fs::read(root.join(BTRFS_OBJECT))?;
            match library {
                "ours" => {
                    let (composite, first) = cases::ours_modules(&btf_612(), &object);
                    let mut measurement =
                        measure(Heap::Rust, || cases::ours_relocate_on(&composite, &object));
                    assert_eq!(cases::ours_relocate_on(&composite, &object), first);
                    let stats = composite.stats();
                    measurement.note = Some(format!(
                        "{} modules listed, parsed: {:?}; probe bytes read in all: {}",
                        stats.modules_listed,
                        stats.parsed_names(),
                        stats.probe_bytes_read
                    ));
                    measurement
                }
                "libbpf" => measure_libbpf_modules(root, &vmlinux, None, &object)?,
                _ => return Err("aya-obj cannot parse split BTF".into()),
            }
        }
        (modules, _) if modules.starts_with("modules-") => {
            let n = module_count(modules).ok_or_else(|| format!("unknown case {modules}"))?;
            let object = std::fs::read(root.join(BTRFS_OBJECT))?;
            match library {
                "ours" => {
                    let (dir, files) = cases::module_set(root, &btf_612(), n)?;
                    let mut measurement =
                        measure(Heap::Rust, || cases::ours_modules(&dir, &object));
                    let (composite, _) = cases::ours_modules(&dir, &object);
                    let stats = composite.stats();
                    measurement.note = Some(format!(
                        "{} modules, parsed: {:?}, probe read {} bytes",
                        files.len(),
                        stats.parsed_names(),
                        stats.probe_bytes_read
                    ));
                    measurement
                }
                "libbpf" => measure_libbpf_modules(root, &vmlinux, n, &object)?,
                _ => return Err("aya-obj cannot parse split BTF".into()),
            }
        }
        ("reloc-corpus-6.12" | "reloc-large-6.12", _) => {
            let set = if case == "reloc-large-6.12" {
                "large"
            } else {
                "corpus"
            };
            let objects = cases::relocation_objects(root, set)?;
            match library {
                "ours" => {
                    let mut measurement = measure(Heap::Rust, || {
                        objects
                            .iter()
                            .map(|object| cases::ours_relocate(&vmlinux, object))
                            .collect::<Vec<_>>()
                    });
                    let results: Vec<_> = objects
                        .iter()
                        .map(|object| cases::ours_relocate(&vmlinux, object))
                        .collect();
                    let records: usize = results.iter().map(|r| r.records).sum();
                    let written = results.iter().filter(|r| !r.bytes.is_empty()).count();
                    measurement.note = Some(format!(
                        "objects: {}, records: {records}, relocated copies written: {written}",
                        objects.len()
                    ));
                    measurement
                }
                "libbpf" => {
                    let c_vmlinux = cases::c_path(&vmlinux);
                    let c_objects: Vec<_> = objects.iter().map(|o| cases::c_path(o)).collect();
                    let mut measurement = measure(Heap::C, || {
                        c_objects
                            .iter()
                            .map(|object| cases::libbpf_relocate(&c_vmlinux, object))
                            .collect::<Vec<_>>()
                    });
                    let prepared = c_objects
                        .iter()
                        .filter(|object| cases::libbpf_relocate(&c_vmlinux, object).1)
                        .count();
                    measurement.note = Some(format!(
                        "objects: {}, prepared: {prepared} (prepare also probes the kernel and \
                         creates the objects' maps)",
                        objects.len()
                    ));
                    measurement
                }
                _ => return Err("aya-obj is not compared on relocation".into()),
            }
        }
        _ => return Err(format!("unknown case {case} or library {library}").into()),
    };
    Ok(measurement)
}

/// libbpf's parse-all on vmlinux plus `n` modules (all when `None`).
fn measure_libbpf_modules(
    root: &Path,
    vmlinux: &Path,
    n: Option<usize>,
    object: &[u8],
) -> Result<Measurement> {
    let (_, files) = cases::module_set(root, &btf_612(), n)?;
    let names = cases::names_missing_in_vmlinux(vmlinux, object);
    let c_vmlinux = cases::c_path(vmlinux);
    let c_files: Vec<_> = files.iter().map(|file| cases::c_path(file)).collect();
    let mut measurement = measure(Heap::C, || {
        cases::libbpf_modules(&c_vmlinux, &c_files, &names)
    });
    measurement.note = Some(format!(
        "{} modules parsed, each searched for {:?}",
        files.len(),
        names
    ));
    Ok(measurement)
}
