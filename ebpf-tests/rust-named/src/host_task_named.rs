//! Host-kernel test in pure Rust: on a syscall of one chosen thread, read `task_struct` through
//! named relocations (`core-reloc-ebpf`), and compute with relocated values in the ways an
//! optimizer could get wrong if it knew them (compared with 0, arithmetic, map index, one value
//! used twice). User space compares with gettid(), getpid(), getppid(), /proc comm and the
//! values of the loader's report.
#![no_std]
#![no_main]

use aya_ebpf::{
    btf_maps::Array,
    helpers::{bpf_get_current_pid_tgid, bpf_get_current_task},
    macros::{btf_map, raw_tracepoint},
    programs::RawTracePointContext,
};
use core_reloc_ebpf::{
    core_read, core_read_bitfield, enum_value, enum_value_exists, field_exists, field_offset,
    field_size, type_exists, type_size,
};

/// Mirrored in `loader/tests/host_kernel.rs`.
#[repr(C)]
pub struct HostTaskRecord {
    hits: u32,
    pid: i32,
    tgid: i32,
    parent_tgid: i32,
    comm: [u8; 16],
    task_struct_exists: u32,
    no_such_type_exists: u32,
    task_struct_size: u32,
    comm_size: u32,
    pidtype_pgid: u64,
    pidtype_pgid_exists: u32,
    /// `task_struct.sched_reset_on_fork`, a one-bit bitfield.
    sched_reset_on_fork: u32,
}

/// Key 0: the thread whose syscalls are recorded.
#[btf_map]
#[allow(non_upper_case_globals)]
static target_tid: Array<u32, 1> = Array::new();

/// Key 0: the record.
#[btf_map]
#[allow(non_upper_case_globals)]
static host_task_record: Array<HostTaskRecord, 1> = Array::new();

/// Results of the optimizer-opacity checks:
/// 0: 1 if `type_exists!(core_reloc_no_such_type)` else 2 (must be 2: a folded `!= 0` gives 1);
/// 1: 3 if `field_exists!(task_struct, pid)` else 4;
/// 2: `type_size!(task_struct) * 3 + 7`;
/// 3: `field_offset!(task_struct, pid)` twice, added;
/// 4..8: slot `4 + (field_offset!(task_struct, tgid) & 3)` is 1, the others 0.
#[btf_map]
#[allow(non_upper_case_globals)]
static opacity: Array<u64, 8> = Array::new();

fn set(index: u32, value: u64) {
    if let Some(slot) = opacity.get_ptr_mut(index) {
        // SAFETY: a map value slot of the right type.
        unsafe { *slot = value };
    }
}

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn host_task_named(_ctx: RawTracePointContext) -> i32 {
    let tid = bpf_get_current_pid_tgid() as u32;
    match target_tid.get(0) {
        Some(&target) if target == tid => {}
        _ => return 0,
    }
    let Some(record) = host_task_record.get_ptr_mut(0) else {
        return 0;
    };
    // SAFETY: the helper has no preconditions.
    let task = unsafe { bpf_get_current_task() } as *const u8;
    let pid: Option<i32> = core_read!(task, task_struct, pid);
    let tgid: Option<i32> = core_read!(task, task_struct, tgid);
    let parent_tgid: Option<i32> =
        core_read!(task, (task_struct, real_parent), (task_struct, tgid));
    let comm: Option<[u8; 16]> = core_read!(task, task_struct, comm);
    let reset_on_fork = core_read_bitfield!(task, task_struct, sched_reset_on_fork);
    // SAFETY: `record` points at the map value.
    unsafe {
        (*record).pid = pid.unwrap_or(-1);
        (*record).tgid = tgid.unwrap_or(-1);
        (*record).parent_tgid = parent_tgid.unwrap_or(-1);
        (*record).comm = comm.unwrap_or([0; 16]);
        (*record).task_struct_exists = type_exists!(struct task_struct) as u32;
        (*record).no_such_type_exists = type_exists!(struct core_reloc_no_such_type) as u32;
        (*record).task_struct_size = type_size!(struct task_struct) as u32;
        (*record).comm_size = field_size!(task_struct, comm) as u32;
        (*record).pidtype_pgid_exists = enum_value_exists!(pid_type, PIDTYPE_PGID) as u32;
        if enum_value_exists!(pid_type, PIDTYPE_PGID) {
            (*record).pidtype_pgid = enum_value!(pid_type, PIDTYPE_PGID);
        }
        (*record).sched_reset_on_fork = reset_on_fork.map_or(7, |bit| bit as u32);
        (*record).hits += 1;
    }
    opacity_checks();
    0
}

#[inline(always)]
fn opacity_checks() {
    set(
        0,
        if type_exists!(struct core_reloc_no_such_type) {
            1
        } else {
            2
        },
    );
    set(
        1,
        if field_exists!(task_struct, pid) {
            3
        } else {
            4
        },
    );
    set(2, type_size!(struct task_struct) * 3 + 7);
    set(
        3,
        field_offset!(task_struct, pid) + field_offset!(task_struct, pid),
    );
    set(4 + (field_offset!(task_struct, tgid) & 3) as u32, 1);
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
