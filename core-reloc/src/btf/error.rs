//! The error type of the BTF reader.

use super::TypeId;
use super::kind::Kind;

/// Everything that can go wrong while parsing or reading BTF.
///
/// Each variant says what was wrong and where (byte offset, type id, kind), so that a broken
/// module BTF can be reported precisely instead of as a generic "invalid BTF".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    /// The data is shorter than the part of the header that was being read.
    #[error("BTF data is {len} bytes, too short for the {needed}-byte header")]
    TooShort {
        /// Length of the data.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// The first two bytes are not 0xeB9F in either byte order.
    #[error("bad BTF magic {magic:#06x} (expected 0xeb9f in either byte order)")]
    BadMagic {
        /// The magic as read in little-endian order.
        magic: u16,
    },
    /// The header's version is not 1.
    #[error("unsupported BTF version {version} (only version 1 is known)")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// `hdr_len` is smaller than the 24-byte base header.
    #[error("BTF hdr_len {hdr_len} is smaller than the minimal header of 24 bytes")]
    HeaderTooShort {
        /// The declared header length.
        hdr_len: u32,
    },
    /// `hdr_len` is larger than the headers this reader knows and the extra bytes are not zero.
    #[error("BTF header has unknown non-zero byte at offset {offset} (hdr_len {hdr_len})")]
    UnknownHeaderField {
        /// The declared header length.
        hdr_len: u32,
        /// Offset of the first non-zero unknown byte.
        offset: usize,
    },
    /// A section (`type`, `string` or `layout`) does not lie inside the data.
    #[error(
        "BTF {section} section at offset {offset} with length {len} exceeds the {available} bytes after the header"
    )]
    SectionOutOfBounds {
        /// Section name.
        section: &'static str,
        /// Offset relative to the end of the header.
        offset: u32,
        /// Declared length.
        len: u32,
        /// Bytes available after the header.
        available: usize,
    },
    /// Two sections overlap.
    #[error("BTF {first} and {second} sections overlap")]
    SectionsOverlap {
        /// One section.
        first: &'static str,
        /// The other section.
        second: &'static str,
    },
    /// The type section does not start on a 4-byte boundary.
    #[error("BTF type section offset {type_off} is not 4-byte aligned")]
    MisalignedTypeSection {
        /// The type section offset.
        type_off: u32,
    },
    /// The layout section length is not a multiple of the 4-byte entry size.
    #[error("BTF layout section length {len} is not a multiple of 4")]
    BadLayoutSection {
        /// The layout section length.
        len: u32,
    },
    /// The string section is malformed.
    #[error("BTF string section is invalid: {reason}")]
    BadStringSection {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A type record runs past the end of the type section.
    #[error(
        "BTF type [{id}] ({kind}) at type-section offset {offset} needs {needed} bytes, only {available} remain"
    )]
    TruncatedType {
        /// Id the type would have.
        id: TypeId,
        /// Kind of the type.
        kind: Kind,
        /// Offset of the record in the type section.
        offset: usize,
        /// Bytes the record needs.
        needed: u64,
        /// Bytes left in the type section.
        available: usize,
    },
    /// A type of a kind this reader does not know, and no layout section to skip it.
    #[error(
        "BTF type [{id}] at type-section offset {offset} has unknown kind {kind} and there is no layout entry to skip it"
    )]
    UnknownKind {
        /// Id of the type.
        id: TypeId,
        /// Offset of the record in the type section.
        offset: usize,
        /// Raw kind number.
        kind: u8,
    },
    /// The layout section describes a known kind as smaller than this reader expects.
    #[error(
        "BTF layout entry for {kind} (info_sz {info_size}, elem_sz {elem_size}) is smaller than the known layout (info_sz {expected_info_size}, elem_sz {expected_elem_size})"
    )]
    LayoutMismatch {
        /// The kind.
        kind: Kind,
        /// `info_sz` in the layout section.
        info_size: u8,
        /// `elem_sz` in the layout section.
        elem_size: u8,
        /// `info_sz` this reader expects.
        expected_info_size: u8,
        /// `elem_sz` this reader expects.
        expected_elem_size: u8,
    },
    /// There are more types than fit in a 32-bit type id.
    #[error("BTF has more types than 32-bit type ids can number")]
    TooManyTypes,
    /// A split BTF and its base have different byte orders.
    #[error("split BTF byte order differs from its base")]
    EndianMismatch,
    /// A string offset points outside the string sections.
    #[error("BTF string offset {offset} is out of bounds (strings end at {end})")]
    StringOutOfBounds {
        /// The offset asked for.
        offset: u32,
        /// One past the last valid offset.
        end: u32,
    },
    /// A string is not NUL-terminated within its section.
    #[error("BTF string at offset {offset} is not NUL-terminated")]
    UnterminatedString {
        /// The offset of the string.
        offset: u32,
    },
    /// A string is not valid UTF-8.
    #[error("BTF string at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// The offset of the string.
        offset: u32,
    },
    /// A type id is not below [`Btf::type_count`](super::Btf::type_count).
    #[error("BTF type id {id} is out of range (type count {count})")]
    TypeIdOutOfRange {
        /// The id asked for.
        id: TypeId,
        /// Number of ids (void included).
        count: u32,
    },
    /// A type has a kind that the operation does not accept.
    #[error("BTF type [{id}] is {found}, expected {expected}")]
    UnexpectedKind {
        /// The type.
        id: TypeId,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: Kind,
    },
    /// A size was asked of a type that has none (void, func, fwd, ...).
    #[error("BTF type [{id}] ({kind}) has no size")]
    NotSized {
        /// The type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// A chain of references was longer than the depth limit (likely a cycle).
    #[error("BTF type [{id}]: reference chain longer than {limit} (cycle?)")]
    DepthLimit {
        /// The type where resolution started.
        id: TypeId,
        /// The limit.
        limit: u32,
    },
    /// A computed size does not fit in the 32 bits of a BTF size.
    #[error("BTF type [{id}]: size overflows")]
    SizeOverflow {
        /// The type.
        id: TypeId,
    },
}
