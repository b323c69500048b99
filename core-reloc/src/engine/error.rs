//! Errors of the engine: every one names the relocation, its kind and its access in words.

use crate::btf::{BtfError, Kind, TypeId};
use crate::ext::CoreReloKind;
use crate::fixup::RelocationSite;
use crate::target::TargetRef;

/// An access string that does not fit the local type.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Not a `:`-separated list of decimal indices.
    #[error("malformed access string {0:?}")]
    Malformed(String),
    /// More than [`MAX_SPEC_LEN`](super::MAX_SPEC_LEN) elements, or nesting that deep.
    #[error("access is nested deeper than {} levels", super::MAX_SPEC_LEN)]
    TooLong,
    /// Type-based relocations must use the access string `0`.
    #[error("type-based relocation with access string {0:?} instead of \"0\"")]
    TypeBasedNotZero(String),
    /// An enumerator relocation whose type is not an enum.
    #[error("type [{0}] is not an enum")]
    NotAnEnum(TypeId),
    /// A member, element or enumerator index past the end.
    #[error("index {index} out of range for type [{id}] with {len} elements")]
    IndexOutOfRange {
        /// The indexed type.
        id: TypeId,
        /// The index.
        index: u32,
        /// How many elements there are.
        len: u32,
    },
    /// A named member whose name is empty.
    #[error("member {index} of type [{id}] has an empty name")]
    EmptyMemberName {
        /// The struct or union.
        id: TypeId,
        /// The member index.
        index: u32,
    },
    /// An index applied to something that is neither a struct, union nor array.
    #[error("type [{id}] of kind {kind} cannot be indexed")]
    NotIndexable {
        /// The type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// The local BTF itself is broken.
    #[error(transparent)]
    Btf(#[from] BtfError),
}

/// Why a relocation could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ReloErrorKind {
    /// The record's type id does not exist in the local BTF.
    #[error("local type: {0}")]
    LocalType(BtfError),
    /// The access string does not fit the local type.
    #[error("access string: {0}")]
    Spec(SpecError),
    /// CO-RE finds candidates by name; an anonymous local type has none.
    #[error("the local type is anonymous, so it has no name to search the target for")]
    AnonymousType,
    /// Two matching candidates give different results.
    #[error("ambiguous: {first} gives {first_result}, {second} gives {second_result}")]
    Ambiguous {
        /// The first matching candidate.
        first: TargetRef,
        /// What it gives.
        first_result: String,
        /// A later candidate that disagrees.
        second: TargetRef,
        /// What that one gives.
        second_result: String,
    },
    /// A candidate's BTF is broken where the match needs it.
    #[error("target {target}: {source}")]
    Target {
        /// The candidate.
        target: TargetRef,
        /// What is wrong with its BTF.
        source: BtfError,
    },
    /// A bitfield that no load of at most 8 bytes can hold.
    #[error("bitfield at bit {bit_offset} with {bit_size} bits cannot be read with one load")]
    BitfieldTooWide {
        /// Bit offset of the field in the root type.
        bit_offset: u64,
        /// Its width in bits.
        bit_size: u32,
    },
    /// Only `byte_off` and `byte_sz` apply to an array element access.
    #[error("{0} cannot be applied to an array element access")]
    ArrayElementKind(CoreReloKind),
    /// A value that the instruction cannot hold.
    #[error("value {0} does not fit a 64-bit immediate")]
    Overflow(u128),
    /// A spec accessor that does not name a member or enumerator of its type.
    #[error("spec accessor {index} does not exist in type [{id}]")]
    InconsistentSpec {
        /// The type.
        id: TypeId,
        /// The accessor's index.
        index: u32,
    },
    /// `target_type_id` resolved to a module type while the caller asked for strictness.
    #[error(
        "target_type_id resolved to {target}: a module-numbered id, which means nothing without the module's BTF object"
    )]
    ModuleTypeId {
        /// The module type.
        target: TargetRef,
    },
}

/// A relocation that could not be resolved, with everything needed to act on it.
#[derive(Debug, thiserror::Error)]
#[error("{site}: {kind} of `{access}`: {reason}")]
pub struct ReloError {
    /// Which record and instruction.
    pub site: RelocationSite,
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// The access in words (`struct btrfs_inode.vfs_inode.i_ino`), or the raw access string
    /// when it could not be resolved.
    pub access: String,
    /// What went wrong (boxed: errors are rare, results are many).
    pub reason: Box<ReloErrorKind>,
}
