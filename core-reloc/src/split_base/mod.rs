//! Distilled base BTF (`.BTF.base`): distilling a module's split BTF so that it no longer
//! depends on one vmlinux's type ids, and relocating such a split onto any vmlinux.
//!
//! Since Linux 6.11, out-of-tree modules carry a `.BTF.base` section: a distilled base of the
//! few vmlinux types their `.BTF` refers to (named ints, floats, forward declarations,
//! memberless structs and unions with their sizes, sized enums). When the module loads, the
//! kernel matches those against the running vmlinux and rewrites the split's ids and string
//! offsets. [`distill_base`] and [`relocate_split`] do the same, with libbpf's
//! `btf__distill_base` and `btf__relocate` semantics, on raw BTF.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, Kind, MemberSpec};
//! use core_reloc::split_base::{distill_base, relocate_split};
//!
//! let mut vmlinux = BtfBuilder::new();
//! let int = vmlinux.add_int("int", 4, IntEncoding::SIGNED);
//! let vmlinux = Arc::new(Btf::parse(vmlinux.build())?);
//! let mut module = BtfBuilder::new_split(&vmlinux);
//! module.add_struct("m", 4, &[MemberSpec::new("x", int, 0)]);
//! let module = Btf::parse_split(module.build(), vmlinux.clone())?;
//!
//! let distilled = distill_base(&module)?;
//! let base = Arc::new(Btf::parse(distilled.base)?);
//! let split = Btf::parse_split(distilled.split, base)?;
//! // Relocated back onto the vmlinux it was distilled from: `m.x` is vmlinux's `int` again.
//! let relocated = Btf::parse_split(relocate_split(&split, &vmlinux)?, vmlinux)?;
//! let m = relocated.find_by_name_kind("m", Kind::Struct).unwrap();
//! assert_eq!(relocated.type_by_id(m)?.members().unwrap().next().unwrap().type_id, int);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod distill;
mod error;
mod fields;
mod relocate;
mod writer;

pub use distill::{DistilledBtf, distill_base};
pub use error::{DistillError, RelocateError};
pub use relocate::{relocate_module_btf, relocate_split};
pub use writer::{RawBtfWriter, TooLarge};
