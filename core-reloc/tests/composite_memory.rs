//! `CompositeBtf` on BTF written by `BtfBuilder`: in-memory blobs and small temporary
//! directories. Laziness, at-most-once parsing, per-module failure isolation, the name probe
//! and origins, each checked through the statistics and the log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex};

use core_reloc::BtfOrigin;
use core_reloc::btf::{
    Btf, BtfBuilder, BtfError, Endianness, IntEncoding, Kind, MemberSpec, TypeId,
};
use core_reloc::btf_file::BtfFileError;
use core_reloc::composite::{
    CompositeBtf, CompositeError, CompositeSource, ModuleError, ModuleState, ParseReason,
};
use core_reloc::engine::{ModuleRole, Targets};

// ---- a logger that records warnings, to check that failures are reported (once) ----

static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Recorder;

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.level() == log::Level::Warn {
            WARNINGS.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

fn record_warnings() {
    // Several tests call this; only the first installs the logger.
    let _ = log::set_logger(&Recorder);
    log::set_max_level(log::LevelFilter::Debug);
}

/// Warnings mentioning `needle` (tests use unique module names, so parallel tests do not mix).
fn warnings_about(needle: &str) -> Vec<String> {
    WARNINGS
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.contains(needle))
        .cloned()
        .collect()
}

// ---- fixtures ----

/// vmlinux: `int` (1), `struct task_struct { int pid; }` (2). Type count 3.
fn vmlinux_bytes(endian: Endianness) -> Vec<u8> {
    let mut b = BtfBuilder::new().with_endian(endian);
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    b.add_struct("task_struct", 4, &[MemberSpec::new("pid", int, 0)]);
    b.build()
}

fn vmlinux() -> (Vec<u8>, Btf<'static>) {
    let bytes = vmlinux_bytes(Endianness::default());
    (bytes.clone(), Btf::parse(bytes).unwrap())
}

const INT: TypeId = TypeId(1);

/// A module defining `struct <name>` of `size` bytes (one `int` member).
fn module_defining(base: &Btf<'_>, name: &str, size: u32) -> Vec<u8> {
    let mut b = BtfBuilder::new_split(base);
    b.add_struct(name, size, &[MemberSpec::new("value", INT, 0)]);
    b.build()
}

/// A module with a member called `member` but no type of that name (probe false positive).
fn module_with_member(base: &Btf<'_>, member: &str) -> Vec<u8> {
    let mut b = BtfBuilder::new_split(base);
    b.add_struct("holder", 4, &[MemberSpec::new(member, INT, 0)]);
    b.build()
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "core-reloc-composite-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.0.join(name), bytes).unwrap();
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---- tests ----

#[test]
fn composite_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompositeBtf>();
    assert_send_sync::<ModuleError>();
}

#[test]
fn modules_are_parsed_only_when_asked() {
    let (vmlinux_bytes, base) = vmlinux();
    let modules = [
        ("alpha", module_defining(&base, "alpha_state", 8)),
        ("beta", module_defining(&base, "beta_state", 16)),
        ("gamma", module_defining(&base, "gamma_state", 24)),
    ];
    let beta_len = modules[1].1.len();
    let kernel = CompositeBtf::from_blobs(vmlinux_bytes, modules).unwrap();

    assert_eq!(kernel.source(), &CompositeSource::Memory);
    assert_eq!(
        kernel.module_names().collect::<Vec<_>>(),
        ["alpha", "beta", "gamma"]
    );
    let stats = kernel.stats();
    assert_eq!(stats.modules_listed, 3);
    assert_eq!(stats.modules_parsed, 0);
    assert!(stats.attempted.is_empty());
    assert!(kernel.parsed_module("beta").is_none());
    // Not yet parsed, so find_type does not see it.
    assert_eq!(kernel.find_type("beta_state", Kind::Struct), None);

    let beta = kernel.module("beta").unwrap();
    assert_eq!(beta.own_type_count(), 1);
    assert_eq!(beta.first_type_id(), TypeId(3));

    let stats = kernel.stats();
    assert_eq!(stats.modules_parsed, 1);
    assert_eq!(stats.parsed_names(), ["beta"]);
    assert_eq!(
        stats.bytes_in_memory as usize,
        stats.vmlinux.bytes + beta_len
    );
    assert_eq!((stats.bytes_mapped, stats.bytes_read), (0, 0));
    let beta_stats = &stats.attempted[0];
    assert_eq!(beta_stats.reason, Some(ParseReason::Requested));
    assert_eq!(beta_stats.parse_runs, 1);
    assert!(matches!(
        beta_stats.state,
        ModuleState::Parsed { own_types: 1 }
    ));
    for untouched in ["alpha", "gamma"] {
        let module = kernel.module_stats(untouched).unwrap();
        assert!(matches!(module.state, ModuleState::NotParsed));
        assert_eq!(module.parse_runs, 0);
    }
    assert!(kernel.parsed_module("beta").is_some());
    assert_eq!(
        kernel
            .parsed_modules()
            .map(|(o, _)| o.clone())
            .collect::<Vec<_>>(),
        [BtfOrigin::module("beta")]
    );
}

#[test]
fn the_first_reason_is_recorded() {
    let (vmlinux_bytes, base) = vmlinux();
    let kernel = CompositeBtf::from_blobs(
        vmlinux_bytes,
        [("btrfs", module_defining(&base, "btrfs_inode", 8))],
    )
    .unwrap();
    let reason = ParseReason::AttachTarget {
        symbol: "btrfs_getattr".into(),
    };
    kernel.module_for("btrfs", reason.clone()).unwrap();
    kernel
        .module_for(
            "btrfs",
            ParseReason::TypeSearch {
                type_name: "btrfs_inode".into(),
            },
        )
        .unwrap();
    let stats = kernel.module_stats("btrfs").unwrap();
    assert_eq!(stats.reason, Some(reason));
    assert_eq!(stats.parse_runs, 1);
}

#[test]
fn concurrent_first_access_parses_once() {
    record_warnings();
    let (vmlinux_bytes, base) = vmlinux();
    let mut corrupt_concurrent = module_defining(&base, "x", 4);
    corrupt_concurrent.truncate(corrupt_concurrent.len() - 3);
    let kernel = CompositeBtf::from_blobs(
        vmlinux_bytes,
        [
            ("shared_mod", module_defining(&base, "shared_state", 8)),
            ("corrupt_concurrent", corrupt_concurrent),
        ],
    )
    .unwrap();

    const THREADS: usize = 8;
    let start = Barrier::new(THREADS);
    let (pointers, errors): (Vec<usize>, Vec<String>) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let btf = kernel.module("shared_mod").unwrap();
                    let error = kernel.module("corrupt_concurrent").unwrap_err();
                    (btf as *const Btf<'static> as usize, error.to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).unzip()
    });

    assert!(pointers.iter().all(|&p| p == pointers[0]), "one shared Btf");
    assert!(errors.iter().all(|e| e == &errors[0]), "one cached error");
    assert_eq!(kernel.module_stats("shared_mod").unwrap().parse_runs, 1);
    assert_eq!(
        kernel
            .module_stats("corrupt_concurrent")
            .unwrap()
            .parse_runs,
        1
    );
    assert_eq!(warnings_about("corrupt_concurrent").len(), 1, "warned once");
}

#[test]
fn a_corrupt_module_fails_alone() {
    record_warnings();
    let (vmlinux_bytes, base) = vmlinux();
    let good = module_defining(&base, "good_state", 8);
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 5);
    let mut bad_magic = good.clone();
    bad_magic[0] = 0;
    // A type whose kind number (31) is unknown, with no layout section to skip it.
    let mut unknown_kind = BtfBuilder::new_split(&base);
    unknown_kind.add_raw(31, "odd", false, 0, 0, &[]);
    let unknown_kind = unknown_kind.build();
    let header_only_prefix = good[..10].to_vec();

    let kernel = CompositeBtf::from_blobs(
        vmlinux_bytes,
        [
            ("good_mod", good),
            ("truncated_mod", truncated),
            ("bad_magic_mod", bad_magic),
            ("unknown_kind_mod", unknown_kind),
            ("short_mod", header_only_prefix),
        ],
    )
    .unwrap();

    let failing = [
        "truncated_mod",
        "bad_magic_mod",
        "unknown_kind_mod",
        "short_mod",
    ];
    for name in failing {
        let error = kernel.module(name).unwrap_err();
        assert_eq!(error.module(), name);
        assert!(error.to_string().contains(name), "{error}");
        let expected = match (&error, name) {
            // Without the BTF magic (nor ELF, xz or zstd) the bytes are no known format.
            (ModuleError::File { source, .. }, "bad_magic_mod") => {
                matches!(**source, BtfFileError::UnknownFormat { .. })
            }
            (ModuleError::Invalid { source, .. }, _) => match name {
                "truncated_mod" => matches!(**source, BtfError::SectionOutOfBounds { .. }),
                "unknown_kind_mod" => matches!(**source, BtfError::UnknownKind { kind: 31, .. }),
                "short_mod" => matches!(**source, BtfError::TooShort { .. }),
                _ => false,
            },
            _ => false,
        };
        assert!(expected, "{name}: {error:?}");
        // Asked again: the same error, no second parse, no second warning.
        assert_eq!(
            kernel.module(name).unwrap_err().to_string(),
            error.to_string()
        );
        assert_eq!(kernel.module_stats(name).unwrap().parse_runs, 1);
        assert_eq!(warnings_about(name).len(), 1, "{name}");
    }

    // vmlinux and the good module are unaffected.
    assert!(kernel.module("good_mod").is_ok());
    assert_eq!(
        kernel.find_type("good_state", Kind::Struct),
        Some((BtfOrigin::module("good_mod"), TypeId(3)))
    );
    let stats = kernel.stats();
    assert_eq!((stats.modules_parsed, stats.modules_failed), (1, 4));
    assert!(
        stats
            .attempted
            .iter()
            .filter(|m| failing.contains(&&*m.name))
            .all(|m| matches!(m.state, ModuleState::Failed(_)))
    );
    // Probing reports the failed modules instead of skipping them.
    let probe = kernel.probe("good_state");
    assert_eq!(probe.candidates, [Arc::from("good_mod")]);
    let mut failed: Vec<&str> = probe.errors.iter().map(|e| e.module()).collect();
    failed.sort_unstable();
    assert_eq!(
        failed,
        [
            "bad_magic_mod",
            "short_mod",
            "truncated_mod",
            "unknown_kind_mod"
        ]
    );
}

#[test]
fn an_empty_module_is_valid_and_reported_empty() {
    let (vmlinux_bytes, base) = vmlinux();
    let empty = BtfBuilder::new_split(&base).build();
    assert_eq!(empty.len(), 24, "a bare header");
    let kernel = CompositeBtf::from_blobs(vmlinux_bytes, [("crc16", empty)]).unwrap();

    assert!(kernel.modules_containing("crc16").is_empty());
    let btf = kernel.module("crc16").unwrap();
    assert_eq!(btf.own_type_count(), 0);
    assert_eq!(btf.type_count(), kernel.vmlinux().type_count());
    assert!(matches!(
        kernel.module_stats("crc16").unwrap().state,
        ModuleState::Empty
    ));
    let stats = kernel.stats();
    assert_eq!((stats.modules_parsed, stats.modules_empty), (1, 1));
    assert_eq!(stats.modules_failed, 0);
    assert!(kernel.probe("int").candidates.is_empty());
}

#[test]
fn unknown_module_names_are_errors() {
    let (vmlinux_bytes, _) = vmlinux();
    let kernel = CompositeBtf::from_blobs(vmlinux_bytes, Vec::<(String, Vec<u8>)>::new()).unwrap();
    let error = kernel.module("btrfs").unwrap_err();
    assert!(matches!(&error, ModuleError::NotListed { module } if module == "btrfs"));
    assert!(kernel.origin_of("btrfs").is_none());
    assert!(!kernel.has_module("btrfs"));
}

#[test]
fn bad_blob_sets_are_refused() {
    let (vmlinux_bytes, base) = vmlinux();
    let module = module_defining(&base, "s", 4);
    let twice = CompositeBtf::from_blobs(
        vmlinux_bytes.clone(),
        [("m", module.clone()), ("m", module.clone())],
    );
    assert!(matches!(twice, Err(CompositeError::DuplicateModule { module }) if module == "m"));
    for name in ["vmlinux", "", "a/b"] {
        let result = CompositeBtf::from_blobs(vmlinux_bytes.clone(), [(name, module.clone())]);
        assert!(
            matches!(result, Err(CompositeError::InvalidModuleName { .. })),
            "{name:?}"
        );
    }
    let bad_vmlinux = CompositeBtf::from_blobs(vec![0u8; 3], [("m", module)]);
    assert!(matches!(
        bad_vmlinux,
        Err(CompositeError::VmlinuxFile {
            path: None,
            source: BtfFileError::UnknownFormat { .. }
        })
    ));
}

#[test]
fn probe_finds_only_modules_whose_strings_hold_the_name() {
    let (vmlinux_bytes, base) = vmlinux();
    let kernel = CompositeBtf::from_blobs(
        vmlinux_bytes,
        [
            ("defines", module_defining(&base, "btrfs_inode", 8)),
            ("member", module_with_member(&base, "btrfs_inode")),
            ("longer", module_defining(&base, "btrfs_inode_item", 8)),
            ("shorter", module_defining(&base, "inode", 8)),
            ("nothing", module_defining(&base, "other", 8)),
        ],
    )
    .unwrap();

    let probe = kernel.probe("btrfs_inode");
    assert_eq!(
        probe.candidates,
        [Arc::from("defines"), Arc::from("member")],
        "substrings and superstrings do not match; a member name does (false positive)"
    );
    assert!(probe.errors.is_empty());
    assert_eq!(probe.scanned, 5);
    assert_eq!(probe.bytes_read, 0, "blobs are scanned in memory");
    assert_eq!(kernel.stats().modules_parsed, 0, "probing parses nothing");
    assert_eq!(kernel.module_stats("member").unwrap().probes, 1);

    // Once parsed, a module is answered exactly: "member" has no type named btrfs_inode.
    kernel.module("member").unwrap();
    kernel.module("defines").unwrap();
    assert_eq!(kernel.modules_containing("btrfs_inode"), ["defines"]);
    // vmlinux names are not module candidates, and empty names match nothing.
    assert!(kernel.modules_containing("task_struct").is_empty());
    assert!(kernel.modules_containing("").is_empty());
}

#[test]
fn probe_many_reads_each_module_once() {
    let dir = TempDir::new("probe-many");
    let (vmlinux_bytes, base) = vmlinux();
    dir.write("vmlinux", &vmlinux_bytes);
    dir.write("btrfs", &module_defining(&base, "btrfs_inode", 8));
    dir.write("ext4", &module_defining(&base, "ext4_inode_info", 8));
    dir.write("both", &module_with_member(&base, "ext4_inode_info"));
    let kernel = CompositeBtf::from_dir(dir.path()).unwrap();

    let single: u64 = kernel.probe("ext2_inode_info").bytes_read;
    let many = kernel.probe_many(&["btrfs_inode", "ext4_inode_info", "nowhere", ""]);
    assert_eq!(many.bytes_read, single, "one read per module for all names");
    assert_eq!(many.scanned, 3);
    assert_eq!(many.candidates_for("btrfs_inode"), [Arc::from("btrfs")]);
    assert_eq!(
        many.candidates_for("ext4_inode_info"),
        [Arc::from("both"), Arc::from("ext4")]
    );
    assert!(many.candidates_for("nowhere").is_empty());
    assert!(many.candidates_for("").is_empty());
    assert_eq!(many.candidates.len(), 4, "one entry per name, in order");
    assert_eq!(many.candidates[2].0, "nowhere");
    assert_eq!(kernel.module_stats("btrfs").unwrap().probes, 2);
    assert_eq!(kernel.stats().modules_parsed, 0);
}

#[test]
fn origins_and_targets() {
    let (vmlinux_bytes, base) = vmlinux();
    let kernel = CompositeBtf::from_blobs(
        vmlinux_bytes,
        [
            ("btrfs", module_defining(&base, "btrfs_inode", 1016)),
            // Same name in two modules: both ids are 3, only the origin tells them apart.
            ("ext4", module_defining(&base, "shared_name", 4)),
            ("xfs", module_defining(&base, "shared_name", 8)),
        ],
    )
    .unwrap();

    assert_eq!(kernel.origin_of("vmlinux"), Some(&BtfOrigin::Vmlinux));
    assert_eq!(kernel.origin_of("xfs"), Some(&BtfOrigin::module("xfs")));
    // Stable references: the same slot every time.
    assert!(std::ptr::eq(
        kernel.origin_of("xfs").unwrap(),
        kernel.origin_of("xfs").unwrap()
    ));

    assert_eq!(
        kernel.find_type("task_struct", Kind::Struct),
        Some((BtfOrigin::Vmlinux, TypeId(2)))
    );
    assert_eq!(kernel.find_type("task_struct", Kind::Union), None);
    kernel.module("btrfs").unwrap();
    let (origin, id) = kernel.find_type("btrfs_inode", Kind::Struct).unwrap();
    assert_eq!(origin, BtfOrigin::module("btrfs"));
    assert!(id.0 >= kernel.vmlinux().type_count());
    assert_eq!(
        kernel.module("btrfs").unwrap().resolved_size(id).unwrap(),
        1016
    );
    // vmlinux types are not reported again as module types.
    assert_eq!(
        kernel.find_type("int", Kind::Int),
        Some((BtfOrigin::Vmlinux, INT))
    );

    kernel.module("xfs").unwrap();
    kernel.module("ext4").unwrap();
    let (origin, id) = kernel.find_type("shared_name", Kind::Struct).unwrap();
    assert_eq!((origin, id), (BtfOrigin::module("ext4"), TypeId(3)));

    // Feeding the engine: vmlinux first, then the modules that were brought in.
    let mut targets = Targets::new(kernel.vmlinux_target());
    targets.add_module(kernel.module_target("btrfs").unwrap(), ModuleRole::Explicit);
    targets.add_module(
        kernel.target(&BtfOrigin::module("xfs")).unwrap(),
        ModuleRole::Explicit,
    );
    targets.want("btrfs_inode", Kind::Struct);
    targets.want("shared_name", Kind::Struct);
    targets.want("task_struct", Kind::Struct);
    targets.search();
    assert_eq!(targets.candidate_count("btrfs_inode", Kind::Struct), 1);
    assert_eq!(targets.candidate_count("shared_name", Kind::Struct), 1);
    assert_eq!(targets.candidate_count("task_struct", Kind::Struct), 1);
    let origins: Vec<&BtfOrigin> = targets.targets().iter().map(|t| t.origin).collect();
    assert_eq!(
        origins,
        [
            &BtfOrigin::Vmlinux,
            &BtfOrigin::module("btrfs"),
            &BtfOrigin::module("xfs")
        ]
    );
    assert!(matches!(
        kernel.target(&BtfOrigin::module("nope")),
        Err(ModuleError::NotListed { .. })
    ));
}

// ---- directories ----

#[test]
fn directory_source_reads_modules_lazily_and_probes_only_strings() {
    for endian in [Endianness::Little, Endianness::Big] {
        let dir = TempDir::new(&format!("lazy-{endian:?}"));
        let vmlinux_bytes = vmlinux_bytes(endian);
        let base = Btf::parse(&vmlinux_bytes[..]).unwrap();
        let btrfs = module_defining(&base, "btrfs_inode", 8);
        let ext4 = module_defining(&base, "ext4_inode_info", 8);
        dir.write("vmlinux", &vmlinux_bytes);
        dir.write("btrfs", &btrfs);
        dir.write("ext4", &ext4);
        std::fs::create_dir(dir.path().join("subdir")).unwrap();

        let kernel = CompositeBtf::from_dir(dir.path()).unwrap();
        assert_eq!(
            kernel.source(),
            &CompositeSource::Directory(dir.path().into())
        );
        assert_eq!(kernel.module_names().collect::<Vec<_>>(), ["btrfs", "ext4"]);
        assert_eq!(kernel.vmlinux().endian(), endian);

        let probe = kernel.probe("btrfs_inode");
        assert_eq!(probe.candidates, [Arc::from("btrfs")]);
        // The header (read as the longest known header, 32 bytes) plus the string section of
        // each module: less than the files.
        let strings = |bytes: &[u8]| {
            let header = core_reloc::btf::Header::parse(bytes).unwrap();
            bytes.len().min(32) as u64 + header.str_len as u64
        };
        assert_eq!(probe.bytes_read, strings(&btrfs) + strings(&ext4));
        assert!(probe.bytes_read < (btrfs.len() + ext4.len()) as u64);
        let stats = kernel.stats();
        assert_eq!(stats.modules_parsed, 0);
        assert_eq!(stats.probe_bytes_read, probe.bytes_read);

        let btf = kernel
            .module_for(
                "btrfs",
                ParseReason::TypeSearch {
                    type_name: "btrfs_inode".into(),
                },
            )
            .unwrap();
        assert_eq!(btf.endian(), endian);
        let stats = kernel.stats();
        assert_eq!(stats.parsed_names(), ["btrfs"]);
        let load = stats.attempted[0].load.unwrap();
        assert_eq!(load.bytes, btrfs.len());
        assert_eq!(
            stats.bytes_mapped + stats.bytes_read - stats.probe_bytes_read,
            (vmlinux_bytes.len() + btrfs.len()) as u64,
            "vmlinux and btrfs loaded once each, mapped or read"
        );
        assert!(matches!(
            kernel.module_stats("ext4").unwrap().state,
            ModuleState::NotParsed
        ));
    }
}

#[test]
fn a_module_that_vanishes_after_listing_is_reported() {
    record_warnings();
    let dir = TempDir::new("vanish");
    let (vmlinux_bytes, base) = vmlinux();
    dir.write("vmlinux", &vmlinux_bytes);
    dir.write("stays_mod", &module_defining(&base, "kept", 4));
    dir.write("vanished_mod", &module_defining(&base, "gone", 4));
    dir.write("dir_now_mod", &module_defining(&base, "gone_too", 4));
    dir.write("vanished_probe_mod", &module_defining(&base, "gone", 4));
    let kernel = CompositeBtf::from_dir(dir.path()).unwrap();
    assert_eq!(kernel.stats().modules_listed, 4);

    std::fs::remove_file(dir.path().join("vanished_mod")).unwrap();
    std::fs::remove_file(dir.path().join("vanished_probe_mod")).unwrap();
    // Replaced by something that opens but cannot be read (EISDIR): an unreadable module.
    std::fs::remove_file(dir.path().join("dir_now_mod")).unwrap();
    std::fs::create_dir(dir.path().join("dir_now_mod")).unwrap();

    let error = kernel.module("vanished_mod").unwrap_err();
    assert_eq!(error.io_kind(), Some(std::io::ErrorKind::NotFound));
    assert!(error.to_string().contains("vanished_mod"), "{error}");
    assert_eq!(warnings_about("module vanished_mod").len(), 1);

    let error = kernel.module("dir_now_mod").unwrap_err();
    assert!(matches!(error, ModuleError::Io { .. }), "{error:?}");
    assert_eq!(error.module(), "dir_now_mod");

    assert!(kernel.module("stays_mod").is_ok());
    let stats = kernel.stats();
    assert_eq!((stats.modules_parsed, stats.modules_failed), (1, 2));

    // The probe reports the unreadable file it could not scan, and the cached failures.
    let probe = kernel.probe("gone");
    assert!(probe.candidates.is_empty());
    let mut failed: Vec<&str> = probe.errors.iter().map(|e| e.module()).collect();
    failed.sort_unstable();
    assert_eq!(
        failed,
        ["dir_now_mod", "vanished_mod", "vanished_probe_mod"]
    );
    let probe_error = probe
        .errors
        .iter()
        .find(|e| e.module() == "vanished_probe_mod")
        .unwrap();
    assert_eq!(probe_error.io_kind(), Some(std::io::ErrorKind::NotFound));
    assert!(!warnings_about("vanished_probe_mod").is_empty());
    // A probe does not cache: the module is still unparsed, and parsing reports it again.
    assert!(matches!(
        kernel.module_stats("vanished_probe_mod").unwrap().state,
        ModuleState::NotParsed
    ));
    assert!(kernel.module("vanished_probe_mod").is_err());
}

#[test]
fn a_truncated_module_file_fails_the_probe_and_the_parse() {
    let dir = TempDir::new("truncated");
    let (vmlinux_bytes, base) = vmlinux();
    let module = module_defining(&base, "some_struct", 4);
    dir.write("vmlinux", &vmlinux_bytes);
    dir.write("cut_mod", &module[..module.len() - 4]); // string section cut short
    dir.write("tiny_mod", &module[..12]);
    let kernel = CompositeBtf::from_dir(dir.path()).unwrap();

    let probe = kernel.probe("some_struct");
    assert!(probe.candidates.is_empty());
    for error in &probe.errors {
        assert!(matches!(error, ModuleError::Invalid { .. }), "{error:?}");
    }
    assert_eq!(probe.errors.len(), 2);
    for name in ["cut_mod", "tiny_mod"] {
        let error = kernel.module(name).unwrap_err();
        assert!(matches!(error, ModuleError::Invalid { .. }), "{error:?}");
    }
}

#[test]
fn vmlinux_problems_fail_construction() {
    let dir = TempDir::new("no-vmlinux");
    dir.write("btrfs", b"whatever");
    let error = CompositeBtf::from_dir(dir.path()).unwrap_err();
    assert!(
        matches!(&error, CompositeError::VmlinuxMissing { path, .. } if path.ends_with("vmlinux")),
        "{error:?}"
    );

    dir.write("vmlinux", b"\x9f\xeb\x01\x00 not btf");
    let error = CompositeBtf::from_dir(dir.path()).unwrap_err();
    assert!(
        matches!(error, CompositeError::VmlinuxInvalid { path: Some(_), .. }),
        "{error:?}"
    );
}
