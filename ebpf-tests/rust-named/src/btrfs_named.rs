//! The btrfs test program in pure Rust: no C, no bitcode shim. Every kernel and btrfs struct
//! access is a named relocation (`core-reloc-ebpf`), resolved by the loader against vmlinux
//! and the btrfs module's BTF.
//!
//! On stat(2) of a btrfs file (kprobe on btrfs_getattr) it fills the record of the C program
//! `btrfs_getattr.bpf.c` and the probes of `btrfs_probes.bpf.c` (same maps, same layouts, see
//! `ebpf-tests/include/btrfs_record.h`), so user space checks both the same way.
#![no_std]
#![no_main]

use aya_ebpf::{
    btf_maps::Array,
    helpers::bpf_get_current_pid_tgid,
    macros::{btf_map, kprobe},
    programs::ProbeContext,
};
use core_reloc_ebpf::{
    core_read, enum_value, enum_value_exists, field_exists, field_offset, field_size, type_exists,
    type_size,
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

/// Indices of `enum btrfs_probe_index`.
mod probe {
    pub const RAN: u32 = 0;
    pub const INODE_TYPE_EXISTS: u32 = 1;
    pub const INODE_TYPE_SIZE: u32 = 2;
    pub const INODE_LOCATION_EXISTS: u32 = 3;
    pub const INODE_VFS_INODE_OFFSET: u32 = 4;
    pub const INODE_GENERATION_OFFSET: u32 = 5;
    pub const FS_INFO_NODESIZE_SIZE: u32 = 6;
    pub const MAP_DISCARD_EXISTS: u32 = 7;
    pub const MAP_READ_MIRRORS_EXISTS: u32 = 8;
    pub const MAP_READ_MIRRORS_VALUE: u32 = 9;
    pub const ROOT_TYPE_SIZE: u32 = 10;
    pub const COUNT: u32 = 11;
}

/// Key 0: the tgid whose stat calls are recorded; 0 records every process.
#[btf_map]
#[allow(non_upper_case_globals)]
static target_tgid: Array<u32, 1> = Array::new();

/// Key 0: the last record.
#[btf_map]
#[allow(non_upper_case_globals)]
static btrfs_getattr_record: Array<BtrfsGetattrRecord, 1> = Array::new();

/// The probes, indexed by [`probe`].
#[btf_map]
#[allow(non_upper_case_globals)]
static btrfs_probes: Array<u64, { probe::COUNT as usize }> = Array::new();

fn put(index: u32, value: u64) {
    if let Some(slot) = btrfs_probes.get_ptr_mut(index) {
        // SAFETY: a map value slot of the right type.
        unsafe { *slot = value };
    }
}

#[kprobe(function = "btrfs_getattr")]
pub fn btrfs_getattr_fields(ctx: ProbeContext) -> u32 {
    probes();
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    match target_tgid.get(0) {
        Some(&target) if target == 0 || target == tgid => {}
        _ => return 0,
    }
    let Some(record) = btrfs_getattr_record.get_ptr_mut(0) else {
        return 0;
    };
    // btrfs_getattr(idmap or user_namespace, const struct path *, ...) on 6.1 and 6.12.
    let Some(path) = ctx.arg::<*const u8>(1) else {
        return 0;
    };
    // path->dentry->d_inode: vmlinux types.
    let inode: Option<*const u8> = core_read!(path, (path, dentry), (dentry, d_inode));
    let Some(inode) = inode else { return 0 };
    // BTRFS_I(): container_of with the btrfs module's offset of vfs_inode.
    let btrfs_inode = inode.wrapping_sub(field_offset!(btrfs_inode, vfs_inode) as usize);
    // Read back through btrfs_inode, so a wrong container_of offset shows as a wrong i_ino.
    let ino: Option<u64> = core_read!(btrfs_inode, btrfs_inode, vfs_inode.i_ino);
    let root_objectid: Option<u64> = core_read!(
        btrfs_inode,
        (btrfs_inode, root),
        (btrfs_root, root_key.objectid)
    );
    let sectorsize: Option<u32> = core_read!(
        btrfs_inode,
        (btrfs_inode, root),
        (btrfs_root, fs_info),
        (btrfs_fs_info, sectorsize)
    );
    let nodesize: Option<u32> = core_read!(
        btrfs_inode,
        (btrfs_inode, root),
        (btrfs_root, fs_info),
        (btrfs_fs_info, nodesize)
    );
    // SAFETY: `record` points at the map value.
    unsafe {
        (*record).tgid = tgid;
        (*record).ino = ino.unwrap_or(0);
        (*record).root_objectid = root_objectid.unwrap_or(0);
        (*record).sectorsize = sectorsize.unwrap_or(0);
        (*record).nodesize = nodesize.unwrap_or(0);
        (*record).hits += 1;
    }
    0
}

/// The probes of `btrfs_probes.bpf.c`, each guarded like there.
#[inline(always)]
fn probes() {
    if let Some(runs) = btrfs_probes.get_ptr_mut(probe::RAN) {
        // SAFETY: a map value slot of the right type.
        unsafe { *runs += 1 };
    }
    put(
        probe::INODE_TYPE_EXISTS,
        type_exists!(struct btrfs_inode) as u64,
    );
    put(probe::INODE_TYPE_SIZE, type_size!(struct btrfs_inode));
    put(
        probe::INODE_LOCATION_EXISTS,
        field_exists!(btrfs_inode, location) as u64,
    );
    if field_exists!(btrfs_inode, vfs_inode) {
        put(
            probe::INODE_VFS_INODE_OFFSET,
            field_offset!(btrfs_inode, vfs_inode),
        );
    }
    if field_exists!(btrfs_inode, generation) {
        put(
            probe::INODE_GENERATION_OFFSET,
            field_offset!(btrfs_inode, generation),
        );
    }
    if field_exists!(btrfs_fs_info, nodesize) {
        put(
            probe::FS_INFO_NODESIZE_SIZE,
            field_size!(btrfs_fs_info, nodesize),
        );
    }
    put(
        probe::MAP_DISCARD_EXISTS,
        enum_value_exists!(btrfs_map_op, BTRFS_MAP_DISCARD) as u64,
    );
    put(
        probe::MAP_READ_MIRRORS_EXISTS,
        enum_value_exists!(btrfs_map_op, BTRFS_MAP_GET_READ_MIRRORS) as u64,
    );
    if enum_value_exists!(btrfs_map_op, BTRFS_MAP_GET_READ_MIRRORS) {
        put(
            probe::MAP_READ_MIRRORS_VALUE,
            enum_value!(btrfs_map_op, BTRFS_MAP_GET_READ_MIRRORS),
        );
    }
    put(probe::ROOT_TYPE_SIZE, type_size!(struct btrfs_root));
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
