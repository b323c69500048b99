//! fentry and fexit on btrfs module functions, in Rust (issue 11): the same programs, maps and
//! records as `ebpf-tests/c/btrfs_fentry.bpf.c`. The loader loads them with the btrfs module's
//! BTF object; every kernel struct read is a direct load in the C shim (`btrfs_direct.h`),
//! which carries the CO-RE relocations and is inlined here by bpf-linker.
#![no_std]
#![no_main]

use aya_ebpf::{
    btf_maps::{Array, HashMap},
    helpers::bpf_get_current_pid_tgid,
    macros::{btf_map, fentry, fexit},
    programs::{FEntryContext, FExitContext},
};

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

/// Opaque kernel structs: only the shim looks inside.
#[repr(C)]
pub struct Opaque {
    _private: [u8; 0],
}

unsafe extern "C" {
    /// In `shim/shim.c`; inlined by bpf-linker.
    fn core_reloc_btrfs_direct_read_inode(inode: *mut Opaque, out: *mut BtrfsGetattrRecord);
    /// In `shim/shim.c`; inlined by bpf-linker.
    fn core_reloc_btrfs_direct_read_getattr(
        path: *mut Opaque,
        stat: *mut Opaque,
        ret: i32,
        out: *mut BtrfsFexitRecord,
    );
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

#[fentry(function = "btrfs_get_delayed_node")]
pub fn btrfs_fentry_inode(ctx: FEntryContext) -> u32 {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if !is_target(tgid) {
        return 0;
    }
    let inode: *mut Opaque = ctx.arg(0);
    let mut record = BtrfsGetattrRecord {
        hits: 1,
        ino: 0,
        root_objectid: 0,
        sectorsize: 0,
        nodesize: 0,
        tgid,
        _pad: 0,
    };
    // SAFETY: the shim only reads through `inode` (a BTF-typed pointer the verifier checks)
    // and writes the record on our stack.
    unsafe { core_reloc_btrfs_direct_read_inode(inode, &mut record) };
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
    let path: *mut Opaque = ctx.arg(1);
    let stat: *mut Opaque = ctx.arg(2);
    let ret: i32 = ctx.arg(5);
    // SAFETY: `record` is the map value; the shim reads through BTF-typed pointers only.
    unsafe {
        core_reloc_btrfs_direct_read_getattr(path, stat, ret, record);
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
