//! The few bpf(2) commands aya 0.16 does not expose to callers, typed.
//!
//! aya loads a tracing program with `attach_btf_id` only (an id in vmlinux BTF) and never sets
//! `attach_btf_obj_fd` or `fd_array`; a program attached to a module function or calling a
//! module kfunc needs both. This module wraps `BPF_BTF_GET_NEXT_ID`, `BPF_BTF_GET_FD_BY_ID`,
//! `BPF_OBJ_GET_INFO_BY_FD` (BTF and program objects), `BPF_BTF_LOAD` and `BPF_PROG_LOAD`, over
//! the `bpf_attr` layout aya-obj generates, and nothing else.

use std::ffi::CStr;
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use aya_obj::generated::{bpf_attr, bpf_btf_info, bpf_cmd, bpf_insn, bpf_prog_info};

/// Why a bpf(2) command failed: which command, and the kernel's errno.
#[derive(Debug, thiserror::Error)]
#[error("bpf({command}): {source}")]
pub struct SyscallError {
    /// The command, e.g. `BPF_BTF_GET_FD_BY_ID`.
    pub command: &'static str,
    /// The error the kernel returned.
    #[source]
    pub source: io::Error,
}

/// A kernel BTF object: vmlinux's or a module's, as `BPF_OBJ_GET_INFO_BY_FD` describes it.
#[derive(Debug)]
pub struct KernelBtfObject {
    /// The BTF object id.
    pub id: u32,
    /// `vmlinux` or the module name.
    pub name: String,
    /// An fd holding the object.
    pub fd: OwnedFd,
}

/// The kernel BTF object named `name` (`vmlinux` or a module), found by walking every BTF
/// object id; `None` when no kernel BTF object has that name.
///
/// ```no_run
/// let btrfs = core_reloc_loader::sys::kernel_btf_object("btrfs")?;
/// println!("{:?}", btrfs.map(|object| object.id));
/// # Ok::<(), core_reloc_loader::sys::SyscallError>(())
/// ```
pub fn kernel_btf_object(name: &str) -> Result<Option<KernelBtfObject>, SyscallError> {
    let mut id = 0;
    while let Some(next) = btf_get_next_id(id)? {
        id = next;
        let fd = match btf_get_fd_by_id(id) {
            Ok(fd) => fd,
            // The object went away between the two calls (a module unloaded): skip it.
            Err(error) if error.source.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(error) => return Err(error),
        };
        let (kernel, object_name) = btf_info(fd.as_fd())?;
        if kernel && object_name == name {
            return Ok(Some(KernelBtfObject {
                id,
                name: object_name,
                fd,
            }));
        }
    }
    Ok(None)
}

/// The id after `start` of a loaded BTF object, `None` after the last.
fn btf_get_next_id(start: u32) -> Result<Option<u32>, SyscallError> {
    let mut attr = zeroed_attr();
    attr.__bindgen_anon_6.__bindgen_anon_1.start_id = start;
    match sys_bpf(bpf_cmd::BPF_BTF_GET_NEXT_ID, &mut attr) {
        // SAFETY: the kernel filled next_id.
        Ok(_) => Ok(Some(unsafe { attr.__bindgen_anon_6.next_id })),
        Err(source) if source.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(source) => Err(SyscallError {
            command: "BPF_BTF_GET_NEXT_ID",
            source,
        }),
    }
}

fn btf_get_fd_by_id(id: u32) -> Result<OwnedFd, SyscallError> {
    let mut attr = zeroed_attr();
    attr.__bindgen_anon_6.__bindgen_anon_1.btf_id = id;
    sys_bpf_fd(bpf_cmd::BPF_BTF_GET_FD_BY_ID, &mut attr).map_err(|source| SyscallError {
        command: "BPF_BTF_GET_FD_BY_ID",
        source,
    })
}

/// Whether the BTF object is a kernel's (vmlinux or module), and its name.
fn btf_info(fd: BorrowedFd<'_>) -> Result<(bool, String), SyscallError> {
    let mut name = [0u8; 64];
    // SAFETY: bpf_btf_info is plain integers.
    let mut info: bpf_btf_info = unsafe { mem::zeroed() };
    info.name = name.as_mut_ptr() as u64;
    info.name_len = name.len() as u32;
    obj_get_info(fd, &mut info)?;
    let name = CStr::from_bytes_until_nul(&name)
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((info.kernel_btf != 0, name))
}

/// The id of a loaded program.
///
/// ```no_run
/// # fn f(fd: std::os::fd::BorrowedFd<'_>) -> Result<(), core_reloc_loader::sys::SyscallError> {
/// let id = core_reloc_loader::sys::program_id(fd)?;
/// # Ok(()) }
/// ```
pub fn program_id(fd: BorrowedFd<'_>) -> Result<u32, SyscallError> {
    // SAFETY: bpf_prog_info is plain integers and pointers left null.
    let mut info: bpf_prog_info = unsafe { mem::zeroed() };
    obj_get_info(fd, &mut info)?;
    Ok(info.id)
}

fn obj_get_info<T>(fd: BorrowedFd<'_>, info: &mut T) -> Result<(), SyscallError> {
    let mut attr = zeroed_attr();
    attr.info.bpf_fd = fd.as_raw_fd() as u32;
    attr.info.info = std::ptr::from_mut(info) as u64;
    attr.info.info_len = mem::size_of::<T>() as u32;
    sys_bpf(bpf_cmd::BPF_OBJ_GET_INFO_BY_FD, &mut attr)
        .map(drop)
        .map_err(|source| SyscallError {
            command: "BPF_OBJ_GET_INFO_BY_FD",
            source,
        })
}

/// Loads raw BTF (a program's, already sanitized) and returns its fd.
///
/// ```no_run
/// # fn f(raw: &[u8]) -> Result<(), core_reloc_loader::sys::LoadFailure> {
/// let fd = core_reloc_loader::sys::btf_load(raw)?;
/// # Ok(()) }
/// ```
pub fn btf_load(raw: &[u8]) -> Result<OwnedFd, LoadFailure> {
    let mut log = vec![0u8; 64 * 1024];
    let mut attr = zeroed_attr();
    // SAFETY: filling the BTF_LOAD member of the zeroed union with pointers that outlive the call.
    unsafe {
        let load = &mut attr.__bindgen_anon_7;
        load.btf = raw.as_ptr() as u64;
        load.btf_size = raw.len() as u32;
    }
    match sys_bpf_fd(bpf_cmd::BPF_BTF_LOAD, &mut attr) {
        Ok(fd) => Ok(fd),
        Err(_) => {
            // Again with a log, which the kernel only fills on request.
            // SAFETY: as above; the log buffer outlives the call.
            unsafe {
                let load = &mut attr.__bindgen_anon_7;
                load.btf_log_level = 1;
                load.btf_log_buf = log.as_mut_ptr() as u64;
                load.btf_log_size = log.len() as u32;
            }
            let source = sys_bpf_fd(bpf_cmd::BPF_BTF_LOAD, &mut attr)
                .err()
                .unwrap_or_else(|| io::Error::from_raw_os_error(libc::EINVAL));
            Err(LoadFailure {
                command: "BPF_BTF_LOAD",
                source,
                log: log_text(&log),
            })
        }
    }
}

/// A load that the kernel refused, with the verifier's (or BTF checker's) log.
#[derive(Debug, thiserror::Error)]
#[error("bpf({command}): {source}{}", if log.is_empty() { String::new() } else { format!("\nverifier log:\n{log}") })]
pub struct LoadFailure {
    /// `BPF_PROG_LOAD` or `BPF_BTF_LOAD`.
    pub command: &'static str,
    /// The error the kernel returned.
    #[source]
    pub source: io::Error,
    /// The log, when the kernel wrote one.
    pub log: String,
}

/// What `BPF_PROG_LOAD` gets: everything aya passes, plus the module BTF fd of the attach
/// target and the `fd_array` of module kfunc calls.
#[derive(Debug)]
pub struct ProgramLoad<'a> {
    /// Up to 15 bytes are used.
    pub name: &'a str,
    /// `bpf_prog_type`.
    pub program_type: u32,
    /// `bpf_attach_type`, or 0.
    pub expected_attach_type: u32,
    /// The linked instructions.
    pub instructions: &'a [bpf_insn],
    /// The license string.
    pub license: &'a CStr,
    /// The program's BTF and its func_info / line_info records (`(records, count, size)`).
    pub btf: Option<ProgramBtf<'a>>,
    /// The BTF object holding `attach_btf_id` (a module's); `None` means vmlinux.
    pub attach_btf_obj_fd: Option<BorrowedFd<'a>>,
    /// The attach target's type id, 0 for programs that attach by other means.
    pub attach_btf_id: u32,
    /// fds that kfunc calls index with their `off` field (index 0 unused: it means vmlinux).
    pub fd_array: &'a [RawFd],
}

/// A program's loaded BTF and the records that point into it.
#[derive(Debug, Clone, Copy)]
pub struct ProgramBtf<'a> {
    /// The BTF object's fd.
    pub fd: BorrowedFd<'a>,
    /// `bpf_func_info` records, `func_info_count` of `func_info_size` bytes.
    pub func_info: &'a [u8],
    /// Number of func_info records.
    pub func_info_count: u32,
    /// Size of one func_info record (0 when there are none).
    pub func_info_size: u32,
    /// `bpf_line_info` records.
    pub line_info: &'a [u8],
    /// Number of line_info records.
    pub line_info_count: u32,
    /// Size of one line_info record (0 when there are none).
    pub line_info_size: u32,
}

/// Loads a program; on failure, loads again with a verifier log and returns it.
///
/// ```no_run
/// # fn f(load: &core_reloc_loader::sys::ProgramLoad<'_>) -> Result<(), core_reloc_loader::sys::LoadFailure> {
/// let fd = core_reloc_loader::sys::program_load(load)?;
/// # Ok(()) }
/// ```
pub fn program_load(load: &ProgramLoad<'_>) -> Result<OwnedFd, LoadFailure> {
    let mut attr = zeroed_attr();
    // SAFETY: filling the PROG_LOAD member of the zeroed union; every pointer stored refers to
    // memory borrowed by `load` (or the log below), which outlives the syscall.
    unsafe {
        let prog = &mut attr.__bindgen_anon_3;
        let name = load.name.as_bytes();
        for (slot, byte) in prog.prog_name.iter_mut().zip(name.iter().take(15)) {
            *slot = *byte as libc::c_char;
        }
        prog.prog_type = load.program_type;
        prog.expected_attach_type = load.expected_attach_type;
        prog.insns = load.instructions.as_ptr() as u64;
        prog.insn_cnt = load.instructions.len() as u32;
        prog.license = load.license.as_ptr() as u64;
        if let Some(btf) = &load.btf {
            prog.prog_btf_fd = btf.fd.as_raw_fd() as u32;
            if btf.func_info_size > 0 {
                prog.func_info = btf.func_info.as_ptr() as u64;
                prog.func_info_cnt = btf.func_info_count;
                prog.func_info_rec_size = btf.func_info_size;
            }
            if btf.line_info_size > 0 {
                prog.line_info = btf.line_info.as_ptr() as u64;
                prog.line_info_cnt = btf.line_info_count;
                prog.line_info_rec_size = btf.line_info_size;
            }
        }
        if let Some(fd) = load.attach_btf_obj_fd {
            prog.__bindgen_anon_1.attach_btf_obj_fd = fd.as_raw_fd() as u32;
        }
        prog.attach_btf_id = load.attach_btf_id;
        if !load.fd_array.is_empty() {
            prog.fd_array = load.fd_array.as_ptr() as u64;
        }
    }
    if let Ok(fd) = sys_bpf_fd(bpf_cmd::BPF_PROG_LOAD, &mut attr) {
        return Ok(fd);
    }
    let mut log = vec![0u8; 4 * 1024 * 1024];
    // SAFETY: as above; the log buffer outlives the call.
    unsafe {
        let prog = &mut attr.__bindgen_anon_3;
        prog.log_level = 1;
        prog.log_buf = log.as_mut_ptr() as u64;
        prog.log_size = log.len() as u32;
    }
    let source = match sys_bpf_fd(bpf_cmd::BPF_PROG_LOAD, &mut attr) {
        // Loaded with a log after failing without one: not expected, but a program is a program.
        Ok(fd) => return Ok(fd),
        Err(source) => source,
    };
    Err(LoadFailure {
        command: "BPF_PROG_LOAD",
        source,
        log: log_text(&log),
    })
}

fn log_text(log: &[u8]) -> String {
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    String::from_utf8_lossy(&log[..end]).trim_end().to_string()
}

fn zeroed_attr() -> bpf_attr {
    // SAFETY: bpf_attr is a union of plain integer structs; all zeroes is its documented
    // initial state (the kernel requires unused bytes to be zero).
    unsafe { mem::zeroed() }
}

fn sys_bpf(command: bpf_cmd, attr: &mut bpf_attr) -> io::Result<i64> {
    // SAFETY: `attr` is a valid, initialized bpf_attr of the size passed; the kernel reads and
    // writes only within it (and the buffers the caller stored in it).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command as libc::c_int,
            std::ptr::from_mut(attr),
            mem::size_of::<bpf_attr>() as libc::c_uint,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn sys_bpf_fd(command: bpf_cmd, attr: &mut bpf_attr) -> io::Result<OwnedFd> {
    let fd = sys_bpf(command, attr)?;
    // SAFETY: the commands passed here return a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with_bpf() -> bool {
        // SAFETY: geteuid has no preconditions.
        (unsafe { libc::geteuid() } == 0)
            && std::path::Path::new("/sys/kernel/btf/vmlinux").exists()
    }

    #[test]
    fn vmlinux_is_a_kernel_btf_object_and_unknown_names_are_none() {
        if !root_with_bpf() {
            eprintln!("skipped: needs root and /sys/kernel/btf");
            return;
        }
        let vmlinux = kernel_btf_object("vmlinux").unwrap().expect("vmlinux BTF");
        assert!(vmlinux.id > 0);
        assert_eq!(vmlinux.name, "vmlinux");
        assert!(kernel_btf_object("no_such_module_x").unwrap().is_none());
    }

    #[test]
    fn a_refused_program_comes_back_with_the_verifier_log() {
        if !root_with_bpf() {
            eprintln!("skipped: needs root and /sys/kernel/btf");
            return;
        }
        // `exit` without setting r0: the verifier says "R0 !read_ok".
        // SAFETY: bpf_insn is plain integers.
        let mut exit: bpf_insn = unsafe { mem::zeroed() };
        exit.code = 0x95;
        let error = program_load(&ProgramLoad {
            name: "refused",
            program_type: aya_obj::generated::bpf_prog_type::BPF_PROG_TYPE_SOCKET_FILTER as u32,
            expected_attach_type: 0,
            instructions: &[exit],
            license: c"GPL",
            btf: None,
            attach_btf_obj_fd: None,
            attach_btf_id: 0,
            fd_array: &[],
        })
        .unwrap_err();
        assert_eq!(error.source.raw_os_error(), Some(libc::EACCES));
        assert!(error.log.contains("R0 !read_ok"), "{}", error.log);
    }

    #[test]
    fn an_accepted_program_has_an_id() {
        if !root_with_bpf() {
            eprintln!("skipped: needs root and /sys/kernel/btf");
            return;
        }
        // r0 = 0; exit
        // SAFETY: bpf_insn is plain integers.
        let mut mov: bpf_insn = unsafe { mem::zeroed() };
        mov.code = 0xb7;
        let mut exit: bpf_insn = unsafe { mem::zeroed() };
        exit.code = 0x95;
        let fd = program_load(&ProgramLoad {
            name: "accepted",
            program_type: aya_obj::generated::bpf_prog_type::BPF_PROG_TYPE_SOCKET_FILTER as u32,
            expected_attach_type: 0,
            instructions: &[mov, exit],
            license: c"GPL",
            btf: None,
            attach_btf_obj_fd: None,
            attach_btf_id: 0,
            fd_array: &[],
        })
        .unwrap();
        assert!(program_id(fd.as_fd()).unwrap() > 0);
    }
}
