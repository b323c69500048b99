//! `CompositeBtf` on the Debian 6.1/6.12 kernel BTF directories fetched by
//! `cargo xtask kernels` into `target/kernels/<series>/btf/` (vmlinux and ~4000 module blobs,
//! root overridable with `CORE_RELOC_KERNELS`). Missing fixtures fail the tests.

use std::path::PathBuf;
use std::time::Instant;

use core_reloc::BtfOrigin;
use core_reloc::btf::{Kind, LoadMethod};
use core_reloc::composite::{CompositeBtf, ModuleState, ParseReason};

fn btf_dir(series: &str) -> PathBuf {
    let dir = kernel_fixtures::kernel_btf_dir(series);
    kernel_fixtures::kernel_btf(series, "btrfs");
    dir
}

/// sizeof(struct btrfs_inode) per series.
const BTRFS_INODE_SIZE: [(&str, u32); 2] = [("6.1", 1152), ("6.12", 1016)];

#[test]
fn btrfs_is_found_by_probe_and_parsed_alone() {
    for (series, size) in BTRFS_INODE_SIZE {
        let kernel = CompositeBtf::from_dir(btf_dir(series)).unwrap();
        let listed = kernel.stats().modules_listed;
        assert!(listed > 4000, "{series}: {listed} modules listed");
        assert_eq!(kernel.vmlinux().load_info().method, LoadMethod::Mapped);
        assert_eq!(kernel.find_type("btrfs_inode", Kind::Struct), None);

        let probe = kernel.probe("btrfs_inode");
        assert!(probe.errors.is_empty(), "{series}: {:?}", probe.errors);
        assert_eq!(probe.scanned, listed);
        assert!(
            probe.candidates.iter().any(|m| &**m == "btrfs"),
            "{series}: {:?}",
            probe.candidates
        );
        eprintln!(
            "{series}: probe for btrfs_inode: {} candidates {:?}, {} bytes read",
            probe.candidates.len(),
            probe.candidates,
            probe.bytes_read
        );
        assert_eq!(kernel.stats().modules_parsed, 0, "the probe parses nothing");

        let btrfs = kernel
            .module_for(
                "btrfs",
                ParseReason::TypeSearch {
                    type_name: "btrfs_inode".into(),
                },
            )
            .unwrap();
        let stats = kernel.stats();
        assert_eq!(stats.parsed_names(), ["btrfs"]);
        assert_eq!(
            stats.attempted.len(),
            1,
            "{series}: every other module untouched"
        );
        assert_eq!(stats.modules_failed, 0);
        let btrfs_stats = &stats.attempted[0];
        assert_eq!(btrfs_stats.load.unwrap().method, LoadMethod::Mapped);
        // The parsed module says so too.
        assert_eq!(
            kernel.module("btrfs").unwrap().load_info(),
            btrfs_stats.load.unwrap()
        );
        assert_eq!(
            btrfs_stats.load.unwrap().bytes as u64,
            std::fs::metadata(btf_dir(series).join("btrfs"))
                .unwrap()
                .len()
        );
        assert_eq!(
            stats.bytes_mapped,
            (stats.vmlinux.bytes + btrfs_stats.load.unwrap().bytes) as u64
        );
        assert_eq!(stats.bytes_read, stats.probe_bytes_read);
        for name in kernel.module_names().filter(|&n| n != "btrfs") {
            let module = kernel.module_stats(name).unwrap();
            assert!(matches!(module.state, ModuleState::NotParsed), "{name}");
            assert_eq!(module.parse_runs, 0, "{name}");
        }

        let (origin, id) = kernel.find_type("btrfs_inode", Kind::Struct).unwrap();
        assert_eq!(origin, BtfOrigin::module("btrfs"));
        assert!(id.0 >= kernel.vmlinux().type_count());
        assert_eq!(btrfs.resolved_size(id).unwrap(), size, "{series}");
        // vmlinux types are still answered from vmlinux.
        assert_eq!(
            kernel.find_type("inode", Kind::Struct).map(|(o, _)| o),
            Some(BtfOrigin::Vmlinux)
        );
        // Now exact for btrfs.
        assert!(
            kernel
                .modules_containing("btrfs_inode")
                .contains(&"btrfs".into())
        );
    }
}

/// Which probe candidates really define `struct btrfs_inode`: only btrfs. The others mention
/// the name in their strings for another reason (false positives the caller confirms away).
#[test]
fn probe_candidates_confirmed_by_parsing() {
    for (series, _) in BTRFS_INODE_SIZE {
        let kernel = CompositeBtf::from_dir(btf_dir(series)).unwrap();
        let candidates = kernel.modules_containing("btrfs_inode");
        for name in &candidates {
            kernel
                .module_for(
                    name,
                    ParseReason::TypeSearch {
                        type_name: "btrfs_inode".into(),
                    },
                )
                .unwrap();
        }
        let defining: Vec<String> = candidates
            .iter()
            .filter(|name| {
                let btf = kernel.parsed_module(name).unwrap();
                btf.types_by_name("btrfs_inode")
                    .any(|id| id >= btf.first_type_id())
            })
            .cloned()
            .collect();
        eprintln!("{series}: candidates {candidates:?}, defining {defining:?}");
        assert_eq!(defining, ["btrfs"], "{series}");
        assert_eq!(kernel.stats().modules_parsed, candidates.len());
        // After parsing, the probe is exact.
        assert_eq!(kernel.modules_containing("btrfs_inode"), ["btrfs"]);
    }
}

/// The cost of probing every module of the 6.12 directory, printed for the record
/// (`cargo test --release --test composite_kernels probe_cost -- --nocapture`).
#[test]
fn probe_cost_on_the_6_12_directory() {
    let dir = btf_dir("6.12");
    let kernel = CompositeBtf::from_dir(&dir).unwrap();
    let total_module_bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != "vmlinux")
        .map(|e| e.metadata().unwrap().len())
        .sum();
    let mut timings = Vec::new();
    let mut reads = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let probe = kernel.probe("btrfs_inode");
        timings.push(start.elapsed());
        reads.push(probe.bytes_read);
        assert!(probe.candidates.iter().any(|m| &**m == "btrfs"));
    }
    let bytes_read = reads[0];
    eprintln!(
        "6.12: probing {} modules for btrfs_inode: first {:?}, again (remembered) {:?}; \
         {} bytes read by the first probe of {} module bytes ({:.1}%)",
        kernel.module_names().len(),
        timings[0],
        timings[1],
        bytes_read,
        total_module_bytes,
        100.0 * bytes_read as f64 / total_module_bytes as f64
    );
    assert!(bytes_read > 0 && bytes_read < total_module_bytes);
    assert_eq!(&reads[1..], [0, 0, 0, 0], "later probes answer from memory");

    // Ten names in one pass cost about one probe: the files are opened and read once.
    let names = [
        "btrfs_inode",
        "btrfs_fs_info",
        "btrfs_root",
        "xfs_mount",
        "xfs_inode",
        "e1000_adapter",
        "nfs_inode",
        "nft_rule_blob",
        "no_such_type_anywhere",
        "i915_request",
    ];
    let start = Instant::now();
    let many = kernel.probe_many(&names);
    let elapsed = start.elapsed();
    eprintln!(
        "6.12: probe_many for {} names: {elapsed:?}, {} bytes read; candidates per name: {:?}",
        names.len(),
        many.bytes_read,
        many.candidates
            .iter()
            .map(|(name, modules)| (name.as_str(), modules.len()))
            .collect::<Vec<_>>()
    );
    // btrfs_inode is remembered; the nine new names cost one read of every module.
    assert_eq!(many.bytes_read, bytes_read);
    assert_eq!(
        many.candidates_for("btrfs_inode"),
        kernel.probe("btrfs_inode").candidates
    );
    assert_eq!(
        many.candidates_for("xfs_inode").first().map(|m| &**m),
        Some("xfs")
    );
    assert!(many.candidates_for("no_such_type_anywhere").is_empty());
    assert_eq!(kernel.stats().modules_parsed, 0);

    // A name vmlinux's strings hold is answered by the modules' types: every file is read
    // (mapped) whole, once, and nothing is kept.
    let in_vmlinux = kernel.probe("mtd_info");
    assert_eq!(in_vmlinux.bytes_read, total_module_bytes);
    assert!(in_vmlinux.candidates.iter().any(|m| &**m == "mtd"));
    assert_eq!(kernel.probe("mtd_info").bytes_read, 0, "remembered");
    assert_eq!(kernel.stats().modules_parsed, 0);
}

/// Every module of both series parses as split BTF on its vmlinux, from several threads at
/// once, each exactly once. Reports how many are empty.
#[test]
fn every_module_parses_once_from_several_threads() {
    for (series, _) in BTRFS_INODE_SIZE {
        let kernel = CompositeBtf::from_dir(btf_dir(series)).unwrap();
        let names: Vec<&str> = kernel.module_names().collect();
        std::thread::scope(|scope| {
            for offset in 0..4 {
                let (kernel, names) = (&kernel, &names);
                // Each thread walks all modules from a different starting point.
                scope.spawn(move || {
                    let start = offset * names.len() / 4;
                    for name in names[start..].iter().chain(&names[..start]) {
                        kernel.module(name).unwrap();
                    }
                });
            }
        });
        let stats = kernel.stats();
        assert_eq!(stats.modules_parsed, names.len());
        assert_eq!(stats.modules_failed, 0);
        assert!(stats.attempted.iter().all(|m| m.parse_runs == 1));
        eprintln!(
            "{series}: {} modules parsed ({} empty), {} bytes mapped",
            stats.modules_parsed, stats.modules_empty, stats.bytes_mapped
        );
    }
}

/// The running kernel's `/sys/kernel/btf`, when it has one (not a fixture: kernels without
/// BTF exist, so its absence is reported, not failed). vmlinux is mapped on Linux >= 6.16 and
/// read before.
#[test]
fn host_sys_kernel_btf() {
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!("host has no /sys/kernel/btf/vmlinux: nothing to check");
        return;
    }
    let kernel = CompositeBtf::from_sys().unwrap();
    let stats = kernel.stats();
    assert_ne!(stats.vmlinux.method, LoadMethod::InMemory);
    assert!(kernel.find_type("task_struct", Kind::Struct).is_some());
    let probe = kernel.probe("btrfs_inode");
    assert!(probe.errors.is_empty(), "{:?}", probe.errors);
    eprintln!(
        "host: vmlinux {:?} ({} bytes), {} modules, probe read {} bytes, candidates {:?}",
        stats.vmlinux.method,
        stats.vmlinux.bytes,
        stats.modules_listed,
        probe.bytes_read,
        probe.candidates
    );
    for name in probe.candidates {
        kernel.module(&name).unwrap();
    }
}

/// The probe splits the modules over threads and parses the modules for names that vmlinux's
/// strings hold; its candidates must still be, in name order, the modules a plain serial
/// check of every file here gives: for a name vmlinux's strings lack, the modules whose own
/// strings hold it; for the others, the modules defining a type of that name (their split
/// BTF names it by vmlinux's string, which the module's strings then lack).
#[test]
fn probe_candidates_equal_a_serial_check_of_every_module_file() {
    let dir = btf_dir("6.12");
    let vmlinux_bytes = std::fs::read(dir.join("vmlinux")).unwrap();
    let vmlinux = std::sync::Arc::new(core_reloc::btf::Btf::parse(vmlinux_bytes.clone()).unwrap());
    let vmlinux_strings = {
        let header = core_reloc::btf::Header::parse(&vmlinux_bytes).unwrap();
        vmlinux_bytes[header.str_range()].to_vec()
    };
    let names = [
        "btrfs_inode",
        "xfs_inode",
        "e1000_adapter",
        "mtd_info",
        "nf_flowtable",
        "sk_buff",
    ];
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_name() != "vmlinux")
        .map(|entry| {
            let name = entry.file_name().into_string().unwrap();
            (name, std::fs::read(entry.path()).unwrap())
        })
        .collect();
    files.sort();
    let kernel = CompositeBtf::from_dir(&dir).unwrap();
    let many = kernel.probe_many(&names);
    for name in names {
        let tail = [name.as_bytes(), b"\0"].concat();
        let whole = [b"\0", name.as_bytes(), b"\0"].concat();
        let in_vmlinux = vmlinux_strings.windows(tail.len()).any(|w| w == tail);
        let expected: Vec<&str> = files
            .iter()
            .filter(|(_, bytes)| {
                if in_vmlinux {
                    let split =
                        core_reloc::btf::Btf::parse_split(&bytes[..], vmlinux.clone()).unwrap();
                    split
                        .types()
                        .any(|ty| split.name(&ty).is_ok_and(|n| n == name))
                } else {
                    let header = core_reloc::btf::Header::parse(bytes).unwrap();
                    let strings = &bytes[header.str_range()];
                    strings.starts_with(&tail) || strings.windows(whole.len()).any(|w| w == whole)
                }
            })
            .map(|(module, _)| module.as_str())
            .collect();
        let found: Vec<&str> = many.candidates_for(name).iter().map(|m| &**m).collect();
        assert_eq!(found, expected, "{name}");
        println!("{name} (in vmlinux strings: {in_vmlinux}): {found:?}");
    }
    assert!(many.candidates_for("mtd_info").contains(&"mtd".into()));
    assert!(many.errors.is_empty());
    assert_eq!(many.scanned, files.len());
    assert_eq!(
        kernel.stats().modules_parsed,
        0,
        "probe parses are not kept"
    );
}
