//! Module-aware CO-RE relocation for eBPF objects.
//!
//! `core-reloc` reads BTF (vmlinux and split module BTF) without copying it, combines a kernel's
//! BTFs into a lazily parsed [`CompositeBtf`](crate), and computes CO-RE fixups as plain values.
//! It performs no I/O in the engine and has no dependency on aya.

pub mod btf;
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

pub use btf::{Btf, BtfBuilder, BtfError, Kind, Type, TypeId};
