//! Where a target type comes from: vmlinux or a named module.

use std::fmt;
use std::sync::Arc;

/// The BTF a target type was found in.
///
/// Type ids of module BTF continue after vmlinux's (split BTF), so an id alone does not say
/// where a type lives; every resolved target carries its origin.
///
/// ```
/// use core_reloc::BtfOrigin;
/// assert_eq!(BtfOrigin::Vmlinux.to_string(), "vmlinux");
/// assert_eq!(BtfOrigin::module("btrfs").to_string(), "btrfs");
/// assert!(BtfOrigin::module("btrfs").is_module());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BtfOrigin {
    /// The kernel image's BTF (`/sys/kernel/btf/vmlinux`).
    Vmlinux,
    /// A module's split BTF (`/sys/kernel/btf/<name>`).
    Module(Arc<str>),
}

impl BtfOrigin {
    /// A module origin.
    pub fn module(name: &str) -> BtfOrigin {
        BtfOrigin::Module(Arc::from(name))
    }

    /// True for a module.
    pub fn is_module(&self) -> bool {
        matches!(self, BtfOrigin::Module(_))
    }

    /// The name as `/sys/kernel/btf` spells it.
    pub fn name(&self) -> &str {
        match self {
            BtfOrigin::Vmlinux => "vmlinux",
            BtfOrigin::Module(name) => name,
        }
    }
}

impl fmt::Display for BtfOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
