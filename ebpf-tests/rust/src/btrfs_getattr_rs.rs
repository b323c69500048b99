//! Test 1 in Rust: on stat(2) of a btrfs file, read btrfs module struct fields.
//!
//! The maps and the record layout are the C program's (`ebpf-tests/include/btrfs_record.h`), so
//! user space reads both objects the same way. Every access to a kernel struct goes through the
//! C shim, which carries the CO-RE relocations.
#![no_std]
#![no_main]

use aya_ebpf::{
    btf_maps::Array,
    helpers::bpf_get_current_pid_tgid,
    macros::{btf_map, kprobe},
    programs::ProbeContext,
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

/// Opaque kernel `struct path`: only the shim looks inside.
#[repr(C)]
pub struct Path {
    _private: [u8; 0],
}

unsafe extern "C" {
    /// In `shim/shim.c`; inlined by bpf-linker.
    fn core_reloc_btrfs_read_path(path: *mut Path, out: *mut BtrfsGetattrRecord);
}

/// Key 0: the tgid whose stat calls are recorded; 0 records every process.
#[btf_map]
#[allow(non_upper_case_globals)]
static target_tgid: Array<u32, 1> = Array::new();

/// Key 0: the last record.
#[btf_map]
#[allow(non_upper_case_globals)]
static btrfs_getattr_record: Array<BtrfsGetattrRecord, 1> = Array::new();

#[kprobe(function = "btrfs_getattr")]
pub fn btrfs_getattr_fields(ctx: ProbeContext) -> u32 {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    match target_tgid.get(0) {
        Some(&target) if target == 0 || target == tgid => {}
        _ => return 0,
    }
    let Some(record) = btrfs_getattr_record.get_ptr_mut(0) else {
        return 0;
    };
    // btrfs_getattr(idmap or user_namespace, const struct path *, ...) on 6.1 and 6.12.
    let Some(path) = ctx.arg::<*mut Path>(1) else {
        return 0;
    };
    // SAFETY: `record` points at the map value; the shim reads kernel memory only through
    // bpf_probe_read_kernel, which tolerates any pointer.
    unsafe {
        (*record).tgid = tgid;
        core_reloc_btrfs_read_path(path, record);
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
