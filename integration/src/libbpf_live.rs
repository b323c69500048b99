//! libbpf 1.7 loading an object into the running kernel: the reference loader in the guest.
//!
//! libbpf relocates CO-RE against the live kernel, searching module BTF when vmlinux has no
//! candidate, so what a program reads through libbpf is what ours must read too.

use std::ffi::{CStr, CString, c_void};
use std::path::Path;

use libbpf_sys as sys;

/// An object loaded by libbpf, with its programs attached; everything is released on drop.
pub struct LiveObject {
    object: *mut sys::bpf_object,
    links: Vec<*mut sys::bpf_link>,
}

impl LiveObject {
    /// Opens and loads `path` (relocation, verification); the error carries libbpf's errno.
    pub fn load(path: &Path) -> Result<LiveObject, String> {
        let c_path =
            CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: a NUL-terminated path; NULL options mean defaults.
        let object = unsafe { sys::bpf_object__open_file(c_path.as_ptr(), std::ptr::null()) };
        if object.is_null() {
            return Err(format!(
                "open {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            ));
        }
        let live = LiveObject {
            object,
            links: Vec::new(),
        };
        // SAFETY: `object` is a valid, opened object.
        let result = unsafe { sys::bpf_object__load(live.object) };
        if result != 0 {
            let error = std::io::Error::from_raw_os_error(-result);
            return Err(format!("load {}: {error}", path.display()));
        }
        Ok(live)
    }

    /// Attaches every program by its section name (e.g. `kprobe/btrfs_getattr`).
    pub fn attach_all(&mut self) -> Result<(), String> {
        let mut program = std::ptr::null_mut();
        loop {
            // SAFETY: iterating the programs of a valid object.
            program = unsafe { sys::bpf_object__next_program(self.object, program) };
            if program.is_null() {
                return Ok(());
            }
            // SAFETY: `program` belongs to the loaded object.
            let link = unsafe { sys::bpf_program__attach(program) };
            if link.is_null() {
                // SAFETY: libbpf returns a NUL-terminated name owned by the program.
                let name = unsafe { CStr::from_ptr(sys::bpf_program__name(program)) };
                return Err(format!(
                    "attach {}: {}",
                    name.to_string_lossy(),
                    std::io::Error::last_os_error()
                ));
            }
            self.links.push(link);
        }
    }

    /// Writes `value` at `key` of an array map.
    pub fn update(&self, map: &str, key: u32, value: &[u8]) -> Result<(), String> {
        let map_ptr = self.map(map)?;
        // SAFETY: key and value point at buffers of the given sizes; libbpf checks the sizes.
        let result = unsafe {
            sys::bpf_map__update_elem(
                map_ptr,
                (&raw const key).cast::<c_void>(),
                size_of::<u32>() as _,
                value.as_ptr().cast(),
                value.len() as _,
                0,
            )
        };
        errno_result(result, || format!("update {map}[{key}]"))
    }

    /// Reads `size` bytes at `key` of an array map.
    pub fn lookup(&self, map: &str, key: u32, size: usize) -> Result<Vec<u8>, String> {
        let map_ptr = self.map(map)?;
        let mut value = vec![0u8; size];
        // SAFETY: key and value point at buffers of the given sizes; libbpf checks the sizes.
        let result = unsafe {
            sys::bpf_map__lookup_elem(
                map_ptr,
                (&raw const key).cast::<c_void>(),
                size_of::<u32>() as _,
                value.as_mut_ptr().cast(),
                value.len() as _,
                0,
            )
        };
        errno_result(result, || format!("lookup {map}[{key}]"))?;
        Ok(value)
    }

    fn map(&self, name: &str) -> Result<*mut sys::bpf_map, String> {
        let c_name = CString::new(name).map_err(|e| e.to_string())?;
        // SAFETY: a valid object and a NUL-terminated name.
        let map = unsafe { sys::bpf_object__find_map_by_name(self.object, c_name.as_ptr()) };
        if map.is_null() {
            return Err(format!("no map {name}"));
        }
        Ok(map)
    }
}

fn errno_result(result: i32, what: impl FnOnce() -> String) -> Result<(), String> {
    if result == 0 {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            what(),
            std::io::Error::from_raw_os_error(-result)
        ))
    }
}

impl Drop for LiveObject {
    fn drop(&mut self) {
        // SAFETY: links and object were created by libbpf and are released once.
        unsafe {
            for link in self.links.drain(..) {
                sys::bpf_link__destroy(link);
            }
            sys::bpf_object__close(self.object);
        }
    }
}
