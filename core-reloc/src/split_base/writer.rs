//! A writer of raw BTF: records appended in order, strings deduplicated by content, and the
//! 24-byte header libbpf writes (`type_off` 0, strings right after the types).

use std::collections::HashMap;

use crate::btf::{Endianness, TypeId};

/// Raw BTF under construction: base BTF (strings start with the empty string at offset 0)
/// or split BTF (string offsets and type ids continue after a base's).
///
/// # Examples
///
/// ```
/// use core_reloc::btf::{Btf, Endianness, Kind};
/// use core_reloc::split_base::RawBtfWriter;
///
/// let mut w = RawBtfWriter::new_base(Endianness::Little);
/// let name = w.add_str(b"int")?;
/// // BTF_KIND_INT, 4 bytes, signed, 32 bits.
/// let mut record = Vec::new();
/// for word in [name, 1 << 24, 4, 1 << 24 | 32] {
///     record.extend_from_slice(&word.to_le_bytes());
/// }
/// let id = w.push_record(&record)?;
/// let btf = Btf::parse(w.finish()?)?;
/// assert_eq!(btf.find_by_name_kind("int", Kind::Int), Some(id));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawBtfWriter {
    endian: Endianness,
    types: Vec<u8>,
    /// Start of each record in `types`.
    records: Vec<usize>,
    first_type_id: u32,
    strings: Vec<u8>,
    strings_start: u32,
    index: HashMap<Vec<u8>, u32>,
}

/// The BTF being written does not fit the format's 32-bit fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the BTF written would exceed 32-bit {what}")]
pub struct TooLarge {
    /// What overflowed: type ids, the type section or string offsets.
    pub what: &'static str,
}

impl RawBtfWriter {
    /// Base BTF: ids start at 1, the string section with the empty string.
    pub fn new_base(endian: Endianness) -> RawBtfWriter {
        let mut index = HashMap::new();
        index.insert(Vec::new(), 0);
        RawBtfWriter {
            endian,
            types: Vec::new(),
            records: Vec::new(),
            first_type_id: 1,
            strings: vec![0],
            strings_start: 0,
            index,
        }
    }

    /// Split BTF on a base with `base_type_count` ids (void included) and `base_strings_len`
    /// bytes of strings; the split's string section starts empty, as libbpf's does.
    pub fn new_split(
        endian: Endianness,
        base_type_count: u32,
        base_strings_len: u32,
    ) -> RawBtfWriter {
        RawBtfWriter {
            endian,
            types: Vec::new(),
            records: Vec::new(),
            first_type_id: base_type_count,
            strings: Vec::new(),
            strings_start: base_strings_len,
            index: HashMap::new(),
        }
    }

    /// The offset of `s` if this writer's own strings hold it.
    pub fn find_str(&self, s: &[u8]) -> Option<u32> {
        self.index.get(s).copied()
    }

    /// The offset of `s` (without NUL), adding it when new.
    pub fn add_str(&mut self, s: &[u8]) -> Result<u32, TooLarge> {
        if let Some(offset) = self.find_str(s) {
            return Ok(offset);
        }
        let offset = u32::try_from(self.strings.len())
            .ok()
            .and_then(|local| local.checked_add(self.strings_start))
            .filter(|offset| offset.checked_add(s.len() as u32 + 1).is_some())
            .ok_or(TooLarge {
                what: "string offsets",
            })?;
        self.strings.extend_from_slice(s);
        self.strings.push(0);
        self.index.insert(s.to_vec(), offset);
        Ok(offset)
    }

    /// Appends a record (already in this writer's byte order) and returns its id.
    pub fn push_record(&mut self, record: &[u8]) -> Result<TypeId, TooLarge> {
        let id = u32::try_from(self.records.len())
            .ok()
            .and_then(|count| count.checked_add(self.first_type_id))
            .ok_or(TooLarge { what: "type ids" })?;
        if self.types.len() + record.len() > u32::MAX as usize {
            return Err(TooLarge {
                what: "type section length",
            });
        }
        self.records.push(self.types.len());
        self.types.extend_from_slice(record);
        Ok(TypeId(id))
    }

    /// Number of ids valid after this writer's types: the next id to be written.
    pub fn type_count(&self) -> u32 {
        self.first_type_id + self.records.len() as u32
    }

    /// One past this writer's last string offset (a split on it starts its strings here).
    pub fn strings_end(&self) -> u32 {
        self.strings_start + self.strings.len() as u32
    }

    /// The byte order written.
    pub fn endian(&self) -> Endianness {
        self.endian
    }

    /// The records written so far, mutable (e.g. to rewrite type ids once all are known).
    pub(crate) fn records_mut(&mut self) -> impl Iterator<Item = &mut [u8]> {
        let mut rest: &mut [u8] = &mut self.types;
        let mut starts = self.records.clone();
        starts.push(rest.len());
        let lens: Vec<usize> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        lens.into_iter().map(move |len| {
            let (record, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            record
        })
    }

    /// The raw BTF: header, type section, string section.
    pub fn finish(self) -> Result<Vec<u8>, TooLarge> {
        let type_len = self.types.len() as u32;
        let str_len = u32::try_from(self.strings.len()).map_err(|_| TooLarge {
            what: "string section length",
        })?;
        let e = self.endian;
        let mut out = Vec::with_capacity(24 + self.types.len() + self.strings.len());
        out.extend_from_slice(&u16_bytes(e, crate::btf::BTF_MAGIC));
        out.extend_from_slice(&[1, 0]);
        for word in [24, 0, type_len, type_len, str_len] {
            out.extend_from_slice(&u32_bytes(e, word));
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        Ok(out)
    }
}

/// Reads the `u32` at `at` of `bytes` in `endian` (the caller checked the bounds).
pub(crate) fn get_u32(endian: Endianness, bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    match endian {
        Endianness::Little => u32::from_le_bytes(word),
        Endianness::Big => u32::from_be_bytes(word),
    }
}

/// Writes `value` at `at` of `bytes` in `endian` (the caller checked the bounds).
pub(crate) fn put_u32(endian: Endianness, bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&u32_bytes(endian, value));
}

/// `value` in `endian`'s byte order.
pub(crate) fn u32_bytes(endian: Endianness, value: u32) -> [u8; 4] {
    match endian {
        Endianness::Little => value.to_le_bytes(),
        Endianness::Big => value.to_be_bytes(),
    }
}

fn u16_bytes(endian: Endianness, value: u16) -> [u8; 2] {
    match endian {
        Endianness::Little => value.to_le_bytes(),
        Endianness::Big => value.to_be_bytes(),
    }
}
