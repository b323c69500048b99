//! Stat files on a btrfs filesystem and print what a pure-Rust fentry program read from btrfs's
//! own structs (`struct btrfs_inode`, `struct btrfs_root`, `struct btrfs_fs_info`, in the
//! btrfs module's BTF) by direct CO-RE loads, next to what user space sees; and what a fexit
//! program on `btrfs:btrfs_getattr` saw returned.
//!
//! Run it (as root, on a kernel with btrfs loaded; `cargo xtask build-ebpf` builds the programs):
//!
//! ```text
//! cargo run -p core-reloc-loader --example btrfs_fentry -- target/ebpf/btrfs_fentry_named /mnt/btrfs/a /mnt/btrfs/sub/b
//! ```
//!
//! The programs are `ebpf-tests/rust-named/src/btrfs_fentry_named.rs` (aya-ebpf and
//! `core-reloc-ebpf`, no C: every read is a direct load at a named-relocation offset), or the
//! same programs with a C shim (`btrfs_fentry_rs`) or in C (`btrfs_fentry.bpf.o`): fentry on
//! `btrfs_get_delayed_node(struct btrfs_inode *)`, which stat(2) reaches when the inode is not
//! cached, and fexit on `btrfs_getattr`. aya 0.16 cannot load either (their targets are module
//! functions); `Loader::load_module_aware` loads them with the btrfs module's BTF object and
//! hands back `aya::programs::FEntry` / `FExit`. Run as root on a kernel with btrfs loaded.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use aya::maps::{Array, HashMap};
use aya::programs::{FEntry, FExit};
use core_reloc_loader::Loader;

/// The fentry record (`struct btrfs_getattr_record` in `ebpf-tests/include/btrfs_record.h`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct Record {
    hits: u64,
    ino: u64,
    root_objectid: u64,
    sectorsize: u32,
    nodesize: u32,
    tgid: u32,
    pad: u32,
}

// SAFETY: integers only; the layout matches the C struct.
unsafe impl aya::Pod for Record {}

/// The fexit record (`struct btrfs_fexit_record` in `ebpf-tests/include/btrfs_direct.h`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct FexitRecord {
    hits: u64,
    ret: i64,
    ino: u64,
    stat_ino: u64,
    stat_size: i64,
    blksize: u32,
    tgid: u32,
}

// SAFETY: integers only; the layout matches the C struct.
unsafe impl aya::Pod for FexitRecord {}

/// The subvolume a file belongs to, as btrfs tells user space (`BTRFS_IOC_INO_LOOKUP` with
/// objectid 256 returns the tree id of the file's subvolume).
fn subvolume_id(path: &Path) -> std::io::Result<u64> {
    #[repr(C)]
    struct InoLookupArgs {
        treeid: u64,
        objectid: u64,
        name: [u8; 4080],
    }
    const BTRFS_IOC_INO_LOOKUP: u64 = 0xd000_9412; // _IOWR(0x94, 18, 4096 bytes)
    let file = std::fs::File::open(path)?;
    let mut args = InoLookupArgs {
        treeid: 0,
        objectid: 256,
        name: [0; 4080],
    };
    use std::os::fd::AsRawFd;
    // SAFETY: the argument is the kernel's struct btrfs_ioctl_ino_lookup_args, 4096 bytes.
    let result = unsafe { libc::ioctl(file.as_raw_fd(), BTRFS_IOC_INO_LOOKUP as _, &mut args) };
    if result < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(args.treeid)
}

/// Writes back and evicts unused inodes, so the next stat(2) reads the inode (and the fentry
/// program runs).
fn drop_inode_cache() -> std::io::Result<()> {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let object = args.next().ok_or("usage: btrfs_fentry PROGRAMS FILE...")?;
    let files: Vec<String> = args.collect();

    let mut loaded =
        Loader::new().load_module_aware(&std::fs::read(&object)?, &mut aya::EbpfLoader::new())?;
    for fixup in &loaded.report.fixups {
        println!("  relocated {fixup}");
    }
    println!("  module BTF parsed: {:?}", loaded.report.parsed_modules());
    for attachment in &loaded.attachments {
        println!("  loaded {attachment}");
    }
    let fentry: &mut FEntry = loaded
        .program_mut("btrfs_fentry_inode")
        .ok_or("no fentry program")?
        .try_into()?;
    fentry.attach()?;
    let fexit: &mut FExit = loaded
        .program_mut("btrfs_fexit_getattr")
        .ok_or("no fexit program")?
        .try_into()?;
    fexit.attach()?;

    let mut target: Array<_, u32> = Array::try_from(
        loaded
            .ebpf
            .map_mut("target_tgid")
            .ok_or("no map target_tgid")?,
    )?;
    target.set(0, &std::process::id(), 0)?;
    let records: HashMap<_, u64, Record> = HashMap::try_from(
        loaded
            .ebpf
            .map("fentry_records")
            .ok_or("no map fentry_records")?,
    )?;
    let fexits: Array<_, FexitRecord> = Array::try_from(
        loaded
            .ebpf
            .map("fexit_record")
            .ok_or("no map fexit_record")?,
    )?;

    let width = files.iter().map(String::len).max().unwrap_or(0).max(4);
    println!(
        "{:<width$} {:>10} {:>10} {:>7} {:>7} {:>6} {:>9} {:>8} {:>4}",
        "file",
        "ino(bpf)",
        "ino(stat)",
        "subvol",
        "(ioctl)",
        "sector",
        "size(bpf)",
        "(stat)",
        "ret"
    );
    let mut mismatches = 0;
    for file in &files {
        let path = Path::new(file);
        drop_inode_cache()?;
        let metadata = std::fs::metadata(path)?; // stat(2) -> btrfs_iget ... -> the fentry
        let record = records
            .get(&metadata.ino(), 0)
            .map_err(|error| format!("{file}: the fentry program saw no inode read: {error}"))?;
        let fexit = fexits.get(&0, 0)?;
        let subvolume = subvolume_id(path)?;
        let agree = record.ino == metadata.ino()
            && record.root_objectid == subvolume
            && u64::from(record.sectorsize) == metadata.blksize()
            && fexit.stat_size == metadata.size() as i64
            && fexit.ret == 0;
        mismatches += usize::from(!agree);
        println!(
            "{:<width$} {:>10} {:>10} {:>7} {:>7} {:>6} {:>9} {:>8} {:>4}{}",
            file,
            record.ino,
            metadata.ino(),
            record.root_objectid,
            subvolume,
            record.sectorsize,
            fexit.stat_size,
            metadata.size(),
            fexit.ret,
            if agree { "" } else { "  MISMATCH" }
        );
    }
    if mismatches > 0 {
        return Err(format!("{mismatches} file(s) disagree").into());
    }
    println!(
        "all {} files agree (fentry and fexit on btrfs functions, pure Rust)",
        files.len()
    );
    Ok(())
}
