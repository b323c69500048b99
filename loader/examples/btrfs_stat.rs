//! Stat files on a btrfs filesystem and print what a kprobe read from btrfs's own structs
//! (`struct btrfs_inode`, `struct btrfs_root`, `struct btrfs_fs_info`, all in the btrfs
//! module's BTF) next to what user space sees.
//!
//! Run it (as root, on a kernel with btrfs loaded; `cargo xtask build-ebpf` builds the probe):
//!
//! ```text
//! cargo run -p core-reloc-loader --example btrfs_stat -- target/ebpf/btrfs_getattr.bpf.o /mnt/btrfs/a /mnt/btrfs/sub/b
//! ```
//!
//! `cargo xtask demo` runs it in a QEMU guest of Debian's 6.12 kernel with a btrfs image.
//!
//! The probe is `ebpf-tests/c/btrfs_getattr.bpf.c`: a kprobe on `btrfs_getattr` that fills
//! one record for the process named in map `target_tgid`. Run as root on a kernel with btrfs
//! loaded. Copy this file as a starting point: everything module-specific is one line,
//! `with_module_btf("btrfs")`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use aya::maps::Array;
use aya::programs::KProbe;
use core_reloc_loader::Loader;

/// The probe's record (`struct btrfs_getattr_record` in `ebpf-tests/include/btrfs_record.h`).
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

/// The filesystem block size statfs reports; btrfs reports its sector size there.
fn statfs_block_size(path: &Path) -> std::io::Result<u64> {
    let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: statfs fills the struct; zeroed is a valid initial value.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(path.as_ptr(), &mut stat) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(stat.f_bsize as u64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let object = args.next().ok_or("usage: btrfs_stat PROBE.bpf.o FILE...")?;
    let files: Vec<String> = args.collect();

    let mut loader = Loader::new();
    loader.with_module_btf("btrfs");
    let (mut ebpf, report) =
        loader.load_with(&std::fs::read(&object)?, &mut aya::EbpfLoader::new())?;
    for fixup in &report.fixups {
        println!("  relocated {fixup}");
    }
    println!("  module BTF parsed: {:?}", report.parsed_modules());
    Loader::load_program(
        &mut ebpf,
        &report,
        "btrfs_getattr_fields",
        |p: &mut KProbe| p.load(),
    )?;
    let probe: &mut KProbe = ebpf
        .program_mut("btrfs_getattr_fields")
        .unwrap()
        .try_into()?;
    probe.attach("btrfs_getattr", 0)?;

    let mut target: Array<_, u32> = Array::try_from(ebpf.map_mut("target_tgid").unwrap())?;
    target.set(0, &std::process::id(), 0)?;
    let records: Array<_, Record> = Array::try_from(ebpf.map("btrfs_getattr_record").unwrap())?;

    let width = files.iter().map(String::len).max().unwrap_or(0).max(4);
    println!(
        "{:<width$} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "file", "ino(bpf)", "ino(stat)", "subvol", "(ioctl)", "sector", "(statfs)"
    );
    let mut mismatches = 0;
    for file in &files {
        let path = Path::new(file);
        let before = records.get(&0, 0)?.hits;
        let metadata = std::fs::metadata(path)?; // stat(2) -> btrfs_getattr -> the kprobe
        let record = records.get(&0, 0)?;
        if record.hits == before {
            return Err(format!("{file}: the probe did not run (is it on btrfs?)").into());
        }
        let subvolume = subvolume_id(path)?;
        let sector = statfs_block_size(path)?;
        let agree = record.ino == metadata.ino()
            && record.root_objectid == subvolume
            && u64::from(record.sectorsize) == sector;
        mismatches += usize::from(!agree);
        println!(
            "{:<width$} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}{}",
            file,
            record.ino,
            metadata.ino(),
            record.root_objectid,
            subvolume,
            record.sectorsize,
            sector,
            if agree { "" } else { "  MISMATCH" }
        );
    }
    if mismatches > 0 {
        return Err(format!("{mismatches} file(s) disagree").into());
    }
    println!(
        "all {} files agree (nodesize read from btrfs_fs_info: {})",
        files.len(),
        records.get(&0, 0)?.nodesize
    );
    Ok(())
}
