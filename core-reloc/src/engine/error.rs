//! Errors of the engine: every one names the relocation, its kind and its access in words.

use std::fmt;
use std::sync::Arc;

use crate::btf::{BtfError, Kind, TypeId};
use crate::ext::CoreReloKind;
use crate::fixup::RelocationSite;
use crate::target::TargetRef;

use super::explain::{AccessPath, Ambiguity, ProgramBinding};

/// An access string that does not fit the local type.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
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
    /// The local BTF itself is broken (shared: errors are cloned into every report).
    #[error(transparent)]
    Btf(Arc<BtfError>),
}

impl From<BtfError> for SpecError {
    fn from(error: BtfError) -> Self {
        SpecError::Btf(Arc::new(error))
    }
}

/// Why a relocation could not be resolved.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ReloErrorKind {
    /// The record's type id does not exist in the local BTF.
    #[error("local type: {error}")]
    LocalType {
        /// What the local BTF says.
        error: Arc<BtfError>,
    },
    /// The access string does not fit the local type.
    #[error("access string: {error}")]
    Spec {
        /// What is wrong with it.
        error: SpecError,
    },
    /// CO-RE finds candidates by name; an anonymous local type has none.
    #[error("the local type is anonymous, so it has no name to search the target for")]
    AnonymousType,
    /// Candidates tied at the best score give different results.
    #[error("{0}")]
    Ambiguous(Box<Ambiguity>),
    /// A subprogram record that two programs reach gets different values in them.
    #[error(
        "programs {} and {} share this record but bind it differently: {first}; {second}",
        .first.program,
        .second.program
    )]
    ProgramsDisagree {
        /// The first program (in section order) and what it gives.
        first: Box<ProgramBinding>,
        /// A later program that gives something else.
        second: Box<ProgramBinding>,
    },
    /// A candidate's BTF is broken where the match needs it.
    #[error("target {target}: {error}")]
    Target {
        /// The candidate.
        target: TargetRef,
        /// What is wrong with its BTF.
        error: Arc<BtfError>,
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
    #[error("{kind} cannot be applied to an array element access")]
    ArrayElementKind {
        /// The record's kind.
        kind: CoreReloKind,
    },
    /// A value that the instruction cannot hold.
    #[error("value {value} does not fit a 64-bit immediate")]
    Overflow {
        /// The value.
        value: u128,
    },
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

/// What a failed relocation accesses: the path in words when the access string fits the
/// local type, otherwise the raw access string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorAccess {
    /// The access resolved against the local type.
    Path(AccessPath),
    /// The access string as stored (it did not resolve).
    Raw(String),
}

impl fmt::Display for ErrorAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorAccess::Path(path) => write!(f, "{path}"),
            ErrorAccess::Raw(raw) => f.write_str(raw),
        }
    }
}

/// A relocation that could not be resolved, with everything needed to act on it.
///
/// ```
/// use core_reloc::engine::{ErrorAccess, ReloError, ReloErrorKind};
/// use core_reloc::ext::CoreReloKind;
/// use core_reloc::fixup::RelocationSite;
/// let error = ReloError {
///     site: RelocationSite { record_index: 0, section_index: 3, insn_index: 0 },
///     kind: CoreReloKind::FieldByteOffset,
///     access: ErrorAccess::Raw("0:9".into()),
///     reason: Box::new(ReloErrorKind::AnonymousType),
/// };
/// assert!(matches!(*error.reason, ReloErrorKind::AnonymousType));
/// assert!(error.to_string().starts_with("relocation #0 at insn #0 of section 3: byte_off of `0:9`"));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{site}: {kind} of `{access}`: {reason}")]
pub struct ReloError {
    /// Which record and instruction.
    pub site: RelocationSite,
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// The access in words (`struct btrfs_inode.vfs_inode.i_ino`), or the raw access string
    /// when it could not be resolved.
    pub access: ErrorAccess,
    /// What went wrong (boxed: errors are rare, results are many).
    pub reason: Box<ReloErrorKind>,
}
