//! BTF-typed programs on module functions and module kfuncs, loaded by our loader (issue 11).
//!
//! - fentry on `btrfs_get_delayed_node(struct btrfs_inode *)`, which stat(2) of an uncached
//!   file reaches, reads btrfs_inode fields by direct CO-RE loads; the values equal stat, the
//!   subvolume ioctl and the mkfs parameters;
//! - fexit on `btrfs:btrfs_getattr` sees the return value and the kstat it filled;
//! - an xdp program calling nf_conntrack's `bpf_xdp_ct_lookup` on a tuple with no entry gets
//!   NULL and -ENOENT under BPF_PROG_TEST_RUN;
//! - typed errors for a module that is not loaded, a function without BTF, a module without
//!   BTF;
//! - `core-reloc load` loads and attaches the same programs, reporting the targets and ids
//!   the library plans.
//!
//! Guest-only: ignored on the host, run by `cargo xtask vm`.

use std::os::unix::fs::MetadataExt;

use aya::maps::{Array, HashMap as AyaHashMap, MapData};
use aya::programs::{BtfTracePoint, FEntry, FExit, TestRun, TestRunOptions, Xdp};
use core_reloc::origin::BtfOrigin;
use core_reloc_loader::btf_attach::ResolveError;
use core_reloc_loader::{KallsymsSource, LoadError, Loader, ModuleEbpf, ModuleLoadError};
use integration::checks::{stat_and_observe, stat_targets};
use integration::programs::{
    self, BtrfsFexitRecord, BtrfsGetattrRecord, BtrfsSyncRecord, CtResult,
};
use integration::{Guest, guest};

fn load(guest: &Guest, loader: &Loader, object: &str) -> ModuleEbpf {
    let bytes = std::fs::read(guest.object(object)).unwrap();
    let loaded = loader
        .load_module_aware(&bytes, &mut aya::EbpfLoader::new())
        .unwrap_or_else(|e| panic!("{object}: {e}"));
    for attachment in &loaded.attachments {
        println!("{object}: loaded {attachment}");
    }
    loaded
}

fn set_target_tgid(loaded: &mut ModuleEbpf) {
    let map = loaded.ebpf.map_mut(programs::TARGET_TGID_MAP).unwrap();
    let mut target: Array<&mut MapData, u32> = Array::try_from(map).unwrap();
    target.set(0, &std::process::id(), 0).unwrap();
}

/// Evicts unused dentries and inodes, so the next stat(2) reads the inode from disk. An inode
/// with dirty or cached pages (a file just written) is not evicted: write back, drop the page
/// cache too (3).
fn drop_inode_cache() {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3").expect("drop_caches");
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn c_fentry_and_fexit_on_btrfs_functions_read_what_stat_sees() {
    check_fentry_and_fexit(programs::C_BTRFS_FENTRY);
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn rust_fentry_and_fexit_on_btrfs_functions_read_what_stat_sees() {
    check_fentry_and_fexit(programs::RUST_BTRFS_FENTRY);
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn pure_rust_fentry_and_fexit_with_named_relocations_read_what_stat_sees() {
    check_fentry_and_fexit(programs::RUST_NAMED_BTRFS_FENTRY);
}

fn check_fentry_and_fexit(object: &str) {
    let guest = guest();
    let mut loaded = load(&guest, &Loader::new(), object);
    // aya created the maps (C: 4, Rust: 3); the loader's programs use them.
    assert!(loaded.ebpf.maps().count() >= 3);
    // Both programs were loaded by the loader, against btrfs's BTF object.
    for attachment in &loaded.attachments {
        let (_, id) = attachment.target.as_ref().expect("an attach target");
        assert_eq!(id.origin, BtfOrigin::module("btrfs"), "{attachment}");
    }
    assert!(loaded.attachments.len() >= 2, "{:?}", loaded.attachments);
    set_target_tgid(&mut loaded);
    let fentry: &mut FEntry = loaded
        .program_mut(programs::FENTRY_PROGRAM)
        .expect("fentry program")
        .try_into()
        .unwrap();
    fentry.attach().unwrap();
    let fexit: &mut FExit = loaded
        .program_mut(programs::FEXIT_PROGRAM)
        .expect("fexit program")
        .try_into()
        .unwrap();
    fexit.attach().unwrap();

    let targets = stat_targets(&guest);
    let mut fexit_hits = 0;
    for path in &targets {
        drop_inode_cache();
        let observed = stat_and_observe(&guest, path);
        let metadata = std::fs::metadata(path).unwrap();

        let records: AyaHashMap<&MapData, u64, BtrfsGetattrRecord> =
            AyaHashMap::try_from(loaded.ebpf.map(programs::FENTRY_RECORDS_MAP).unwrap()).unwrap();
        let record = records.get(&observed.ino, 0).unwrap_or_else(|e| {
            panic!(
                "{}: fentry saw no inode {}: {e}",
                path.display(),
                observed.ino
            )
        });
        integration::checks::assert_record_matches(path, &record, &observed);

        let fexit_records: Array<&MapData, BtrfsFexitRecord> =
            Array::try_from(loaded.ebpf.map(programs::FEXIT_RECORD_MAP).unwrap()).unwrap();
        let fexit = fexit_records.get(&0, 0).unwrap();
        println!(
            "{}: fexit ret={} ino={} stat.ino={} stat.size={} blksize={} (hits {}); stat ino={} size={} blksize={}",
            path.display(),
            fexit.ret,
            fexit.ino,
            fexit.stat_ino,
            fexit.stat_size,
            fexit.blksize,
            fexit.hits,
            metadata.ino(),
            metadata.size(),
            metadata.blksize()
        );
        assert!(
            fexit.hits > fexit_hits,
            "{}: fexit did not run",
            path.display()
        );
        fexit_hits = fexit.hits;
        assert_eq!(fexit.tgid, std::process::id());
        assert_eq!(fexit.ret, 0, "btrfs_getattr's return value");
        assert_eq!(
            (
                fexit.ino,
                fexit.stat_ino,
                fexit.stat_size,
                fexit.blksize as u64
            ),
            (
                metadata.ino(),
                metadata.ino(),
                metadata.size() as i64,
                metadata.blksize()
            ),
            "{}: (inode ino, stat ino, size, blksize)",
            path.display()
        );
    }
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn tp_btf_on_a_btrfs_tracepoint_sees_fsync() {
    let guest = guest();
    let mut loaded = load(&guest, &Loader::new(), programs::C_BTRFS_FENTRY);
    let attachment = loaded
        .attachments
        .iter()
        .find(|attachment| attachment.program == programs::TP_BTF_PROGRAM)
        .expect("the tp_btf program");
    let (name, id) = attachment.target.as_ref().unwrap();
    assert_eq!(name, "btf_trace_btrfs_sync_file");
    assert_eq!(id.origin, BtfOrigin::module("btrfs"));
    set_target_tgid(&mut loaded);
    let tracepoint: &mut BtfTracePoint = loaded
        .program_mut(programs::TP_BTF_PROGRAM)
        .unwrap()
        .try_into()
        .unwrap();
    tracepoint.attach().unwrap();
    let path = guest.btrfs_file("hello.txt");
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let ino = file.metadata().unwrap().ino();
    let records = |loaded: &ModuleEbpf| -> BtrfsSyncRecord {
        let map = loaded.ebpf.map(programs::SYNC_RECORD_MAP).unwrap();
        Array::<&MapData, BtrfsSyncRecord>::try_from(map)
            .unwrap()
            .get(&0, 0)
            .unwrap()
    };
    for (datasync, sync) in [(1, true), (0, false)] {
        let before = records(&loaded).hits;
        if sync {
            file.sync_data().unwrap(); // fdatasync(2)
        } else {
            file.sync_all().unwrap(); // fsync(2)
        }
        let record = records(&loaded);
        println!(
            "fsync (datasync {datasync}) of {}: {record:?}, ino {ino}",
            path.display()
        );
        assert_eq!(record.hits, before + 1);
        assert_eq!((record.ino, record.datasync), (ino, datasync));
    }
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn nf_conntrack_kfunc_lookup_of_an_absent_tuple_gives_null_and_enoent() {
    let guest = guest();
    let mut loaded = load(&guest, &Loader::new(), programs::C_CT_LOOKUP);
    let attachment = &loaded.attachments[0];
    assert_eq!(attachment.program, programs::CT_LOOKUP_PROGRAM);
    for (name, id) in &attachment.symbols {
        let id = id.as_ref().expect("resolved");
        assert_eq!(id.origin, BtfOrigin::module("nf_conntrack"), "{name}");
    }
    let xdp: &mut Xdp = loaded
        .program_mut(programs::CT_LOOKUP_PROGRAM)
        .expect("xdp program")
        .try_into()
        .unwrap();
    let packet = [0u8; 64];
    let result = xdp
        .test_run(TestRunOptions {
            data_in: Some(&packet),
            ..TestRunOptions::default()
        })
        .unwrap();
    assert_eq!(result.return_value, 2, "XDP_PASS");
    let results: Array<&MapData, CtResult> =
        Array::try_from(loaded.ebpf.map(programs::CT_RESULT_MAP).unwrap()).unwrap();
    let outcome = results.get(&0, 0).unwrap();
    println!("bpf_xdp_ct_lookup of 192.0.2.1:40000 -> 192.0.2.2:9/tcp: {outcome:?}");
    assert_eq!(outcome.runs, 1);
    assert_eq!(outcome.found, 0, "a connection for a tuple never seen");
    assert_eq!(outcome.error, -(libc::ENOENT as i64));
}

fn attach_error(section: &str, kallsyms: KallsymsSource) -> ResolveError {
    // The same object with its fexit section renamed in place (same length).
    let guest = guest();
    let mut bytes = std::fs::read(guest.object(programs::C_BTRFS_FENTRY)).unwrap();
    let original = b"fexit/btrfs:btrfs_getattr";
    assert_eq!(section.len(), original.len(), "{section}");
    // Everywhere: the ELF section name and the .BTF.ext records' copy of it.
    let sites: Vec<usize> = bytes
        .windows(original.len())
        .enumerate()
        .filter(|(_, window)| window == original)
        .map(|(at, _)| at)
        .collect();
    assert!(!sites.is_empty(), "section name");
    for at in sites {
        bytes[at..at + original.len()].copy_from_slice(section.as_bytes());
    }
    let error = Loader::new()
        .kallsyms(kallsyms)
        .load_module_aware(&bytes, &mut aya::EbpfLoader::new())
        .map(|_| ())
        .unwrap_err();
    println!("{section}: {error}");
    match error {
        LoadError::ModuleLoad(ModuleLoadError::Target { source, .. }) => source,
        other => panic!("{section}: not a target error: {other}"),
    }
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn attach_errors_are_typed() {
    // A module that is not loaded.
    assert_eq!(
        attach_error("fexit/xfsxx:btrfs_getattr", KallsymsSource::Proc),
        ResolveError::ModuleNotLoaded {
            module: "xfsxx".into()
        }
    );
    // A function the module's BTF does not have.
    assert!(matches!(
        attach_error("fexit/btrfs:btrfs_nofunc_", KallsymsSource::Proc),
        ResolveError::NoBtf { ref origin, .. } if *origin == BtfOrigin::module("btrfs")
    ));
    // A loaded module without BTF: every module of the guest has BTF, so the kallsyms text
    // names a module that has symbols and no /sys/kernel/btf entry.
    let text = "0 t nobtf_func\t[nobtfmod]\n";
    assert_eq!(
        attach_error(
            "fexit/nobtfmod:nobtf_func",
            KallsymsSource::Text(text.into())
        ),
        ResolveError::ModuleWithoutBtf {
            module: "nobtfmod".into(),
            name: "nobtf_func".into()
        }
    );
}

/// `core-reloc load OBJECT` in this guest: its stdout, after checking that it reports every
/// program the library plans to load against module BTF as loaded (and attached), with the
/// same target and ids.
fn cli_load_reports_what_the_library_plans(object: &str, attached: bool) -> String {
    let stdout = integration::cli_load(object);
    let path = guest().object(object);
    let bytes = std::fs::read(&path).unwrap();
    let planned = Loader::new().module_attachments(&bytes).unwrap();
    assert!(!planned.is_empty());
    let how = if attached {
        "loaded, attached"
    } else {
        "loaded"
    };
    for attachment in planned {
        let line = format!("program {attachment}: {how}");
        assert!(stdout.lines().any(|l| l == line), "no line {line:?}");
    }
    assert_eq!(stdout.lines().last(), Some("unloaded"));
    stdout
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn cli_load_attaches_fentry_fexit_and_tp_btf_on_btrfs_and_loads_kfunc_callers() {
    let stdout = cli_load_reports_what_the_library_plans(programs::C_BTRFS_FENTRY, true);
    for target in [
        "btrfs_get_delayed_node [btrfs",
        "btrfs_getattr [btrfs",
        "btf_trace_btrfs_sync_file [btrfs",
    ] {
        assert!(stdout.contains(target), "{target}");
    }
    cli_load_reports_what_the_library_plans(programs::RUST_NAMED_BTRFS_FENTRY, true);
    // xdp needs an interface to attach: loaded only, its kfuncs resolved in nf_conntrack.
    let stdout = cli_load_reports_what_the_library_plans(programs::C_CT_LOOKUP, false);
    assert!(stdout.contains("[nf_conntrack id"), "{stdout}");
}
