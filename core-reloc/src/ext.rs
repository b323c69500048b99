//! Zero-copy parsing of the CO-RE relocation records in an object's `.BTF.ext` section.
//!
//! Layout (all integers in the object's byte order):
//!
//! ```text
//! header:    u16 magic (0xeB9F), u8 version (1), u8 flags (0), u32 hdr_len,
//!            u32 func_info_off, u32 func_info_len, u32 line_info_off, u32 line_info_len,
//!            [u32 core_relo_off, u32 core_relo_len]      present when hdr_len >= 32
//! core_relo: u32 record_size, then per ELF section:
//!            u32 sec_name_off, u32 num_info, num_info records of record_size bytes, each
//!            starting with u32 insn_off, u32 type_id, u32 access_str_off, u32 kind
//! ```
//!
//! Subsection offsets are relative to the end of the header. Names (`sec_name_off`,
//! `access_str_off`) are offsets into the string section of the object's `.BTF`; they are returned
//! as offsets for the caller to resolve.
//!
//! [`BtfExt::parse`] checks every bound and every record kind once, without allocating, so the
//! accessors afterwards are infallible.

use std::fmt;

use crate::bytes::{Endianness, Pod, Reader, U16, U32, endian_of_magic};

/// Magic number at the start of `.BTF` and `.BTF.ext`, in the object's byte order.
pub use crate::bytes::BTF_MAGIC as BTF_EXT_MAGIC;

/// Size of the mandatory part of the header (through `line_info_len`).
const MIN_HEADER_LEN: u32 = 24;
/// Size of a header that includes `core_relo_off` and `core_relo_len`.
const CORE_RELO_HEADER_LEN: u32 = 32;
/// Byte offset of `core_relo_len` inside the header.
const CORE_RELO_LEN_FIELD: usize = 28;
/// Size of `struct bpf_core_relo`, the smallest record we accept.
pub const CORE_RELO_MIN_RECORD_SIZE: u32 = 16;
/// Size of the `sec_name_off, num_info` pair that starts each section's records.
const SECTION_HEADER_LEN: usize = 8;

/// `struct btf_ext_header` through `line_info_len`, as it lies in the section.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct RawExtHeader {
    magic: U16<Endianness>,
    version: u8,
    flags: u8,
    hdr_len: U32<Endianness>,
    func_info_off: U32<Endianness>,
    func_info_len: U32<Endianness>,
    line_info_off: U32<Endianness>,
    line_info_len: U32<Endianness>,
}

/// `core_relo_off`, `core_relo_len`: present when `hdr_len >= 32`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct RawCoreReloRange {
    core_relo_off: U32<Endianness>,
    core_relo_len: U32<Endianness>,
}

/// The first 16 bytes of `struct bpf_core_relo` (records may be longer).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct RawCoreRelo {
    insn_off: U32<Endianness>,
    type_id: U32<Endianness>,
    access_str_off: U32<Endianness>,
    kind: U32<Endianness>,
}

// SAFETY: `repr(C)` structs of byte arrays and `u8`s: alignment 1, no padding, every bit
// pattern valid.
unsafe impl Pod for RawExtHeader {}
// SAFETY: as above.
unsafe impl Pod for RawCoreReloRange {}
// SAFETY: as above.
unsafe impl Pod for RawCoreRelo {}

const _: () = assert!(std::mem::size_of::<RawExtHeader>() == MIN_HEADER_LEN as usize);
const _: () = assert!(
    std::mem::size_of::<RawExtHeader>() + std::mem::size_of::<RawCoreReloRange>()
        == CORE_RELO_HEADER_LEN as usize
);
const _: () = assert!(std::mem::size_of::<RawCoreRelo>() == CORE_RELO_MIN_RECORD_SIZE as usize);

/// The kind of a CO-RE relocation (`enum bpf_core_relo_kind`).
///
/// ```
/// use core_reloc::ext::CoreReloKind;
/// let kind = CoreReloKind::from_raw(0).unwrap();
/// assert_eq!(kind, CoreReloKind::FieldByteOffset);
/// assert_eq!(kind.name(), "byte_off");
/// assert_eq!(kind.to_string(), "byte_off");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum CoreReloKind {
    /// Byte offset of a field (`byte_off`).
    FieldByteOffset = 0,
    /// Byte size of a field (`byte_sz`).
    FieldByteSize = 1,
    /// Whether a field exists (`field_exists`).
    FieldExists = 2,
    /// Whether a field is signed (`signed`).
    FieldSigned = 3,
    /// Left shift that isolates a bitfield in a u64 (`lshift_u64`).
    FieldLshiftU64 = 4,
    /// Right shift that isolates a bitfield in a u64 (`rshift_u64`).
    FieldRshiftU64 = 5,
    /// Type id in the object's own BTF (`local_type_id`).
    TypeIdLocal = 6,
    /// Type id in the target BTF (`target_type_id`).
    TypeIdTarget = 7,
    /// Whether a type exists in the target (`type_exists`).
    TypeExists = 8,
    /// Size of a type in the target (`type_size`).
    TypeSize = 9,
    /// Whether an enumerator exists (`enumval_exists`).
    EnumvalExists = 10,
    /// Value of an enumerator (`enumval_value`).
    EnumvalValue = 11,
    /// Whether a type matches the target's one (`type_matches`).
    TypeMatches = 12,
}

impl CoreReloKind {
    /// Every kind, in numeric order.
    pub const ALL: [CoreReloKind; 13] = [
        Self::FieldByteOffset,
        Self::FieldByteSize,
        Self::FieldExists,
        Self::FieldSigned,
        Self::FieldLshiftU64,
        Self::FieldRshiftU64,
        Self::TypeIdLocal,
        Self::TypeIdTarget,
        Self::TypeExists,
        Self::TypeSize,
        Self::EnumvalExists,
        Self::EnumvalValue,
        Self::TypeMatches,
    ];

    /// The kind with this numeric value, or `None` for values this crate does not know.
    pub fn from_raw(raw: u32) -> Option<Self> {
        Self::ALL.get(usize::try_from(raw).ok()?).copied()
    }

    /// The numeric value stored in `.BTF.ext`.
    pub fn raw(self) -> u32 {
        self as u32
    }

    /// libbpf's lower-case name of the kind, e.g. `byte_off`.
    pub fn name(self) -> &'static str {
        match self {
            Self::FieldByteOffset => "byte_off",
            Self::FieldByteSize => "byte_sz",
            Self::FieldExists => "field_exists",
            Self::FieldSigned => "signed",
            Self::FieldLshiftU64 => "lshift_u64",
            Self::FieldRshiftU64 => "rshift_u64",
            Self::TypeIdLocal => "local_type_id",
            Self::TypeIdTarget => "target_type_id",
            Self::TypeExists => "type_exists",
            Self::TypeSize => "type_size",
            Self::EnumvalExists => "enumval_exists",
            Self::EnumvalValue => "enumval_value",
            Self::TypeMatches => "type_matches",
        }
    }

    /// Field-based kinds: the access spec walks members and array elements.
    pub fn is_field_based(self) -> bool {
        matches!(
            self,
            Self::FieldByteOffset
                | Self::FieldByteSize
                | Self::FieldExists
                | Self::FieldSigned
                | Self::FieldLshiftU64
                | Self::FieldRshiftU64
        )
    }

    /// Type-based kinds: the access spec must be exactly `"0"`.
    pub fn is_type_based(self) -> bool {
        matches!(
            self,
            Self::TypeIdLocal
                | Self::TypeIdTarget
                | Self::TypeExists
                | Self::TypeSize
                | Self::TypeMatches
        )
    }

    /// Enumerator-based kinds: the access spec is the enumerator's index.
    pub fn is_enumval_based(self) -> bool {
        matches!(self, Self::EnumvalExists | Self::EnumvalValue)
    }
}

impl fmt::Display for CoreReloKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `struct bpf_core_relo` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoreRelo {
    /// Byte offset of the instruction inside its ELF section.
    pub insn_off: u32,
    /// Root type id in the object's local BTF.
    pub type_id: u32,
    /// Offset of the access spec string (e.g. `"0:1:2"`) in the `.BTF` string section.
    pub access_str_off: u32,
    /// What the instruction needs.
    pub kind: CoreReloKind,
}

/// Where a subsection lies, relative to the end of the `.BTF.ext` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubsectionRange {
    /// Offset from the end of the header.
    pub off: u32,
    /// Length in bytes.
    pub len: u32,
}

/// The decoded `.BTF.ext` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfExtHeader {
    /// Format version (always 1).
    pub version: u8,
    /// Flags (always 0).
    pub flags: u8,
    /// Header length; subsections start after it.
    pub hdr_len: u32,
    /// The `func_info` subsection.
    pub func_info: SubsectionRange,
    /// The `line_info` subsection.
    pub line_info: SubsectionRange,
    /// The `core_relo` subsection, `None` when the header is too short to describe one.
    pub core_relo: Option<SubsectionRange>,
}

/// Why a `.BTF.ext` section could not be parsed. Every variant carries the values that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtError {
    /// Fewer bytes than the fixed part of the header.
    #[error(".BTF.ext is {len} bytes, shorter than its {needed}-byte header")]
    TooShort {
        /// Bytes needed.
        needed: u32,
        /// Bytes present.
        len: usize,
    },
    /// The magic number is wrong in both byte orders.
    #[error(".BTF.ext magic is {found:#06x}, expected {BTF_EXT_MAGIC:#06x}")]
    BadMagic {
        /// The first two bytes read in the expected byte order.
        found: u16,
    },
    /// The magic number is right but in the other byte order than the ELF header's.
    #[error(".BTF.ext is in the opposite byte order of the object ({expected:?} expected)")]
    ByteOrderMismatch {
        /// The byte order of the object.
        expected: Endianness,
    },
    /// A version other than 1.
    #[error("unsupported .BTF.ext version {version}")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// Non-zero flags.
    #[error("unsupported .BTF.ext flags {flags:#x}")]
    UnsupportedFlags {
        /// The flags found.
        flags: u8,
    },
    /// `hdr_len` is smaller than the mandatory header or larger than the section.
    #[error(".BTF.ext hdr_len {hdr_len} is invalid for a {len}-byte section")]
    BadHeaderLength {
        /// The header's `hdr_len`.
        hdr_len: u32,
        /// Bytes in the section.
        len: usize,
    },
    /// A subsection extends beyond the end of the section.
    #[error(
        ".BTF.ext {name} subsection (off {off}, len {len}) exceeds the {available} bytes after the header"
    )]
    SubsectionOutOfBounds {
        /// `func_info`, `line_info` or `core_relo`.
        name: &'static str,
        /// Offset from the end of the header.
        off: u32,
        /// Length.
        len: u32,
        /// Bytes after the header.
        available: usize,
    },
    /// The `core_relo` subsection is non-empty but too short to hold its record size.
    #[error(".BTF.ext core_relo subsection of {len} bytes has no record size")]
    MissingRecordSize {
        /// Subsection length.
        len: u32,
    },
    /// The record size is smaller than `struct bpf_core_relo`.
    #[error(
        ".BTF.ext core_relo record size {record_size} is smaller than {CORE_RELO_MIN_RECORD_SIZE}"
    )]
    RecordSizeTooSmall {
        /// The record size found.
        record_size: u32,
    },
    /// The bytes left cannot hold a section's `sec_name_off, num_info` pair.
    #[error(".BTF.ext core_relo section #{section} header truncated: {available} bytes left")]
    TruncatedSectionHeader {
        /// Index of the section inside the subsection.
        section: usize,
        /// Bytes left.
        available: usize,
    },
    /// A section announces more records than the bytes left can hold.
    #[error(
        ".BTF.ext core_relo section #{section} announces {num_info} records of {record_size} bytes, only {available} bytes left"
    )]
    TruncatedRecords {
        /// Index of the section inside the subsection.
        section: usize,
        /// The announced count.
        num_info: u32,
        /// Record size.
        record_size: u32,
        /// Bytes left.
        available: usize,
    },
    /// A record has a kind this crate does not know.
    #[error(
        ".BTF.ext core_relo section #{section} record #{record}: unknown relocation kind {kind}"
    )]
    UnknownKind {
        /// Index of the section inside the subsection.
        section: usize,
        /// Index of the record inside the section.
        record: usize,
        /// The raw kind.
        kind: u32,
    },
}

/// A parsed, validated view of a `.BTF.ext` section over borrowed bytes.
///
/// ```
/// use core_reloc::ext::{BtfExt, CoreReloKind};
/// use core_reloc::bytes::Endianness;
///
/// // Header (32 bytes) with an empty func_info/line_info and a core_relo subsection of
/// // 4 + 8 + 16 bytes: record size 16, one section (name at string offset 1) with one record.
/// let mut bytes = Vec::new();
/// for word in [0x0001_eb9f_u32, 32, 0, 0, 0, 0, 0, 28, 16, 1, 1, 8, 3, 5, 0] {
///     bytes.extend_from_slice(&word.to_le_bytes());
/// }
/// let ext = BtfExt::parse(&bytes, Endianness::Little).unwrap();
/// let section = ext.core_relo_sections().next().unwrap();
/// assert_eq!(section.sec_name_off(), 1);
/// let record = section.records().next().unwrap();
/// assert_eq!((record.insn_off, record.type_id, record.access_str_off), (8, 3, 5));
/// assert_eq!(record.kind, CoreReloKind::FieldByteOffset);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BtfExt<'a> {
    data: &'a [u8],
    endian: Endianness,
    header: BtfExtHeader,
    /// The core_relo subsection after its record size; empty when there is none.
    core_relo_sections: &'a [u8],
    record_size: u32,
    section_count: usize,
    record_count: usize,
}

impl<'a> BtfExt<'a> {
    /// Parses and validates `data`, the contents of `.BTF.ext`, in the object's byte order.
    pub fn parse(data: &'a [u8], endian: Endianness) -> Result<Self, ExtError> {
        let too_short = ExtError::TooShort {
            needed: MIN_HEADER_LEN,
            len: data.len(),
        };
        let Some(found) = endian_of_magic(data) else {
            let magic = Reader::new(data, endian).u16(0).ok_or(too_short.clone())?;
            return Err(ExtError::BadMagic { found: magic });
        };
        if found != endian {
            return Err(ExtError::ByteOrderMismatch { expected: endian });
        }
        let reader = Reader::new(data, endian);
        let raw = reader.pod::<RawExtHeader>(0).ok_or(too_short)?;
        let (version, flags) = (raw.version, raw.flags);
        if version != 1 {
            return Err(ExtError::UnsupportedVersion { version });
        }
        if flags != 0 {
            return Err(ExtError::UnsupportedFlags { flags });
        }
        let hdr_len = raw.hdr_len.get(endian);
        if hdr_len < MIN_HEADER_LEN || hdr_len as usize > data.len() {
            return Err(ExtError::BadHeaderLength {
                hdr_len,
                len: data.len(),
            });
        }
        let range = |off: U32<Endianness>, len: U32<Endianness>| SubsectionRange {
            off: off.get(endian),
            len: len.get(endian),
        };
        let header = BtfExtHeader {
            version,
            flags,
            hdr_len,
            func_info: range(raw.func_info_off, raw.func_info_len),
            line_info: range(raw.line_info_off, raw.line_info_len),
            // hdr_len <= data.len() was checked, so these fields are readable.
            core_relo: (hdr_len >= CORE_RELO_HEADER_LEN)
                .then(|| reader.pod::<RawCoreReloRange>(MIN_HEADER_LEN as usize))
                .flatten()
                .map(|raw| range(raw.core_relo_off, raw.core_relo_len)),
        };

        let body = &data[hdr_len as usize..];
        subsection(body, "func_info", header.func_info)?;
        subsection(body, "line_info", header.line_info)?;
        let mut ext = BtfExt {
            data,
            endian,
            header,
            core_relo_sections: &[],
            record_size: CORE_RELO_MIN_RECORD_SIZE,
            section_count: 0,
            record_count: 0,
        };
        let Some(core_relo) = header.core_relo else {
            return Ok(ext);
        };
        let bytes = subsection(body, "core_relo", core_relo)?;
        if bytes.is_empty() {
            return Ok(ext);
        }
        let record_size = Reader::new(bytes, endian)
            .u32(0)
            .ok_or(ExtError::MissingRecordSize { len: core_relo.len })?;
        if record_size < CORE_RELO_MIN_RECORD_SIZE {
            return Err(ExtError::RecordSizeTooSmall { record_size });
        }
        ext.record_size = record_size;
        ext.core_relo_sections = &bytes[4..];
        ext.validate_core_relo_sections()?;
        Ok(ext)
    }

    /// Walks every section once: bounds and record kinds. Counts, never allocates.
    fn validate_core_relo_sections(&mut self) -> Result<(), ExtError> {
        let reader = Reader::new(self.core_relo_sections, self.endian);
        let mut at = 0usize;
        let mut section = 0usize;
        while at < self.core_relo_sections.len() {
            let available = self.core_relo_sections.len() - at;
            let (Some(_), Some(num_info)) = (reader.u32(at), reader.u32(at + 4)) else {
                return Err(ExtError::TruncatedSectionHeader { section, available });
            };
            let records_len = u64::from(num_info) * u64::from(self.record_size);
            if records_len > (available - SECTION_HEADER_LEN) as u64 {
                return Err(ExtError::TruncatedRecords {
                    section,
                    num_info,
                    record_size: self.record_size,
                    available: available - SECTION_HEADER_LEN,
                });
            }
            let records_start = at + SECTION_HEADER_LEN;
            for record in 0..num_info as usize {
                let kind_at = records_start + record * self.record_size as usize + 12;
                let kind = reader.u32(kind_at).unwrap_or(u32::MAX);
                if CoreReloKind::from_raw(kind).is_none() {
                    return Err(ExtError::UnknownKind {
                        section,
                        record,
                        kind,
                    });
                }
            }
            at = records_start + records_len as usize;
            section += 1;
            self.record_count += num_info as usize;
        }
        self.section_count = section;
        Ok(())
    }

    /// The decoded header.
    pub fn header(&self) -> &BtfExtHeader {
        &self.header
    }

    /// The byte order the section was read in.
    pub fn endian(&self) -> Endianness {
        self.endian
    }

    /// The raw bytes this view was parsed from.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The size of each core_relo record in bytes (at least 16).
    pub fn core_relo_record_size(&self) -> u32 {
        self.record_size
    }

    /// Number of per-section groups in the core_relo subsection.
    pub fn core_relo_section_count(&self) -> usize {
        self.section_count
    }

    /// Number of core_relo records over all sections.
    pub fn core_relo_count(&self) -> usize {
        self.record_count
    }

    /// Byte offset of the header's `core_relo_len` field inside the section, when the header
    /// has one. Writing 0 there hides the records from loaders that would relocate again.
    pub fn core_relo_len_field_offset(&self) -> Option<usize> {
        self.header.core_relo.map(|_| CORE_RELO_LEN_FIELD)
    }

    /// The per-section groups of CO-RE records, in file order.
    pub fn core_relo_sections(&self) -> CoreReloSections<'a> {
        CoreReloSections {
            bytes: self.core_relo_sections,
            endian: self.endian,
            record_size: self.record_size,
            at: 0,
            first_record_index: 0,
        }
    }
}

/// The records of one ELF section.
#[derive(Debug, Clone, Copy)]
pub struct CoreReloSection<'a> {
    sec_name_off: u32,
    /// Position of this section's first record among all records of the subsection.
    first_record_index: usize,
    records: &'a [u8],
    record_size: u32,
    endian: Endianness,
}

impl<'a> CoreReloSection<'a> {
    /// Offset of the ELF section's name in the `.BTF` string section.
    pub fn sec_name_off(&self) -> u32 {
        self.sec_name_off
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len() / self.record_size as usize
    }

    /// True when the section has no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Index of this section's first record counting over all sections in file order; record
    /// `i` of this section has global index `first_record_index() + i`.
    pub fn first_record_index(&self) -> usize {
        self.first_record_index
    }

    /// Record `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<CoreRelo> {
        let start = index.checked_mul(self.record_size as usize)?;
        let end = start.checked_add(self.record_size as usize)?;
        // Records beyond the first 16 bytes carry fields newer than us: skipped.
        let raw = Reader::new(self.records.get(..end)?, self.endian).pod::<RawCoreRelo>(start)?;
        let endian = self.endian;
        Some(CoreRelo {
            insn_off: raw.insn_off.get(endian),
            type_id: raw.type_id.get(endian),
            access_str_off: raw.access_str_off.get(endian),
            // Kinds were validated by BtfExt::parse.
            kind: CoreReloKind::from_raw(raw.kind.get(endian))?,
        })
    }

    /// The records in order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = CoreRelo> + 'a {
        let section = *self;
        (0..self.len()).map(move |index| {
            section
                .get(index)
                .expect("records are bounds- and kind-checked by BtfExt::parse")
        })
    }
}

/// Iterator over [`CoreReloSection`]s, from [`BtfExt::core_relo_sections`].
#[derive(Debug, Clone)]
pub struct CoreReloSections<'a> {
    bytes: &'a [u8],
    endian: Endianness,
    record_size: u32,
    at: usize,
    first_record_index: usize,
}

impl<'a> Iterator for CoreReloSections<'a> {
    type Item = CoreReloSection<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let reader = Reader::new(self.bytes, self.endian);
        let sec_name_off = reader.u32(self.at)?;
        let num_info = reader.u32(self.at + 4)? as usize;
        let start = self.at + SECTION_HEADER_LEN;
        let end = start.checked_add(num_info.checked_mul(self.record_size as usize)?)?;
        let records = self.bytes.get(start..end)?;
        self.at = end;
        let section = CoreReloSection {
            sec_name_off,
            first_record_index: self.first_record_index,
            records,
            record_size: self.record_size,
            endian: self.endian,
        };
        self.first_record_index += num_info;
        Some(section)
    }
}

/// Returns the subsection's bytes after checking it lies within `body`.
fn subsection<'a>(
    body: &'a [u8],
    name: &'static str,
    range: SubsectionRange,
) -> Result<&'a [u8], ExtError> {
    let start = range.off as usize;
    start
        .checked_add(range.len as usize)
        .and_then(|end| body.get(start..end))
        .ok_or(ExtError::SubsectionOutOfBounds {
            name,
            off: range.off,
            len: range.len,
            available: body.len(),
        })
}
