//! The BTF header (24 bytes, or 32 with the layout section) and byte-order helpers.

use std::ops::Range;

use super::error::BtfError;
use super::kind::KindLayout;

/// `BTF_MAGIC`, as a native `u16`.
pub const BTF_MAGIC: u16 = 0xeb9f;
/// Length of the original header (through `str_len`).
pub const BASE_HEADER_LEN: usize = 24;
/// Length of the header with `layout_off`/`layout_len`.
pub const LAYOUT_HEADER_LEN: usize = 32;

/// Byte order of BTF data, decided by how the magic reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Little-endian (x86-64, arm64, `bpfel`).
    Little,
    /// Big-endian (s390x, `bpfeb`).
    Big,
}

impl Endian {
    /// The byte order of the machine running this code.
    pub fn native() -> Endian {
        if cfg!(target_endian = "big") {
            Endian::Big
        } else {
            Endian::Little
        }
    }

    pub(crate) fn u16(self, bytes: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(bytes),
            Endian::Big => u16::from_be_bytes(bytes),
        }
    }

    pub(crate) fn u32(self, bytes: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(bytes),
            Endian::Big => u32::from_be_bytes(bytes),
        }
    }

    pub(crate) fn u16_bytes(self, value: u16) -> [u8; 2] {
        match self {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        }
    }

    pub(crate) fn u32_bytes(self, value: u32) -> [u8; 4] {
        match self {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        }
    }
}

/// Reads a `u32` at `offset`; `None` when out of bounds.
pub(crate) fn read_u32(endian: Endian, bytes: &[u8], offset: usize) -> Option<u32> {
    let raw = bytes.get(offset..offset.checked_add(4)?)?;
    Some(endian.u32(raw.try_into().ok()?))
}

/// A decoded and bounds-checked BTF header.
///
/// Section offsets are relative to the end of the header, as in the file; the `*_range` methods
/// give absolute byte ranges into the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Byte order of everything in the data.
    pub endian: Endian,
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
    /// Decodes and checks the header of `data`: magic (either byte order), version, header
    /// length (unknown trailing header bytes must be zero), and that every section lies inside
    /// the data without overlapping another.
    pub fn parse(data: &[u8]) -> Result<Header, BtfError> {
        if data.len() < BASE_HEADER_LEN {
            return Err(BtfError::TooShort {
                len: data.len(),
                needed: BASE_HEADER_LEN,
            });
        }
        let magic_bytes = [data[0], data[1]];
        let endian = if u16::from_le_bytes(magic_bytes) == BTF_MAGIC {
            Endian::Little
        } else if u16::from_be_bytes(magic_bytes) == BTF_MAGIC {
            Endian::Big
        } else {
            return Err(BtfError::BadMagic {
                magic: u16::from_le_bytes(magic_bytes),
            });
        };
        let version = data[2];
        if version != 1 {
            return Err(BtfError::UnsupportedVersion { version });
        }
        let flags = data[3];
        let field = |offset| read_u32(endian, data, offset).unwrap_or(0);
        let hdr_len = field(4);
        if (hdr_len as usize) < BASE_HEADER_LEN {
            return Err(BtfError::HeaderTooShort { hdr_len });
        }
        let hdr_end = hdr_len as usize;
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
                hdr_len,
                offset: known_len + pos,
            });
        }
        let header = Header {
            endian,
            version,
            flags,
            hdr_len,
            type_off: field(8),
            type_len: field(12),
            str_off: field(16),
            str_len: field(20),
            layout: if known_len == LAYOUT_HEADER_LEN && field(28) != 0 {
                Some((field(24), field(28)))
            } else {
                None
            },
        };
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
pub(crate) fn layout_entry(endian: Endian, layout: &[u8], kind: u8) -> Option<KindLayout> {
    let at = usize::from(kind) * 4;
    let entry = layout.get(at..at + 4)?;
    Some(KindLayout {
        info_size: entry[0],
        elem_size: entry[1],
        flags: endian.u16([entry[2], entry[3]]),
    })
}
