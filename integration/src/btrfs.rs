//! Ground truth about btrfs from user space (ioctls, statfs, sysfs), to compare with what the
//! eBPF programs read from kernel structs.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `statfs.f_type` of a btrfs filesystem.
pub const BTRFS_SUPER_MAGIC: i64 = 0x9123_683e;
/// Subvolume id of the top-level subvolume.
pub const TOP_LEVEL_SUBVOLUME_ID: u64 = 5;
/// Inode number of every subvolume's root directory (`BTRFS_FIRST_FREE_OBJECTID`).
pub const SUBVOLUME_ROOT_INO: u64 = 256;

const BTRFS_IOCTL_MAGIC: u64 = 0x94;
const BTRFS_PATH_NAME_MAX: usize = 4087;

/// `struct btrfs_ioctl_vol_args`.
#[repr(C)]
struct VolArgs {
    fd: i64,
    name: [u8; BTRFS_PATH_NAME_MAX + 1],
}

/// `struct btrfs_ioctl_ino_lookup_args`.
#[repr(C)]
struct InoLookupArgs {
    treeid: u64,
    objectid: u64,
    name: [u8; 4080],
}

/// `_IOC(dir, 0x94, nr, size)` as the kernel's asm-generic/ioctl.h computes it.
const fn btrfs_ioc(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | (BTRFS_IOCTL_MAGIC << 8) | nr
}
const IOC_WRITE: u64 = 1;
const IOC_READ_WRITE: u64 = 3;
const BTRFS_IOC_SUBVOL_CREATE: u64 = btrfs_ioc(IOC_WRITE, 14, size_of::<VolArgs>());
const BTRFS_IOC_INO_LOOKUP: u64 = btrfs_ioc(IOC_READ_WRITE, 18, size_of::<InoLookupArgs>());

/// The `f_type` and `f_bsize` of the filesystem holding `path`.
pub fn statfs(path: &Path) -> io::Result<(i64, i64)> {
    let c_path = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: zeroed statfs is a valid out-buffer; c_path is NUL-terminated.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c_path.as_ptr(), &mut buf) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((buf.f_type as i64, buf.f_bsize as i64))
}

/// The id of the subvolume holding `path` (`BTRFS_IOC_INO_LOOKUP`, as `btrfs inspect rootid`).
pub fn subvolume_id(path: &Path) -> io::Result<u64> {
    let file = File::open(path)?;
    let mut args = InoLookupArgs {
        treeid: 0,
        objectid: SUBVOLUME_ROOT_INO,
        name: [0; 4080],
    };
    // SAFETY: args has the layout the ioctl expects and outlives the call.
    let result = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            BTRFS_IOC_INO_LOOKUP as _,
            &mut args as *mut InoLookupArgs,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(args.treeid)
}

/// Creates subvolume `name` in directory `parent` unless it exists; returns its path.
pub fn ensure_subvolume(parent: &Path, name: &str) -> io::Result<PathBuf> {
    let path = parent.join(name);
    if path.exists() {
        return Ok(path);
    }
    if name.len() > BTRFS_PATH_NAME_MAX || name.contains('/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad subvolume name",
        ));
    }
    let directory = File::open(parent)?;
    let mut args = VolArgs {
        fd: 0,
        name: [0; BTRFS_PATH_NAME_MAX + 1],
    };
    args.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: args has the layout the ioctl expects and outlives the call.
    let result = unsafe {
        libc::ioctl(
            directory.as_raw_fd(),
            BTRFS_IOC_SUBVOL_CREATE as _,
            &args as *const VolArgs,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(path)
}

/// `/sys/fs/btrfs/<fsid>/<attribute>` of the only mounted btrfs filesystem.
pub fn sysfs_attribute(attribute: &str) -> io::Result<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/sys/fs/btrfs")? {
        let path = entry?.path().join(attribute);
        // The directory also holds `features` and others without the attribute.
        if path.exists() {
            found.push(std::fs::read_to_string(path)?.trim().to_string());
        }
    }
    match found.as_slice() {
        [value] => Ok(value.clone()),
        _ => Err(io::Error::other(format!(
            "expected one mounted btrfs with {attribute}, found {}",
            found.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_kernel_headers() {
        assert_eq!(BTRFS_IOC_SUBVOL_CREATE, 0x5000_940e);
        assert_eq!(BTRFS_IOC_INO_LOOKUP, 0xd000_9412);
    }
}
