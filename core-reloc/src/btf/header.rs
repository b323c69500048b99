//! The BTF header (24 bytes, or 32 with the layout section), read in place through the crate's
//! one reader layer ([`crate::bytes`]).

use std::ops::Range;

use super::error::BtfError;
use super::kind::KindLayout;
use crate::bytes::{Endianness, Pod, Reader, U16, U32, endian_of_magic};

pub use crate::bytes::BTF_MAGIC;
/// Length of the original header (through `str_len`).
pub const BASE_HEADER_LEN: usize = 24;
/// Length of the header with `layout_off`/`layout_len`.
pub const LAYOUT_HEADER_LEN: usize = 32;

/// `struct btf_header` through `str_len`, as it lies in the data.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct RawHeader {
    magic: U16<Endianness>,
    version: u8,
    flags: u8,
    hdr_len: U32<Endianness>,
    type_off: U32<Endianness>,
    type_len: U32<Endianness>,
    str_off: U32<Endianness>,
    str_len: U32<Endianness>,
}

/// The two fields a 32-byte header adds (the 2026 layout section).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct RawLayoutFields {
    layout_off: U32<Endianness>,
    layout_len: U32<Endianness>,
}

// SAFETY: `repr(C)` structs of byte arrays and `u8`s: alignment 1, no padding, every bit
// pattern valid.
unsafe impl Pod for RawHeader {}
// SAFETY: as above.
unsafe impl Pod for RawLayoutFields {}

const _: () = assert!(std::mem::size_of::<RawHeader>() == BASE_HEADER_LEN);
const _: () = assert!(
    std::mem::size_of::<RawHeader>() + std::mem::size_of::<RawLayoutFields>() == LAYOUT_HEADER_LEN
);

/// A decoded and bounds-checked BTF header.
///
/// Section offsets are relative to the end of the header, as in the file; the `*_range` methods
/// give absolute byte ranges into the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Byte order of everything in the data.
    pub endian: Endianness,
    /// Format version (always 1).
    pub version: u8,
    /// Header flags (none are defined; kept as read).
    pub flags: u8,
    /// Declared header length.
    pub hdr_len: u32,
    /// Type section offset after the header.
    pub type_off: u32,
    /// Type section length.
    pub type_len: u32,
    /// String section offset after the header.
    pub str_off: u32,
    /// String section length.
    pub str_len: u32,
    /// Layout section `(offset after the header, length)`, when the header has one and it is
    /// not empty.
    pub layout: Option<(u32, u32)>,
}

impl Header {
    /// Decodes the header at the start of `prefix`, which need not hold more than the header
    /// (a file's first 32 bytes, say): magic (either byte order), version, and that `hdr_len`
    /// covers at least the base header. Section bounds are not checked; [`Header::parse`]
    /// does that against the whole data.
    ///
    /// ```
    /// use core_reloc::btf::{BtfBuilder, Header, IntEncoding};
    /// let mut b = BtfBuilder::new();
    /// b.add_int("int", 4, IntEncoding::SIGNED);
    /// let bytes = b.build();
    /// let header = Header::decode(&bytes[..24])?;
    /// assert_eq!(header.type_len, 16);
    /// assert_eq!(&bytes[header.str_range()], b"\0int\0");
    /// # Ok::<(), core_reloc::btf::BtfError>(())
    /// ```
    pub fn decode(prefix: &[u8]) -> Result<Header, BtfError> {
        let too_short = |needed| BtfError::TooShort {
            len: prefix.len(),
            needed,
        };
        let raw = Reader::new(prefix, Endianness::Little)
            .pod::<RawHeader>(0)
            .ok_or(too_short(BASE_HEADER_LEN))?;
        let endian = endian_of_magic(prefix).ok_or(BtfError::BadMagic {
            magic: raw.magic.get(Endianness::Little),
        })?;
        if raw.version != 1 {
            return Err(BtfError::UnsupportedVersion {
                version: raw.version,
            });
        }
        let hdr_len = raw.hdr_len.get(endian);
        if (hdr_len as usize) < BASE_HEADER_LEN {
            return Err(BtfError::HeaderTooShort { hdr_len });
        }
        let layout = if hdr_len as usize >= LAYOUT_HEADER_LEN {
            let fields = Reader::new(prefix, endian)
                .pod::<RawLayoutFields>(BASE_HEADER_LEN)
                .ok_or(too_short(hdr_len as usize))?;
            let len = fields.layout_len.get(endian);
            (len != 0).then(|| (fields.layout_off.get(endian), len))
        } else {
            None
        };
        Ok(Header {
            endian,
            version: raw.version,
            flags: raw.flags,
            hdr_len,
            type_off: raw.type_off.get(endian),
            type_len: raw.type_len.get(endian),
            str_off: raw.str_off.get(endian),
            str_len: raw.str_len.get(endian),
            layout,
        })
    }

    /// Decodes and checks the header of `data`: [`Header::decode`], then the header length
    /// (unknown trailing header bytes must be zero), and that every section lies inside the
    /// data without overlapping another.
    pub fn parse(data: &[u8]) -> Result<Header, BtfError> {
        let header = Header::decode(data)?;
        let hdr_end = header.hdr_len as usize;
        if data.len() < hdr_end {
            return Err(BtfError::TooShort {
                len: data.len(),
                needed: hdr_end,
            });
        }
        let known_len = if hdr_end >= LAYOUT_HEADER_LEN {
            LAYOUT_HEADER_LEN
        } else {
            BASE_HEADER_LEN
        };
        // Like the kernel: a newer, longer header is fine as long as we lose nothing by
        // ignoring its tail.
        if let Some(pos) = data[known_len..hdr_end].iter().position(|&b| b != 0) {
            return Err(BtfError::UnknownHeaderField {
                hdr_len: header.hdr_len,
                offset: known_len + pos,
            });
        }
        header.check_sections(data.len() - hdr_end)?;
        Ok(header)
    }

    fn check_sections(&self, available: usize) -> Result<(), BtfError> {
        if !self.type_off.is_multiple_of(4) {
            return Err(BtfError::MisalignedTypeSection {
                type_off: self.type_off,
            });
        }
        if let Some((_, len)) = self.layout
            && !len.is_multiple_of(4)
        {
            return Err(BtfError::BadLayoutSection { len });
        }
        let mut sections = vec![
            ("type", self.type_off, self.type_len),
            ("string", self.str_off, self.str_len),
        ];
        if let Some((off, len)) = self.layout {
            sections.push(("layout", off, len));
        }
        for &(section, offset, len) in &sections {
            if u64::from(offset) + u64::from(len) > available as u64 {
                return Err(BtfError::SectionOutOfBounds {
                    section,
                    offset,
                    len,
                    available,
                });
            }
        }
        for (i, &(first, off_a, len_a)) in sections.iter().enumerate() {
            for &(second, off_b, len_b) in &sections[i + 1..] {
                let (a, b) = (u64::from(off_a), u64::from(off_b));
                let overlap = len_a != 0
                    && len_b != 0
                    && a < b + u64::from(len_b)
                    && b < a + u64::from(len_a);
                if overlap {
                    return Err(BtfError::SectionsOverlap { first, second });
                }
            }
        }
        Ok(())
    }

    fn absolute(&self, offset: u32, len: u32) -> Range<usize> {
        let start = self.hdr_len as usize + offset as usize;
        start..start + len as usize
    }

    /// Byte range of the type section in the data.
    pub fn type_range(&self) -> Range<usize> {
        self.absolute(self.type_off, self.type_len)
    }

    /// Byte range of the string section in the data.
    pub fn str_range(&self) -> Range<usize> {
        self.absolute(self.str_off, self.str_len)
    }

    /// Byte range of the layout section in the data, if there is one.
    pub fn layout_range(&self) -> Option<Range<usize>> {
        self.layout.map(|(off, len)| self.absolute(off, len))
    }
}

/// Decodes layout entry `kind` from a layout section.
pub(crate) fn layout_entry(endian: Endianness, layout: &[u8], kind: u8) -> Option<KindLayout> {
    let at = usize::from(kind) * 4;
    let reader = Reader::new(layout, endian);
    Some(KindLayout {
        info_size: *layout.get(at)?,
        elem_size: *layout.get(at + 1)?,
        flags: reader.u16(at + 2)?,
    })
}
