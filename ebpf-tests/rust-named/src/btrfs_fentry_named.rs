//! fentry and fexit on btrfs module functions in pure Rust: no C, no bitcode shim. The same
//! programs, maps and records as `ebpf-tests/c/btrfs_fentry.bpf.c` (fentry and fexit part).
//!
//! Every struct read is a direct load (no bpf_probe_read) at an offset that is a named
//! relocation (`core-reloc-ebpf`'s `field_offset!`), resolved by the loader against the btrfs
//! module's BTF and vmlinux; the verifier checks each load against the module's BTF.
#![no_std]
#![no_main]

use aya_ebpf::{
    btf_maps::{Array, HashMap},
    helpers::bpf_get_current_pid_tgid,
    macros::{btf_map, fentry, fexit},
    programs::{FEntryContext, FExitContext},
};
use core_reloc_ebpf::field_offset;

/// Mirror of `struct btrfs_getattr_record`.
#[repr(C)]
pub struct BtrfsGetattrRecord {
    hits: u64,
    ino: u64,
    root_objectid: u64,
    sectorsize: u32,
    nodesize: u32,
    tgid: u32,
    _pad: u32,
}

/// Mirror of `struct btrfs_fexit_record`.
#[repr(C)]
pub struct BtrfsFexitRecord {
    hits: u64,
    ret: i64,
    ino: u64,
    stat_ino: u64,
    stat_size: i64,
    blksize: u32,
    tgid: u32,
}

/// Key 0: the tgid whose calls are recorded; 0 records every process.
#[btf_map]
#[allow(non_upper_case_globals)]
static target_tgid: Array<u32, 1> = Array::new();

/// By inode number: what the fentry program read.
#[btf_map]
#[allow(non_upper_case_globals)]
static fentry_records: HashMap<u64, BtrfsGetattrRecord, 256> = HashMap::new();

/// Key 0: what the fexit program saw last.
#[btf_map]
#[allow(non_upper_case_globals)]
static fexit_record: Array<BtrfsFexitRecord, 1> = Array::new();

fn is_target(tgid: u32) -> bool {
    matches!(target_tgid.get(0), Some(&target) if target == 0 || target == tgid)
}

/// A direct load of a `T` at `offset` bytes into the struct at `base`.
///
/// # Safety
/// `base` is a BTF-typed kernel pointer the verifier tracks, and `offset` a relocated member
/// offset of that struct: the verifier checks the access against the struct's BTF.
#[inline(always)]
unsafe fn load<T: Copy>(base: *const u8, offset: u64) -> T {
    // SAFETY: see above; a faulting load of a tracing program reads zero.
    unsafe { core::ptr::read_volatile(base.wrapping_add(offset as usize) as *const T) }
}

#[fentry(function = "btrfs_get_delayed_node")]
pub fn btrfs_fentry_inode(ctx: FEntryContext) -> u32 {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if !is_target(tgid) {
        return 0;
    }
    let inode: *const u8 = ctx.arg(0);
    // SAFETY: BTF-typed pointers walked member by member (btrfs_inode -> root -> fs_info).
    let record = unsafe {
        let root: *const u8 = load(inode, field_offset!(btrfs_inode, root));
        let fs_info: *const u8 = load(root, field_offset!(btrfs_root, fs_info));
        BtrfsGetattrRecord {
            hits: 1,
            ino: load(inode, field_offset!(btrfs_inode, vfs_inode.i_ino)),
            root_objectid: load(root, field_offset!(btrfs_root, root_key.objectid)),
            sectorsize: load(fs_info, field_offset!(btrfs_fs_info, sectorsize)),
            nodesize: load(fs_info, field_offset!(btrfs_fs_info, nodesize)),
            tgid,
            _pad: 0,
        }
    };
    let mut record = record;
    if let Some(seen) = fentry_records.get_ptr(&record.ino) {
        // SAFETY: a map value pointer from the lookup.
        record.hits = unsafe { (*seen).hits } + 1;
    }
    let _ = fentry_records.insert(&record.ino, &record, 0);
    0
}

#[fexit(function = "btrfs_getattr")]
pub fn btrfs_fexit_getattr(ctx: FExitContext) -> u32 {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if !is_target(tgid) {
        return 0;
    }
    let Some(record) = fexit_record.get_ptr_mut(0) else {
        return 0;
    };
    // btrfs_getattr(idmap or user_namespace, const struct path *, struct kstat *, u32, unsigned
    // int) on 6.1 and 6.12; the return value follows the five arguments.
    let path: *const u8 = ctx.arg(1);
    let stat: *const u8 = ctx.arg(2);
    let ret: i32 = ctx.arg(5);
    // SAFETY: BTF-typed pointers (path -> dentry -> inode, kstat); `record` is the map value.
    unsafe {
        let dentry: *const u8 = load(path, field_offset!(path, dentry));
        let inode: *const u8 = load(dentry, field_offset!(dentry, d_inode));
        (*record).ret = i64::from(ret);
        (*record).ino = load(inode, field_offset!(inode, i_ino));
        (*record).stat_ino = load(stat, field_offset!(kstat, ino));
        (*record).stat_size = load(stat, field_offset!(kstat, size));
        (*record).blksize = load(stat, field_offset!(kstat, blksize));
        (*record).tgid = tgid;
        (*record).hits += 1;
    }
    0
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
