#![warn(missing_docs)]
//! Module-aware CO-RE relocation for eBPF objects.
//!
//! `core-reloc` reads BTF (vmlinux and split module BTF) without copying it, combines a
//! kernel's BTFs into a lazily parsed [`CompositeBtf`], and computes CO-RE fixups as plain
//! values. It has no dependency on aya; the engine ([`relo`]) does no I/O.
//!
//! Data flows one way:
//!
//! ```text
//! ELF bytes --object--> local BTF (btf) + CO-RE records (ext) + program sections (object)
//!                                   |
//!     CompositeBtf: vmlinux + module BTFs parsed on demand (composite, relocate::select_targets)
//!                                   |
//!     engine: record -> candidates -> match -> Fixup value (relo)
//!                                   |
//!     patched copy of the ELF, .BTF.ext core_relo_len = 0 (patch, object)
//! ```
//!
//! End to end, for a kernel's `/sys/kernel/btf`:
//!
//! ```no_run
//! use core_reloc::composite::{CompositeBtf, ParseReason};
//! use core_reloc::object::BpfObject;
//! use core_reloc::relo::EngineOptions;
//! use core_reloc::relocate::{self, ModulePolicy};
//!
//! let composite = CompositeBtf::from_sys()?;
//! let bytes = std::fs::read("probe.bpf.o")?;
//! let object = BpfObject::parse(&bytes)?;
//! let local = relocate::local_btf(&object)?;
//! let policy = ModulePolicy {
//!     modules: vec![("btrfs".into(), ParseReason::Requested)],
//!     search_on_miss: true,
//!     all_modules: false,
//! };
//! let selection = relocate::select_targets(&composite, &object, &local, &policy);
//! let resolutions =
//!     relocate::resolve_object(&object, &local, &selection.targets, EngineOptions::default());
//! for resolution in &resolutions {
//!     if let Ok(resolved) = &resolution.result {
//!         println!("{} -> {:?}", resolved.access, resolved.target);
//!     }
//! }
//! let relocated = relocate::apply(&object, &resolutions)?;
//! std::fs::write("probe.relocated.o", relocated.bytes)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod btf;
pub mod bytes;
pub mod composite;
pub mod ext;
pub mod fixup;
pub mod kallsyms;
pub mod object;
pub mod origin;
pub mod patch;
pub mod relo;
pub mod relocate;

pub use composite::CompositeBtf;
pub use origin::BtfOrigin;

#[cfg(feature = "builder")]
pub use btf::BtfBuilder;
pub use btf::{Btf, BtfError, Kind, Type, TypeId};
