//! libbpf 1.7's `btf__distill_base` and `btf__relocate` on raw BTF: the reference our
//! `core_reloc::split_base` is compared with.

use std::ffi::c_void;

use libbpf_sys as sys;

/// An owned libbpf `struct btf`.
struct LibbpfBtf(*mut sys::btf);

impl Drop for LibbpfBtf {
    fn drop(&mut self) {
        // SAFETY: the pointer came from a libbpf constructor and is freed once.
        unsafe { sys::btf__free(self.0) }
    }
}

impl LibbpfBtf {
    fn new(data: &[u8], base: Option<&LibbpfBtf>) -> Result<LibbpfBtf, i32> {
        let len = u32::try_from(data.len()).map_err(|_| -libc::E2BIG)?;
        // SAFETY: libbpf copies `data`; `base` outlives the split (callers keep it alive).
        let btf = unsafe {
            match base {
                Some(base) => sys::btf__new_split(data.as_ptr().cast::<c_void>(), len, base.0),
                None => sys::btf__new(data.as_ptr().cast::<c_void>(), len),
            }
        };
        // SAFETY: libbpf_get_error reads the error encoded in a returned pointer.
        let err = unsafe { sys::libbpf_get_error(btf.cast::<c_void>()) };
        if btf.is_null() || err != 0 {
            return Err(if err != 0 { err as i32 } else { -libc::EINVAL });
        }
        Ok(LibbpfBtf(btf))
    }

    fn raw(&self) -> Vec<u8> {
        let mut size = 0u32;
        // SAFETY: the returned buffer is owned by the btf and valid for `size` bytes.
        unsafe {
            let data = sys::btf__raw_data(self.0, &mut size);
            std::slice::from_raw_parts(data.cast::<u8>(), size as usize).to_vec()
        }
    }
}

/// libbpf's distilled `(base, split)` of `split` (module BTF) on `base` (vmlinux BTF), or the
/// negative errno libbpf returned.
pub fn distill(split: &[u8], base: &[u8]) -> Result<(Vec<u8>, Vec<u8>), i32> {
    let base = LibbpfBtf::new(base, None)?;
    let split = LibbpfBtf::new(split, Some(&base))?;
    let mut new_base = std::ptr::null_mut();
    let mut new_split = std::ptr::null_mut();
    // SAFETY: all pointers are valid; on success libbpf hands us two new btf objects.
    let err = unsafe { sys::btf__distill_base(split.0, &mut new_base, &mut new_split) };
    if err != 0 {
        return Err(err);
    }
    let (new_base, new_split) = (LibbpfBtf(new_base), LibbpfBtf(new_split));
    let out = (new_base.raw(), new_split.raw());
    // The split refers to its base: free it first.
    drop(new_split);
    drop(new_base);
    Ok(out)
}

/// libbpf's relocation of `split` (on the distilled base `distilled`) onto `target`
/// (vmlinux BTF), as raw split BTF, or the negative errno libbpf returned.
pub fn relocate(split: &[u8], distilled: &[u8], target: &[u8]) -> Result<Vec<u8>, i32> {
    let distilled = LibbpfBtf::new(distilled, None)?;
    let target = LibbpfBtf::new(target, None)?;
    let split = LibbpfBtf::new(split, Some(&distilled))?;
    // SAFETY: both btf objects are valid; after success the split's base is `target`.
    let err = unsafe { sys::btf__relocate(split.0, target.0) };
    if err != 0 {
        return Err(err);
    }
    Ok(split.raw())
}
