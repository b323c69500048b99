//! What the BTF provider hands the engine: a target BTF with its origin, and a type in it.
//!
//! Both [`composite`](crate::composite) (which produces targets) and [`engine`](crate::engine)
//! (which searches them) use these, so they live below both.

use std::fmt;

use crate::BtfOrigin;
use crate::btf::{Btf, TypeId};

/// A target BTF and where it comes from.
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder};
/// use core_reloc::target::TargetBtf;
/// use core_reloc::BtfOrigin;
/// let btf = Btf::parse(BtfBuilder::new().build())?;
/// let target = TargetBtf { origin: &BtfOrigin::Vmlinux, btf: &btf };
/// assert_eq!(target.origin.name(), "vmlinux");
/// # Ok::<(), core_reloc::btf::BtfError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TargetBtf<'t> {
    /// vmlinux or the module's name.
    pub origin: &'t BtfOrigin,
    /// Its parsed BTF (a module's is split on vmlinux).
    pub btf: &'t Btf<'t>,
}

/// A target type the engine considered: where it lives and which id it has there.
///
/// ```
/// use core_reloc::btf::TypeId;
/// use core_reloc::target::TargetRef;
/// use core_reloc::BtfOrigin;
/// let target = TargetRef { origin: BtfOrigin::module("btrfs"), id: TypeId(112813) };
/// assert_eq!(target.to_string(), "[112813] in btrfs");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetRef {
    /// vmlinux or the module.
    pub origin: BtfOrigin,
    /// The id, numbered as in that BTF (module ids continue after vmlinux's).
    pub id: TypeId,
}

impl fmt::Display for TargetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] in {}", self.id, self.origin)
    }
}
