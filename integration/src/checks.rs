//! Assertions shared by every guest test that runs the btrfs programs, whichever loader loaded
//! them (ours, or libbpf as the reference): what the program read is compared with what user
//! space observes (stat, btrfs ioctls, mkfs parameters) and with the host's bpftool facts.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::programs::{BtrfsGetattrRecord, probe};
use crate::{Guest, btrfs};

/// Files to stat: in the top-level subvolume (id 5) and in a subvolume created in the guest.
pub fn stat_targets(guest: &Guest) -> Vec<PathBuf> {
    let subvolume = btrfs::ensure_subvolume(&guest.btrfs_mount, "subvolume")
        .expect("create the test subvolume");
    let in_subvolume = subvolume.join("in-subvolume.txt");
    if !in_subvolume.exists() {
        std::fs::write(&in_subvolume, b"inside a subvolume\n").expect("write in the subvolume");
    }
    vec![
        guest.btrfs_file("hello.txt"),
        guest.btrfs_file("dir/nested/pattern.bin"),
        in_subvolume,
    ]
}

/// What user space knows about a file, to compare with a [`BtrfsGetattrRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// `st_ino` from stat(2).
    pub ino: u64,
    /// Subvolume id from `BTRFS_IOC_INO_LOOKUP`.
    pub subvolume_id: u64,
    /// `fs.sectorsize` given to mkfs.
    pub sectorsize: u32,
    /// `fs.nodesize` given to mkfs.
    pub nodesize: u32,
}

/// Stats `path` (which triggers the kprobe on btrfs_getattr) and returns what user space saw.
pub fn stat_and_observe(guest: &Guest, path: &Path) -> Observed {
    let metadata = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Observed {
        ino: metadata.ino(),
        subvolume_id: btrfs::subvolume_id(path).expect("subvolume id"),
        sectorsize: guest.expectations.u64("fs.sectorsize") as u32,
        nodesize: guest.expectations.u64("fs.nodesize") as u32,
    }
}

/// Asserts the program's record matches what user space observed for `path`; prints both so
/// the run log shows the values read vs observed.
pub fn assert_record_matches(path: &Path, record: &BtrfsGetattrRecord, observed: &Observed) {
    println!(
        "{}: read ino={} subvolume={} sectorsize={} nodesize={} (hits {}); \
         observed ino={} subvolume={} sectorsize={} nodesize={}",
        path.display(),
        record.ino,
        record.root_objectid,
        record.sectorsize,
        record.nodesize,
        record.hits,
        observed.ino,
        observed.subvolume_id,
        observed.sectorsize,
        observed.nodesize
    );
    assert!(
        record.hits > 0,
        "{}: the kprobe did not run",
        path.display()
    );
    assert_eq!(record.tgid, std::process::id(), "record of another process");
    let read = (
        record.ino,
        record.root_objectid,
        record.sectorsize,
        record.nodesize,
    );
    let expected = (
        observed.ino,
        observed.subvolume_id,
        observed.sectorsize,
        observed.nodesize,
    );
    assert_eq!(
        read,
        expected,
        "{}: (ino, subvolume, sectorsize, nodesize)",
        path.display()
    );
}

/// Asserts every probe value equals the host's bpftool fact; `read(index)` reads the probes map.
pub fn assert_probes_match(guest: &Guest, read: impl Fn(u32) -> u64) {
    assert!(read(probe::RAN) > 0, "the probes program did not run");
    let mut mismatches = Vec::new();
    for &(index, key) in probe::EXPECTED {
        let (value, expected) = (read(index), guest.expectations.u64(key));
        println!("probe {index} {key}: read {value}, bpftool {expected}");
        if value != expected {
            mismatches.push(format!("{key}: read {value}, bpftool says {expected}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
