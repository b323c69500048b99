//! On the host kernel (root, BPF, no modules, no kprobes): a C program with CO-RE reads of
//! vmlinux types loads through `Loader`, runs on a raw tracepoint, and what it reads equals
//! what user space observes.

mod common;

use std::time::{Duration, Instant};

use aya::maps::Array;
use aya::programs::RawTracePoint;
use core_reloc_loader::Loader;

/// `struct host_task_record` of `ebpf-tests/c/host_task.bpf.c`.
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
    pad: u32,
}

// SAFETY: plain integers and bytes, no padding the program does not write.
unsafe impl aya::Pod for HostTaskRecord {}

fn gettid() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

#[test_log::test]
fn task_fields_read_through_core_equal_user_space() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "loading BPF programs needs root"
    );
    let object = common::ebpf_object("host_task.bpf.o");
    let loader = Loader::new();
    let (mut ebpf, report) = loader
        .load_with(
            &std::fs::read(&object).unwrap(),
            &mut aya::EbpfLoader::new(),
        )
        .expect("load through Loader");
    assert_eq!(report.fixups.len(), 10, "{:#?}", report.fixups);
    assert!(
        report
            .fixups
            .iter()
            .all(|f| f.target.as_ref().is_none_or(|t| !t.origin.is_module()))
    );
    assert!(
        report.modules.is_empty(),
        "no module is parsed for vmlinux types"
    );

    Loader::load_program(&mut ebpf, &report, "host_task", |p: &mut RawTracePoint| {
        p.load()
    })
    .expect("program loads");
    let program: &mut RawTracePoint = ebpf.program_mut("host_task").unwrap().try_into().unwrap();
    let _link = program.attach("sys_enter").expect("attach to sys_enter");

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
    assert!(record.hits > 0, "the program never ran");
    assert_eq!(record.pid as u32, tid, "task->pid is the thread id");
    assert_eq!(
        record.tgid as u32,
        std::process::id(),
        "task->tgid is the process id"
    );
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
        "enum pid_type: PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID"
    );
    // sizeof(struct task_struct) from the running kernel's BTF, read independently.
    let size = report
        .fixups
        .iter()
        .find(|f| f.kind == core_reloc::ext::CoreReloKind::TypeSize)
        .and_then(|f| f.new)
        .unwrap();
    assert_eq!(u64::from(record.task_struct_size), size);
    assert!(size > 1000, "task_struct is large: {size}");
}

/// Times aya asked [`aya::EbpfLoader::btf_source`] for target BTF, per test source.
static OURS_ASKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static AYA_ALONE_ASKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What the test's `btf_source` callbacks return: counted, and no BTF.
fn refuse(counter: &std::sync::atomic::AtomicUsize) -> Result<aya::Btf, aya::EbpfError> {
    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Err(aya::EbpfError::BtfSourceError(std::io::Error::other(
        "this test's target BTF is not available",
    )))
}

/// aya's own CO-RE settings after `Loader` relocated the object: the object aya gets has no
/// CO-RE records left (`core_relo_len` is 0), so aya never asks its `btf_source` (nor uses
/// `btf`) for CO-RE; the same object loaded by aya alone does ask, and fails when it cannot get
/// target BTF.
#[test_log::test]
fn aya_core_settings_are_unused_after_loader_relocation() {
    use std::sync::atomic::Ordering;
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "loading BPF programs needs root"
    );
    let bytes = std::fs::read(common::ebpf_object("host_task.bpf.o")).unwrap();

    let relocated = Loader::new().relocate(&bytes).unwrap();
    let object = core_reloc::object::BpfObject::parse(&relocated.bytes).unwrap();
    assert_eq!(object.record_count(), 0, "no CO-RE record is left for aya");
    assert_eq!(relocated.report.fixups.len(), 10);

    let mut aya_loader = aya::EbpfLoader::new();
    aya_loader.btf_source(|_| refuse(&OURS_ASKED));
    let (mut ebpf, report) = Loader::new()
        .load_with(&bytes, &mut aya_loader)
        .expect("aya loads the relocated object without target BTF");
    Loader::load_program(&mut ebpf, &report, "host_task", |p: &mut RawTracePoint| {
        p.load()
    })
    .expect("the verifier accepts our relocations");
    assert_eq!(
        OURS_ASKED.load(Ordering::SeqCst),
        0,
        "aya never asked for BTF"
    );

    let alone = aya::EbpfLoader::new()
        .btf_source(|_| refuse(&AYA_ALONE_ASKED))
        .load(&bytes);
    assert!(
        matches!(alone, Err(aya::EbpfError::BtfSourceError(_))),
        "aya alone needs target BTF for CO-RE: {:?}",
        alone.err()
    );
    assert_eq!(AYA_ALONE_ASKED.load(Ordering::SeqCst), 1);
}
