#![warn(missing_docs)]
//! Module-aware CO-RE relocation for eBPF objects.
//!
//! `core-reloc` reads BTF (vmlinux and split module BTF) without copying it, combines a
//! kernel's BTFs into a lazily parsed [`CompositeBtf`], and computes CO-RE fixups as plain
//! values. It has no dependency on aya; the engine ([`engine`]) does no I/O.
//!
//! Data flows one way:
//!
//! ```text
//! ELF bytes --object--> local BTF (btf) + CO-RE records (ext) + program sections (object)
//!                       + named relocations: extern `core_reloc:` symbols of ld_imm64s (named)
//!                                   |
//!     CompositeBtf: vmlinux + module BTFs parsed on demand (composite, pipeline::select_targets)
//!                                   |
//!     programs: entry section + called .text subprograms (callgraph)
//!                                   |
//!     engine: per program, local type -> one candidate -> Fixup values (engine)
//!                                   |
//!     patched copy of the ELF, .BTF.ext core_relo_len = 0 (patch, object),
//!     named ld_imm64s written and their relocation entries removed (named::elf)
//! ```
//!
//! Named relocations are CO-RE for compilers without it (Rust): see [`named`] for the symbol
//! format and `core-reloc/ebpf` (crate `core-reloc-ebpf`) for the macros that write them.
//!
//! End to end, for a kernel's `/sys/kernel/btf`:
//!
//! ```no_run
//! use core_reloc::composite::CompositeBtf;
//! use core_reloc::object::BpfObject;
//! use core_reloc::engine::EngineOptions;
//! use core_reloc::pipeline::{self, AttachModule, ModulePolicy};
//!
//! let composite = CompositeBtf::from_sys()?;
//! let bytes = std::fs::read("probe.bpf.o")?;
//! let object = BpfObject::parse(&bytes)?;
//! let local = pipeline::local_btf(&object)?;
//! let policy = ModulePolicy {
//!     attach_targets: vec![AttachModule {
//!         section: "kprobe/btrfs_getattr".into(),
//!         module: "btrfs".into(),
//!         symbol: "btrfs_getattr".into(),
//!     }],
//!     search_on_miss: true,
//!     ..ModulePolicy::default()
//! };
//! let selection = pipeline::select_targets(&composite, &object, &local, &policy)?;
//! let resolutions = pipeline::resolve_object(
//!     &object,
//!     &local,
//!     &selection.targets,
//!     &policy.attach_targets,
//!     EngineOptions::default(),
//! )?;
//! for resolution in &resolutions {
//!     if let Ok(resolved) = &resolution.result {
//!         println!("{} -> {:?}", resolved.access, resolved.target);
//!     }
//! }
//! let relocated = pipeline::apply(&object, &resolutions)?;
//! std::fs::write("probe.relocated.o", relocated.bytes)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod btf;
pub mod btf_dump;
pub mod btf_file;
pub mod bytes;
pub mod callgraph;
pub mod composite;
pub mod engine;
pub mod ext;
pub mod fixup;
pub mod kallsyms;
pub mod named;
pub mod object;
pub mod origin;
pub mod patch;
pub mod pipeline;
pub mod split_base;
pub mod target;
#[cfg(test)]
mod test_elf;

pub use composite::CompositeBtf;
pub use origin::BtfOrigin;

#[cfg(feature = "builder")]
pub use btf::BtfBuilder;
pub use btf::{Btf, BtfError, Kind, Type, TypeId};
