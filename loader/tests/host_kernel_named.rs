//! On the host kernel: the pure-Rust program `host_task_named` (named relocations through
//! `core-reloc-ebpf`, no C) reads `task_struct` on a syscall of this thread; what it reads
//! equals gettid, getpid, getppid and /proc comm. The same program checks that relocated
//! values stay opaque to the optimizer, both in the built object (every use in the source is
//! its own `ld_imm64`) and at run time (comparisons with 0, arithmetic, map index, one value
//! used twice give what the kernel's layout implies).

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aya::maps::Array;
use aya::programs::RawTracePoint;
use core_reloc::object::BpfObject;
use core_reloc_loader::{FixupReport, Loader, Report};

const OBJECT: &str = "host_task_named";
const PROGRAM: &str = "host_task_named";
/// `SCHED_RESET_ON_FORK` of `<linux/sched.h>`.
const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

/// `struct HostTaskRecord` of `ebpf-tests/rust-named/src/host_task_named.rs`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct HostTaskRecord {
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
    sched_reset_on_fork: u32,
}

// SAFETY: plain integers and bytes, no padding the program does not write.
unsafe impl aya::Pod for HostTaskRecord {}

fn gettid() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

/// The value the loader wrote for `symbol` (every use of it gets the same).
fn value_of(report: &Report, symbol: &str) -> u64 {
    let uses: Vec<&FixupReport> = report
        .fixups
        .iter()
        .filter(|fixup| fixup.symbol.as_deref() == Some(symbol))
        .collect();
    assert!(!uses.is_empty(), "no named relocation {symbol}");
    let value = uses[0].new.unwrap_or_else(|| panic!("{symbol} poisoned"));
    assert!(
        uses.iter().all(|fixup| fixup.new == Some(value)),
        "{uses:#?}"
    );
    value
}

#[test]
fn every_use_of_a_named_relocation_is_its_own_zeroed_ld_imm64() {
    let bytes = std::fs::read(common::ebpf_object(OBJECT)).unwrap();
    let object = BpfObject::parse(&bytes).unwrap();
    assert_eq!(object.record_count(), 0, "no .BTF.ext CO-RE record: no C");
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for named in object.named_relocations() {
        *uses.entry(named.symbol.as_str()).or_default() += 1;
        let section = object.program_section(named.site.section_index).unwrap();
        let at = named.site.insn_index * 8;
        let insn = &section.insns[at..at + 16];
        assert_eq!(insn[0], 0x18, "{}: ld_imm64", named.symbol);
        assert!(
            insn[4..8].iter().chain(&insn[12..16]).all(|&b| b == 0),
            "{}: the compiler wrote a value: {insn:02x?}",
            named.symbol
        );
    }
    // In the source: core_read! of pid (1), opacity_checks adds it twice.
    let count = |symbol: &str| uses.get(symbol).copied().unwrap_or(0);
    assert_eq!(
        count("core_reloc:v1:field_byte_offset:struct:task_struct:pid"),
        3
    );
    // type_exists of the missing type: the record and the `== 0` test.
    assert_eq!(
        count("core_reloc:v1:type_exists:struct:core_reloc_no_such_type"),
        2
    );
    // core_read! of tgid, of real_parent->tgid, and the map index.
    assert_eq!(
        count("core_reloc:v1:field_byte_offset:struct:task_struct:tgid"),
        3
    );
    assert_eq!(count("core_reloc:v1:type_size:struct:task_struct"), 2);
}

#[test_log::test]
fn task_fields_read_in_pure_rust_equal_user_space() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "loading BPF programs needs root"
    );
    let bytes = std::fs::read(common::ebpf_object(OBJECT)).unwrap();
    let (mut ebpf, report) = Loader::new()
        .load_with(&bytes, &mut aya::EbpfLoader::new())
        .expect("load through Loader");
    for fixup in &report.fixups {
        println!("{fixup}");
    }
    assert!(report.fixups.iter().all(|fixup| fixup.symbol.is_some()));
    assert!(report.modules.is_empty(), "{:?}", report.modules);
    // The relocated object has no relocation left against a core_reloc symbol.
    let relocated = Loader::new().relocate(&bytes).unwrap();
    assert!(
        BpfObject::parse(&relocated.bytes)
            .unwrap()
            .named_relocations()
            .is_empty()
    );

    Loader::load_program(&mut ebpf, &report, PROGRAM, |p: &mut RawTracePoint| {
        p.load()
    })
    .expect("program loads");
    let program: &mut RawTracePoint = ebpf.program_mut(PROGRAM).unwrap().try_into().unwrap();
    let _link = program.attach("sys_enter").expect("attach to sys_enter");

    // A one-bit bitfield user space can set: sched_reset_on_fork of this thread.
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: valid policy and parameter for the calling thread.
    let set =
        unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER | SCHED_RESET_ON_FORK, &param) };
    assert_eq!(
        set,
        0,
        "sched_setscheduler: {}",
        std::io::Error::last_os_error()
    );

    let tid = gettid();
    let mut target: Array<_, u32> = Array::try_from(ebpf.map_mut("target_tid").unwrap()).unwrap();
    target.set(0, &tid, 0).unwrap();
    let records: Array<_, HostTaskRecord> =
        Array::try_from(ebpf.map("host_task_record").unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let record = loop {
        // Any syscall of this thread fires sys_enter.
        unsafe { libc::getppid() };
        let record = records.get(&0, 0).unwrap();
        if record.hits > 0 || Instant::now() > deadline {
            break record;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    println!("{record:?}");
    assert!(record.hits > 0, "the program never ran");
    assert_eq!(record.pid as u32, tid, "task->pid is the thread id");
    assert_eq!(record.tgid as u32, std::process::id(), "task->tgid");
    assert_eq!(
        record.parent_tgid,
        unsafe { libc::getppid() },
        "task->real_parent->tgid"
    );
    let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap();
    let recorded = std::ffi::CStr::from_bytes_until_nul(&record.comm)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(recorded, comm.trim_end());
    assert_eq!(record.task_struct_exists, 1);
    assert_eq!(record.no_such_type_exists, 0);
    assert_eq!(record.comm_size, 16);
    assert_eq!(record.pidtype_pgid_exists, 1);
    assert_eq!(
        record.pidtype_pgid, 2,
        "PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID"
    );
    assert_eq!(record.sched_reset_on_fork, 1, "bitfield read");

    let task_size = value_of(&report, "core_reloc:v1:type_size:struct:task_struct");
    assert_eq!(u64::from(record.task_struct_size), task_size);
    assert!(task_size > 1000, "task_struct is large: {task_size}");
    let pid_offset = value_of(
        &report,
        "core_reloc:v1:field_byte_offset:struct:task_struct:pid",
    );
    let tgid_offset = value_of(
        &report,
        "core_reloc:v1:field_byte_offset:struct:task_struct:tgid",
    );
    assert!(pid_offset > 0 && tgid_offset > 0);
    let opacity: Array<_, u64> = Array::try_from(ebpf.map("opacity").unwrap()).unwrap();
    let slots: Vec<u64> = (0..8).map(|i| opacity.get(&i, 0).unwrap()).collect();
    println!("opacity slots {slots:?}");
    assert_eq!(slots[0], 2, "type_exists of a missing type compared with 0");
    assert_eq!(slots[1], 3, "field_exists compared with 0");
    assert_eq!(slots[2], task_size * 3 + 7, "arithmetic");
    assert_eq!(slots[3], 2 * pid_offset, "one value used twice");
    let index = 4 + (tgid_offset & 3) as usize;
    for (slot, &value) in slots.iter().enumerate().skip(4) {
        assert_eq!(value, u64::from(slot == index), "map index {slot}");
    }
}
