//! The kernel as the judge of `.BTF.base`: the 6.12 guest force-loads core_reloc_testmod,
//! built by `cargo xtask kmod` against an older Debian 6.12 ABI and carrying the `.BTF` and
//! `.BTF.base` our distiller wrote. The kernel relocates the module's BTF onto its vmlinux;
//! `/sys/kernel/btf/core_reloc_testmod` must equal, byte for byte, our relocation of the same
//! `.ko` onto `/sys/kernel/btf/vmlinux`, and a CO-RE program reading the module's structs
//! through the `Loader` must read the values the module reports, in both layout variants.
//!
//! The same module is the fmod_ret target (issue 11): an fmod_ret program on its
//! `crt_testmod_observe`, loaded by the loader with `BPF_MODIFY_RETURN` against the module's
//! BTF, reads the record by direct CO-RE loads and the module's per-CPU variable as a typed
//! `__ksym`, and fails the write it is told to refuse.
//!
//! Guest-only: ignored on the host, run by `cargo xtask vm` (6.12; the 6.1 guest has no
//! test module, as 6.1 predates `.BTF.base`).

use std::ffi::CString;
use std::fs;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;

use aya::maps::{Array, MapData};
use aya::programs::{FExit, KProbe};
use core_reloc::btf::Btf;
use core_reloc::origin::BtfOrigin;
use core_reloc::split_base::relocate_split;
use core_reloc_loader::{KernelBtf, Loader};
use integration::programs::{self, CrtFmodRetSeen, CrtSeen};
use integration::{KMOD_DIR, guest};
use object::{Object, ObjectSection};

const MODULE: &str = "core_reloc_testmod";
const PROC_FILE: &str = "/proc/core_reloc_testmod";

/// finit_module with the flags `insmod --force` uses: the module is built for another ABI.
fn force_load(path: &Path) {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let params = CString::default();
    let flags = libc::MODULE_INIT_IGNORE_MODVERSIONS | libc::MODULE_INIT_IGNORE_VERMAGIC;
    // SAFETY: a valid fd, a NUL-terminated parameter string and flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_finit_module,
            file.as_raw_fd(),
            params.as_ptr(),
            flags,
        )
    };
    assert_eq!(
        rc,
        0,
        "finit_module {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// Unloads the module, waiting (up to 10 s) for references that outlive a program: a BPF
/// trampoline on a module function holds the module until it is freed after a grace period.
fn unload() {
    let name = CString::new(MODULE).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        // SAFETY: a NUL-terminated module name.
        let rc = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
        let error = std::io::Error::last_os_error();
        let busy = matches!(error.raw_os_error(), Some(libc::EAGAIN | libc::EBUSY));
        if rc == 0 || !busy || std::time::Instant::now() > deadline {
            assert_eq!(rc, 0, "delete_module: {error}");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn section<'a>(file: &object::File<'a>, name: &str) -> &'a [u8] {
    file.section_by_name(name)
        .unwrap_or_else(|| panic!("the module has no {name}"))
        .data()
        .unwrap()
}

/// Our offline relocation of the module's `.BTF` (on its `.BTF.base`) onto `vmlinux`.
fn offline_relocation(ko: &[u8], vmlinux: &[u8]) -> Vec<u8> {
    let file = object::File::parse(ko).unwrap();
    let distilled = Arc::new(Btf::parse(section(&file, ".BTF.base")).unwrap());
    let split = Btf::parse_split(section(&file, ".BTF"), distilled).unwrap();
    relocate_split(&split, &Btf::parse(vmlinux).unwrap()).unwrap()
}

/// The module's own report: `key value` pairs (see the module source).
fn reported() -> Vec<(String, u64)> {
    let text = fs::read_to_string(PROC_FILE).unwrap();
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .chunks(2)
        .map(|pair| (pair[0].to_string(), pair[1].parse().unwrap()))
        .collect()
}

fn value(report: &[(String, u64)], key: &str) -> u64 {
    report
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("{key} not in {report:?}"))
        .1
}

/// Loads variant `variant`, checks the kernel's relocation and the program's reads; returns
/// the layout the module reported (size, offset of inner.value).
fn check_variant(variant: u32) -> (u64, u64) {
    let path = Path::new(KMOD_DIR).join(format!("{MODULE}-v{variant}.ko"));
    let ko = fs::read(&path).unwrap();
    force_load(&path);

    let sysfs = Path::new("/sys/kernel/btf").join(MODULE);
    let kernel = fs::read(&sysfs).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the kernel kept no BTF for the module)",
            sysfs.display()
        )
    });
    let ours = offline_relocation(&ko, &fs::read("/sys/kernel/btf/vmlinux").unwrap());
    assert!(
        kernel == ours,
        "variant {variant}: /sys/kernel/btf/{MODULE} ({} bytes) differs from our relocation ({} bytes)",
        kernel.len(),
        ours.len()
    );
    let file = object::File::parse(&*ko).unwrap();
    assert!(
        ours != section(&file, ".BTF"),
        "relocation must rewrite ids: the .ko's distilled split is not on vmlinux"
    );
    println!(
        "variant {variant}: kernel relocation == ours ({} bytes)",
        ours.len()
    );

    // Through /sys/kernel/btf/<module> (the kernel's relocation), then as if that entry were
    // missing: the module's BTF read from the .ko and relocated by us (KernelBtf::Files).
    let sysfs_loader = {
        let mut loader = Loader::new();
        loader.with_module_btf(MODULE);
        loader
    };
    let file_loader = {
        let mut loader = Loader::new();
        loader
            .kernel_btf(KernelBtf::Files {
                vmlinux: "/sys/kernel/btf/vmlinux".into(),
                modules: vec![(MODULE.to_string(), path.clone())],
            })
            .with_module_btf(MODULE);
        loader
    };
    let mut layout = None;
    for (how, loader) in [("sysfs", &sysfs_loader), ("the .ko", &file_loader)] {
        let input = 4242 + u64::from(variant) + layout.map_or(0, |_| 100);
        let (seen, module) = observe(loader, input);
        println!("variant {variant} via {how}: module {module:?}, program {seen:?}");
        assert_eq!(value(&module, "variant"), u64::from(variant));
        assert_eq!(seen.runs, 1, "via {how}");
        assert_eq!(seen.input, input, "via {how}");
        assert_eq!(seen.id, value(&module, "id"), "via {how}");
        assert_eq!(seen.tag, value(&module, "tag"), "via {how}");
        assert_eq!(seen.value, value(&module, "value"), "via {how}");
        assert_eq!(seen.value, input, "via {how}");
        assert_eq!(seen.calls, value(&module, "calls"), "via {how}");
        assert_eq!(seen.size, value(&module, "size"), "via {how}");
        assert_eq!(seen.off_value, value(&module, "off_value"), "via {how}");
        layout = Some((value(&module, "size"), value(&module, "off_value")));
    }
    unload();
    layout.unwrap()
}

/// Loads the observing program with `loader`, writes `input` to the module's /proc file and
/// returns what the program read and what the module reports.
fn observe(loader: &Loader, input: u64) -> (CrtSeen, Vec<(String, u64)>) {
    let guest = guest();
    let bytes = fs::read(guest.object(programs::C_TESTMOD_OBSERVE)).unwrap();
    let (mut ebpf, report) = loader
        .load_with(&bytes, &mut aya::EbpfLoader::new())
        .unwrap_or_else(|e| panic!("{}: {e}", programs::C_TESTMOD_OBSERVE));
    assert!(report.modules.iter().any(|m| m.name == MODULE));
    let kprobe: &mut KProbe = ebpf
        .program_mut(programs::TESTMOD_OBSERVE_PROGRAM)
        .unwrap()
        .try_into()
        .unwrap();
    kprobe.load().unwrap();
    kprobe.attach(programs::TESTMOD_OBSERVE_TARGET, 0).unwrap();
    fs::write(PROC_FILE, input.to_string()).unwrap();
    let module = reported();
    let map = ebpf.map(programs::TESTMOD_SEEN_MAP).unwrap();
    let array: Array<&MapData, CrtSeen> = Array::try_from(map).unwrap();
    (array.get(&0, 0).unwrap(), module)
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn kernel_relocates_distilled_module_btf_like_us_and_core_reads_it() {
    if guest().series() != "6.12" {
        println!(
            "skipped on {}: .BTF.base needs Linux 6.11+",
            guest().series()
        );
        return;
    }
    let first = check_variant(1);
    let second = check_variant(2);
    assert_ne!(first, second, "the two variants must differ in layout");
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn fmod_ret_on_a_module_function_reads_by_direct_core_loads_and_changes_its_return() {
    if guest().series() != "6.12" {
        println!(
            "skipped on {}: the test module is 6.12 only",
            guest().series()
        );
        return;
    }
    for variant in [1, 2] {
        let path = Path::new(KMOD_DIR).join(format!("{MODULE}-v{variant}.ko"));
        force_load(&path);
        check_fmod_ret(variant);
        unload();
    }
}

fn check_fmod_ret(variant: u32) {
    const REFUSED: u64 = 777;
    let bytes = fs::read(guest().object(programs::C_TESTMOD_FMODRET)).unwrap();
    let mut loaded = Loader::new()
        .load_module_aware(&bytes, &mut aya::EbpfLoader::new())
        .unwrap_or_else(|e| panic!("{}: {e}", programs::C_TESTMOD_FMODRET));
    let [attachment] = &loaded.attachments[..] else {
        panic!("one program: {:?}", loaded.attachments);
    };
    let attachment = attachment.clone();
    println!("variant {variant}: loaded {attachment}");
    let module = BtfOrigin::module(MODULE);
    assert_eq!(
        attachment.target.as_ref().map(|(_, id)| &id.origin),
        Some(&module)
    );
    assert!(
        matches!(&attachment.symbols[..], [(name, Some(id))] if name == "crt_testmod_writes" && id.origin == module),
        "{:?}",
        attachment.symbols
    );
    {
        let map = loaded.ebpf.map_mut(programs::TESTMOD_REFUSE_MAP).unwrap();
        let mut refuse: Array<&mut MapData, u64> = Array::try_from(map).unwrap();
        refuse.set(0, &REFUSED, 0).unwrap();
    }
    let fexit: &mut FExit = loaded
        .program_mut(programs::TESTMOD_FMODRET_PROGRAM)
        .unwrap()
        .try_into()
        .unwrap();
    fexit.attach().unwrap();
    let seen = |loaded: &core_reloc_loader::ModuleEbpf| -> CrtFmodRetSeen {
        let map = loaded.ebpf.map(programs::TESTMOD_FMODRET_SEEN_MAP).unwrap();
        let array: Array<&MapData, CrtFmodRetSeen> = Array::try_from(map).unwrap();
        array.get(&0, 0).unwrap()
    };

    // Let through: the function runs, the write succeeds.
    let input = 4200 + u64::from(variant);
    fs::write(PROC_FILE, input.to_string()).unwrap();
    let report = reported();
    let first = seen(&loaded);
    println!("variant {variant}: module {report:?}, program {first:?}");
    assert_eq!(first.seen.runs, 1);
    assert_eq!(first.seen.input, input);
    assert_eq!(first.seen.id, value(&report, "id"));
    assert_eq!(first.seen.tag, value(&report, "tag"));
    assert_eq!(first.seen.value, value(&report, "value"));
    assert_eq!(first.seen.calls, value(&report, "calls"));
    assert_eq!(first.seen.size, value(&report, "size"));
    assert_eq!(first.seen.off_value, value(&report, "off_value"));
    // One CPU in the guest: this CPU's count is the module's sum.
    assert_eq!(first.writes, value(&report, "writes"));
    assert_eq!(first.refused, 0);

    // Refused: the program's -EPERM is the function's return, and the write fails with it.
    let error = fs::write(PROC_FILE, REFUSED.to_string()).unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::EPERM), "{error}");
    let report = reported();
    let second = seen(&loaded);
    assert_eq!((second.seen.runs, second.seen.input), (2, REFUSED));
    assert_eq!(second.refused, 1);
    assert_eq!(second.writes, value(&report, "writes"));
    assert_eq!(second.seen.calls, value(&report, "calls"));

    // Detached, the same write goes through.
    drop(loaded);
    fs::write(PROC_FILE, REFUSED.to_string()).unwrap();
    assert_eq!(value(&reported(), "value"), REFUSED);

    // The CLI loads and attaches it the same way.
    let stdout = integration::cli_load(programs::C_TESTMOD_FMODRET);
    let line = format!("program {attachment}: loaded, attached");
    assert!(stdout.lines().any(|l| l == line), "no line {line:?}");
}
