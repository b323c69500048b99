//! CO-RE from Rust, without C: field offsets, sizes, existence, bitfields, type sizes and enum
//! values of kernel (and kernel module) types in aya-ebpf programs, relocated at load time by
//! `core-reloc-loader`.
//!
//! rustc has no CO-RE: it cannot emit `.BTF.ext` relocation records (rust-lang RFC 3966 and
//! its implementation, `#[btf_relocatable]` / `core::btf::field_byte_offset!`, are not merged,
//! and cover offsets, sizes and existence only). This crate states each relocation in the
//! **name** of an undefined extern symbol instead, e.g.
//! `core_reloc:v1:field_byte_offset:struct:btrfs_inode:vfs_inode.i_ino`, and loads the
//! symbol's address with an `ld_imm64` inside an inline-assembly block. The loader
//! (`core_reloc_loader::Loader`, or the `core-reloc` tool) resolves the name against the
//! kernel's BTF, vmlinux and modules, exactly as it resolves `.BTF.ext` records, writes the
//! value into the instruction and removes the relocation. The format of the names is
//! specified and versioned in `core_reloc::named` (the loader's side).
//!
//! # Why inline assembly
//!
//! A value the compiler knows is wrong once relocated, and a value it may compute early can
//! reach a poisoned instruction. Each macro expands to its own volatile `asm!` block holding
//! the `ld_imm64`: the optimizer can neither fold the value (not even `== 0`), nor merge two
//! uses, nor hoist an offset above the `field_exists` test that guards it. Every use in the
//! source is one patched instruction in the object.
//!
//! # Using it
//!
//! ```toml
//! [dependencies]
//! aya-ebpf = "0.3"
//! core-reloc-ebpf = { git = "https://github.com/<this repository>", package = "core-reloc-ebpf" }
//! ```
//!
//! Build as any aya-ebpf program, with BTF (bpf-linker 0.13 or later):
//!
//! ```text
//! RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C debuginfo=2 -C link-arg=--btf" \
//!     cargo build --release --target bpfel-unknown-none -Z build-std=core
//! ```
//!
//! (`RUSTC_BOOTSTRAP=1` as for build-std: this crate uses BPF inline assembly, which is still
//! an experimental architecture for `asm!`; your crate needs no feature gate.) On the host,
//! `cargo check` (and rust-analyzer) type-check programs using the macros on stable Rust.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use aya_ebpf::{macros::kprobe, programs::ProbeContext};
//! use core_reloc_ebpf::{core_read, field_exists, field_offset, type_size};
//!
//! #[kprobe(function = "btrfs_getattr")]
//! pub fn getattr(ctx: ProbeContext) -> u32 {
//!     // btrfs_getattr(idmap, const struct path *path, ...)
//!     let Some(path) = ctx.arg::<*const u8>(1) else { return 0 };
//!     // path->dentry->d_inode, two vmlinux structs.
//!     let inode: Option<*const u8> = core_read!(path, (path, dentry), (dentry, d_inode));
//!     let Some(inode) = inode else { return 0 };
//!     // BTRFS_I(inode): container_of with the btrfs module's offset of vfs_inode.
//!     let btrfs_inode = inode.wrapping_sub(field_offset!(btrfs_inode, vfs_inode) as usize);
//!     let ino: Option<u64> = core_read!(btrfs_inode, btrfs_inode, vfs_inode.i_ino);
//!     let sectorsize: Option<u32> = core_read!(
//!         btrfs_inode,
//!         (btrfs_inode, root),
//!         (btrfs_root, fs_info),
//!         (btrfs_fs_info, sectorsize)
//!     );
//!     let has_location = field_exists!(btrfs_inode, location); // 6.1: true, 6.12: false
//!     let inode_size = type_size!(struct btrfs_inode);        // 1152 on 6.1, 1016 on 6.12
//!     0
//! }
//! ```
//!
//! Load it with `core_reloc_loader::Loader::new().load_file(...)`; `core-reloc explain OBJ`
//! prints every named relocation with the kernel type it bound to.
//!
//! # What the macros mean
//!
//! Types are named by kind and name (`struct task_struct`, `union u`, `enum pid_type`,
//! `typedef pid_t`; a bare name is a struct). Paths follow member names (`a.b.c`, anonymous
//! members looked through) and array indices (`a[2].b`). Flavors work as in C: `task_struct___v2`
//! finds `task_struct`. As for `.BTF.ext` records, all relocations of one program section with
//! the same root type bind to one kernel type.
//!
//! When the kernel lacks the type, member or enumerator: `*_exists!` give `false`,
//! `type_size!` gives 0, and the others are **poisoned** (the instruction becomes an invalid
//! call the verifier rejects if the program can reach it; the loader names the relocation).
//! Guard with `field_exists!` / `enum_value_exists!` what may be missing; the read helpers do.
//! There is no local type: the read helpers compare the kernel field's size with the Rust type
//! they read into and give `None` when they differ.
//!
//! # Relation to RFC 3966
//!
//! The RFC proposes `#[btf_relocatable]` types and `core::btf::*` intrinsics lowered to LLVM's
//! `preserve_access_index`, so rustc emits `.BTF.ext` records as clang does. Once it lands,
//! programs can move to it type by type; the loader treats both sources alike. Until then this
//! crate covers every kind that makes sense without a local type (all but `type_id_local`,
//! `type_id_target` and `type_matches`), which the RFC does not (it has no bitfields, enum
//! values or type existence).
#![no_std]
// The macros expand `asm!` in the user's crate: allow_internal_unstable spares it the gate.
#![cfg_attr(
    target_arch = "bpf",
    feature(asm_experimental_arch, allow_internal_unstable)
)]
#![cfg_attr(target_arch = "bpf", allow(internal_features, unused_features))]

use core::ffi::c_void;

#[doc(hidden)]
pub use aya_ebpf::helpers::generated::bpf_probe_read_kernel as __bpf_probe_read_kernel;

/// The symbol-name format version the macros write (see `core_reloc::named`).
pub const FORMAT_VERSION: &str = "v1";

/// One named relocation: a volatile `ld_imm64` of the symbol `$name`, which the loader
/// replaces by the value. Not for direct use: the other macros write the names.
#[doc(hidden)]
#[macro_export]
#[cfg(target_arch = "bpf")]
#[allow_internal_unstable(asm_experimental_arch)]
macro_rules! __named {
    ($name:expr) => {{
        unsafe extern "C" {
            #[link_name = $name]
            static CORE_RELOC_SYMBOL: u8;
        }
        let value: u64;
        // SAFETY: only loads the symbol's address, which the loader replaces by the value;
        // no memory is touched. Volatile (not `pure`): every use keeps its own instruction.
        unsafe {
            ::core::arch::asm!(
                "{0} = {1} ll",
                lateout(reg) value,
                sym CORE_RELOC_SYMBOL,
                options(nostack, preserves_flags)
            );
        }
        value
    }};
}

/// On other targets (`cargo check` or rust-analyzer on the host) the same symbol's address,
/// so programs type-check; they link and run only as BPF objects.
#[doc(hidden)]
#[macro_export]
#[cfg(not(target_arch = "bpf"))]
macro_rules! __named {
    ($name:expr) => {{
        unsafe extern "C" {
            #[link_name = $name]
            static CORE_RELOC_SYMBOL: u8;
        }
        ::core::hint::black_box(&raw const CORE_RELOC_SYMBOL as u64)
    }};
}

/// A field relocation: kind, type kind, type, path tokens.
#[doc(hidden)]
#[macro_export]
macro_rules! __field {
    ($kind:literal, struct $ty:ident, $($path:tt)+) => {
        $crate::__named!(concat!("core_reloc:v1:", $kind, ":struct:", stringify!($ty), ":", $(stringify!($path)),+))
    };
    ($kind:literal, union $ty:ident, $($path:tt)+) => {
        $crate::__named!(concat!("core_reloc:v1:", $kind, ":union:", stringify!($ty), ":", $(stringify!($path)),+))
    };
    ($kind:literal, typedef $ty:ident, $($path:tt)+) => {
        $crate::__named!(concat!("core_reloc:v1:", $kind, ":typedef:", stringify!($ty), ":", $(stringify!($path)),+))
    };
    ($kind:literal, $ty:ident, $($path:tt)+) => {
        $crate::__named!(concat!("core_reloc:v1:", $kind, ":struct:", stringify!($ty), ":", $(stringify!($path)),+))
    };
}

/// A type relocation: kind, type kind and type.
#[doc(hidden)]
#[macro_export]
macro_rules! __type {
    ($kind:literal, struct $ty:ident) => {
        $crate::__named!(concat!(
            "core_reloc:v1:",
            $kind,
            ":struct:",
            stringify!($ty)
        ))
    };
    ($kind:literal, union $ty:ident) => {
        $crate::__named!(concat!("core_reloc:v1:", $kind, ":union:", stringify!($ty)))
    };
    ($kind:literal, enum $ty:ident) => {
        $crate::__named!(concat!("core_reloc:v1:", $kind, ":enum:", stringify!($ty)))
    };
    ($kind:literal, typedef $ty:ident) => {
        $crate::__named!(concat!(
            "core_reloc:v1:",
            $kind,
            ":typedef:",
            stringify!($ty)
        ))
    };
    ($kind:literal, $ty:ident) => {
        $crate::__named!(concat!(
            "core_reloc:v1:",
            $kind,
            ":struct:",
            stringify!($ty)
        ))
    };
}

/// An enumerator relocation: kind, enum (or typedef of one), enumerator.
#[doc(hidden)]
#[macro_export]
macro_rules! __enumval {
    ($kind:literal, typedef $ty:ident, $value:ident) => {
        $crate::__named!(concat!(
            "core_reloc:v1:",
            $kind,
            ":typedef:",
            stringify!($ty),
            ":",
            stringify!($value)
        ))
    };
    ($kind:literal, enum $ty:ident, $value:ident) => {
        $crate::__named!(concat!(
            "core_reloc:v1:",
            $kind,
            ":enum:",
            stringify!($ty),
            ":",
            stringify!($value)
        ))
    };
    ($kind:literal, $ty:ident, $value:ident) => {
        $crate::__named!(concat!(
            "core_reloc:v1:",
            $kind,
            ":enum:",
            stringify!($ty),
            ":",
            stringify!($value)
        ))
    };
}

/// Byte offset of a field from the start of its root type, as `u64`
/// (`bpf_core_field_offset`). Poisoned when the kernel lacks the field.
///
/// # Examples
///
/// ```ignore
/// let off: u64 = core_reloc_ebpf::field_offset!(task_struct, pid);
/// let off: u64 = core_reloc_ebpf::field_offset!(struct btrfs_inode, vfs_inode.i_ino);
/// ```
#[macro_export]
macro_rules! field_offset {
    ($($args:tt)+) => { $crate::__field!("field_byte_offset", $($args)+) };
}

/// Byte size of a field, as `u64` (`bpf_core_field_size`); for a bitfield, the size of the
/// load that holds it. Poisoned when the kernel lacks the field.
///
/// # Examples
///
/// ```ignore
/// let size: u64 = core_reloc_ebpf::field_size!(task_struct, comm); // 16
/// ```
#[macro_export]
macro_rules! field_size {
    ($($args:tt)+) => { $crate::__field!("field_byte_size", $($args)+) };
}

/// Whether the kernel's type has the field, as `bool` (`bpf_core_field_exists`).
///
/// # Examples
///
/// ```ignore
/// if core_reloc_ebpf::field_exists!(btrfs_inode, location) { /* 6.1 */ }
/// ```
#[macro_export]
macro_rules! field_exists {
    ($($args:tt)+) => { $crate::__field!("field_exists", $($args)+) != 0 };
}

/// Whether the field is a signed integer (or signed enum), as `bool`. Poisoned when the
/// kernel lacks the field.
///
/// # Examples
///
/// ```ignore
/// let signed: bool = core_reloc_ebpf::field_signed!(task_struct, pid); // true
/// ```
#[macro_export]
macro_rules! field_signed {
    ($($args:tt)+) => { $crate::__field!("field_signed", $($args)+) != 0 };
}

/// Left shift that moves a bitfield to the top of a `u64` load, as `u64`
/// (`BPF_CORE_READ_BITFIELD`'s `LSHIFT_U64`). Poisoned when the kernel lacks the field.
///
/// # Examples
///
/// ```ignore
/// let lshift = core_reloc_ebpf::field_lshift!(task_struct, sched_reset_on_fork);
/// ```
#[macro_export]
macro_rules! field_lshift {
    ($($args:tt)+) => { $crate::__field!("field_lshift_u64", $($args)+) };
}

/// Right shift that brings a bitfield down after [`field_lshift!`], as `u64`.
/// Poisoned when the kernel lacks the field.
///
/// # Examples
///
/// ```ignore
/// let rshift = core_reloc_ebpf::field_rshift!(task_struct, sched_reset_on_fork); // 63
/// ```
#[macro_export]
macro_rules! field_rshift {
    ($($args:tt)+) => { $crate::__field!("field_rshift_u64", $($args)+) };
}

/// Whether the kernel has the type, as `bool` (`bpf_core_type_exists`).
///
/// # Examples
///
/// ```ignore
/// let btrfs_loaded = core_reloc_ebpf::type_exists!(struct btrfs_inode);
/// ```
#[macro_export]
macro_rules! type_exists {
    ($($args:tt)+) => { $crate::__type!("type_exists", $($args)+) != 0 };
}

/// Size of the kernel's type in bytes, as `u64`; 0 when it has none (`bpf_core_type_size`).
///
/// # Examples
///
/// ```ignore
/// let size = core_reloc_ebpf::type_size!(struct btrfs_inode); // 1152 on 6.1, 1016 on 6.12
/// ```
#[macro_export]
macro_rules! type_size {
    ($($args:tt)+) => { $crate::__type!("type_size", $($args)+) };
}

/// Whether the kernel's enum has the enumerator, as `bool` (`bpf_core_enum_value_exists`).
///
/// # Examples
///
/// ```ignore
/// let has = core_reloc_ebpf::enum_value_exists!(btrfs_map_op, BTRFS_MAP_DISCARD);
/// ```
#[macro_export]
macro_rules! enum_value_exists {
    ($($args:tt)+) => { $crate::__enumval!("enumval_exists", $($args)+) != 0 };
}

/// The enumerator's value in the kernel, as `u64` (`bpf_core_enum_value`; a signed 32-bit
/// enumerator is sign-extended). Poisoned when the kernel lacks it.
///
/// # Examples
///
/// ```ignore
/// let op = core_reloc_ebpf::enum_value!(btrfs_map_op, BTRFS_MAP_GET_READ_MIRRORS); // 3 or 2
/// ```
#[macro_export]
macro_rules! enum_value {
    ($($args:tt)+) => { $crate::__enumval!("enumval_value", $($args)+) };
}

/// Reads a field of a kernel struct through `bpf_probe_read_kernel`: `Some(value)` when the
/// kernel has the field, its size is the size of the (inferred) Rust type and the read
/// succeeds; `None` otherwise. A chain of `(type, path)` groups follows pointers, giving
/// `None` at a null one (`BPF_CORE_READ(a, b, c)`).
///
/// The first argument is any pointer (or address) to the root struct.
///
/// # Examples
///
/// ```ignore
/// let ino: Option<u64> = core_read!(btrfs_inode, btrfs_inode, vfs_inode.i_ino);
/// let tgid: Option<i32> = core_read!(task, (task_struct, real_parent), (task_struct, tgid));
/// ```
#[macro_export]
macro_rules! core_read {
    ($ptr:expr, ($($first:tt)+) $(, ($($rest:tt)+))+) => {{
        let next: ::core::option::Option<*const u8> = $crate::core_read!($ptr, $($first)+);
        match next {
            ::core::option::Option::Some(next) if !next.is_null() => {
                $crate::core_read!(next $(, ($($rest)+))+)
            }
            _ => ::core::option::Option::None,
        }
    }};
    ($ptr:expr, ($($only:tt)+)) => {
        $crate::core_read!($ptr, $($only)+)
    };
    ($ptr:expr, union $ty:ident, $($path:tt)+) => {
        $crate::read_field(
            $ptr as *const _ as *const u8,
            $crate::field_exists!(union $ty, $($path)+),
            || $crate::field_size!(union $ty, $($path)+),
            || $crate::field_offset!(union $ty, $($path)+),
        )
    };
    ($ptr:expr, struct $ty:ident, $($path:tt)+) => {
        $crate::core_read!($ptr, $ty, $($path)+)
    };
    ($ptr:expr, $ty:ident, $($path:tt)+) => {
        $crate::read_field(
            $ptr as *const _ as *const u8,
            $crate::field_exists!(struct $ty, $($path)+),
            || $crate::field_size!(struct $ty, $($path)+),
            || $crate::field_offset!(struct $ty, $($path)+),
        )
    };
}

/// Reads a bitfield (or any integer field up to 8 bytes) of a kernel struct, as
/// `BPF_CORE_READ_BITFIELD_PROBED`: `Some(value)` zero- or sign-extended to 64 bits (a signed
/// value as its two's complement), `None` when the kernel lacks the field or the read fails.
///
/// # Examples
///
/// ```ignore
/// let reset: Option<u64> = core_read_bitfield!(task, task_struct, sched_reset_on_fork);
/// ```
#[macro_export]
macro_rules! core_read_bitfield {
    ($ptr:expr, union $ty:ident, $($path:tt)+) => {
        $crate::read_bitfield(
            $ptr as *const _ as *const u8,
            $crate::field_exists!(union $ty, $($path)+),
            || $crate::Bitfield {
                offset: $crate::field_offset!(union $ty, $($path)+),
                size: $crate::field_size!(union $ty, $($path)+),
                lshift: $crate::field_lshift!(union $ty, $($path)+),
                rshift: $crate::field_rshift!(union $ty, $($path)+),
                signed: $crate::field_signed!(union $ty, $($path)+),
            },
        )
    };
    ($ptr:expr, struct $ty:ident, $($path:tt)+) => {
        $crate::core_read_bitfield!($ptr, $ty, $($path)+)
    };
    ($ptr:expr, $ty:ident, $($path:tt)+) => {
        $crate::read_bitfield(
            $ptr as *const _ as *const u8,
            $crate::field_exists!(struct $ty, $($path)+),
            || $crate::Bitfield {
                offset: $crate::field_offset!(struct $ty, $($path)+),
                size: $crate::field_size!(struct $ty, $($path)+),
                lshift: $crate::field_lshift!(struct $ty, $($path)+),
                rshift: $crate::field_rshift!(struct $ty, $($path)+),
                signed: $crate::field_signed!(struct $ty, $($path)+),
            },
        )
    };
}

/// What [`read_field`] needs after the existence check; the closures keep the relocations
/// that would be poisoned for a missing field behind that check.
///
/// `Some(value)` when `exists`, `size()` is `size_of::<T>()` and the read at `base +
/// offset()` succeeds. Used by [`core_read!`]; call it directly to read with your own offsets.
///
/// # Examples
///
/// ```ignore
/// let pid: Option<i32> = core_reloc_ebpf::read_field(task, true, || 4, || 1234);
/// ```
#[inline(always)]
pub fn read_field<T>(
    base: *const u8,
    exists: bool,
    size: impl FnOnce() -> u64,
    offset: impl FnOnce() -> u64,
) -> Option<T> {
    if !exists || size() != core::mem::size_of::<T>() as u64 {
        return None;
    }
    let at = base.wrapping_add(offset() as usize);
    // SAFETY: bpf_probe_read_kernel checks the source address itself and fails instead of
    // faulting; the destination is a local of the right size.
    unsafe { aya_ebpf::helpers::bpf_probe_read_kernel(at as *const T).ok() }
}

/// The relocated facts of a bitfield, for [`read_bitfield`].
///
/// # Examples
///
/// ```ignore
/// let bits = core_reloc_ebpf::Bitfield { offset: 8, size: 4, lshift: 60, rshift: 63, signed: false };
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Bitfield {
    /// Byte offset of the load holding the bits.
    pub offset: u64,
    /// Size of that load (1, 2, 4 or 8).
    pub size: u64,
    /// Left shift that puts the field's top bit at bit 63.
    pub lshift: u64,
    /// Right shift that brings the field down to bit 0.
    pub rshift: u64,
    /// Sign-extend instead of zero-extending.
    pub signed: bool,
}

/// Reads a bitfield: `Some(value)` when `exists`, the load size is at most 8 and the read
/// succeeds. Used by [`core_read_bitfield!`].
///
/// # Examples
///
/// ```ignore
/// let bits = core_reloc_ebpf::Bitfield { offset: 8, size: 4, lshift: 60, rshift: 63, signed: false };
/// let bit: Option<u64> = core_reloc_ebpf::read_bitfield(task, true, || bits);
/// ```
#[inline(always)]
pub fn read_bitfield(
    base: *const u8,
    exists: bool,
    field: impl FnOnce() -> Bitfield,
) -> Option<u64> {
    if !exists {
        return None;
    }
    let field = field();
    if field.size > 8 {
        return None;
    }
    let mut value: u64 = 0;
    let dst = (&mut value as *mut u64).cast::<u8>();
    // The shifts assume the load fills the low-order bytes of the u64.
    #[cfg(target_endian = "big")]
    let dst = dst.wrapping_add(8 - field.size as usize);
    // SAFETY: at most 8 bytes into the 8-byte local; the helper checks the source address.
    let result = unsafe {
        __bpf_probe_read_kernel(
            dst.cast::<c_void>(),
            field.size as u32,
            base.wrapping_add(field.offset as usize).cast::<c_void>(),
        )
    };
    if result != 0 {
        return None;
    }
    let value = value.wrapping_shl(field.lshift as u32);
    Some(if field.signed {
        ((value as i64).wrapping_shr(field.rshift as u32)) as u64
    } else {
        value.wrapping_shr(field.rshift as u32)
    })
}
