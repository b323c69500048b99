//! Why relocating or distilling split BTF failed.

use crate::btf::{BtfError, Kind, TypeId};

use super::writer::TooLarge;

/// Relocating split BTF from its distilled base onto vmlinux failed.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding};
/// use core_reloc::split_base::{RelocateError, relocate_split};
///
/// let mut distilled = BtfBuilder::new();
/// distilled.add_int("int", 4, IntEncoding::SIGNED);
/// let distilled = Arc::new(Btf::parse(distilled.build())?);
/// let split = Btf::parse_split(BtfBuilder::new_split(&distilled).build(), distilled)?;
/// let mut target = BtfBuilder::new();
/// target.add_int("long", 8, IntEncoding::SIGNED);
/// let target = Btf::parse(target.build())?;
/// let err = relocate_split(&split, &target).unwrap_err();
/// assert!(matches!(err, RelocateError::NoMatch { ref name, .. } if name == "int"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelocateError {
    /// The BTF to relocate has no (distilled) base.
    #[error("the BTF to relocate is not split BTF: it has no distilled base")]
    NotSplit,
    /// The relocation target is itself split BTF.
    #[error("the relocation target must be base BTF (vmlinux), not split BTF")]
    TargetIsSplit,
    /// A distilled base type has a kind a distilled base cannot hold.
    #[error(
        "distilled base type [{id}] is {kind}; a distilled base holds only INT, FLOAT, ENUM, STRUCT, UNION and FWD"
    )]
    UnexpectedDistilledKind {
        /// The distilled type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// A distilled base type has no name.
    #[error("distilled base type [{id}] ({kind}) is anonymous")]
    AnonymousDistilledType {
        /// The distilled type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// No target type matches a distilled type.
    #[error(
        "distilled base type '{name}' [{id}] ({kind}, size {size}) has no match in the target BTF"
    )]
    NoMatch {
        /// The type's name.
        name: String,
        /// The distilled type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
        /// Its size.
        size: u32,
    },
    /// Two target types match a distilled type.
    #[error(
        "distilled base type '{name}' [{id}] matches two target types of size {size}: [{first}] and [{second}]"
    )]
    MultipleMatches {
        /// The type's name.
        name: String,
        /// The distilled type.
        id: TypeId,
        /// The size both candidates have.
        size: u32,
        /// The first candidate.
        first: TypeId,
        /// The second candidate.
        second: TypeId,
    },
    /// A named target type's name is the empty string, which matches void.
    #[error("target type [{id}] has an empty name and would match void")]
    MatchesVoid {
        /// The target type.
        id: TypeId,
    },
    /// A split string offset points into the distilled base's strings, at no matched name.
    #[error(
        "split BTF string offset {offset} points into the distilled base but at no matched type name"
    )]
    StringNotMapped {
        /// The offset.
        offset: u32,
    },
    /// A split type refers to an id past the last type.
    #[error("split BTF type [{id}] refers to type id {referenced}, past the last type")]
    TypeIdOutOfRange {
        /// The referring type.
        id: TypeId,
        /// The id it refers to.
        referenced: TypeId,
    },
    /// Embedded types form a chain too long to follow.
    #[error(
        "split BTF type [{id}]: member types form a reference chain too long to follow (cycle?)"
    )]
    ReferenceCycle {
        /// The composite whose member chain was followed.
        id: TypeId,
    },
    /// A record whose fields cannot be located (unknown kind, or a layout section enlarged it).
    #[error("split BTF type [{id}] ({kind}) has a record layout relocation cannot rewrite")]
    UnsupportedRecord {
        /// The type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// The relocated split would need more type ids than 32 bits hold.
    #[error("relocated type ids overflow 32 bits")]
    TooManyTypes,
    /// The BTF could not be read.
    #[error(transparent)]
    Btf(#[from] BtfError),
}

/// Distilling a module's BTF (split on vmlinux) into a distilled base and a split on it
/// failed.
///
/// # Examples
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding};
/// use core_reloc::split_base::{DistillError, distill_base};
///
/// let mut b = BtfBuilder::new();
/// b.add_int("int", 4, IntEncoding::SIGNED);
/// let vmlinux = Btf::parse(b.build())?;
/// assert!(matches!(distill_base(&vmlinux), Err(DistillError::NotSplit)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DistillError {
    /// The BTF to distill is not split BTF.
    #[error("only split BTF can be distilled: this BTF has no base")]
    NotSplit,
    /// The split refers, directly or through base types, to a base type of a kind a distilled
    /// base cannot describe (FUNC, VAR, DATASEC, DECL_TAG).
    #[error("split BTF refers to base type [{id}] of kind {kind}, which distillation cannot carry")]
    UnexpectedBaseReference {
        /// The base type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// A named enum's size is not 1, 2, 4 or 8 bytes.
    #[error("base enum [{id}] has size {size}; a distilled enum must be 1, 2, 4 or 8 bytes")]
    BadEnumSize {
        /// The enum.
        id: TypeId,
        /// Its size.
        size: u32,
    },
    /// A split type refers to an id past the last type.
    #[error("split BTF type [{id}] refers to type id {referenced}, past the last type")]
    TypeIdOutOfRange {
        /// The referring type.
        id: TypeId,
        /// The id it refers to.
        referenced: TypeId,
    },
    /// A record whose fields cannot be located (unknown kind, or a layout section enlarged it).
    #[error("BTF type [{id}] ({kind}) has a record layout distillation cannot rewrite")]
    UnsupportedRecord {
        /// The type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// The output does not fit BTF's 32-bit fields.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// The BTF could not be read.
    #[error(transparent)]
    Btf(#[from] BtfError),
}
