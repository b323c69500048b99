//! The one reader layer under every format this crate decodes (BTF, `.BTF.ext`, ELF sections,
//! BPF instructions): one byte-order type, [`Endianness`] (the `object` crate's, which the ELF
//! side already uses), `#[repr(C)]` headers of `object::endian` fields read in place, and
//! bounds-checked reads at byte offsets. Nothing here allocates or copies.
//!
//! ```
//! use core_reloc::bytes::{Endianness, endian_of_magic, BTF_MAGIC};
//! assert_eq!(endian_of_magic(&[0x9f, 0xeb, 1, 0]), Some(Endianness::Little));
//! assert_eq!(endian_of_magic(&BTF_MAGIC.to_be_bytes()), Some(Endianness::Big));
//! assert_eq!(endian_of_magic(&[0x7f, b'E']), None);
//! ```

pub use object::Endianness;
pub(crate) use object::endian::{Endian, U16, U32};
pub(crate) use object::pod::Pod;

/// `BTF_MAGIC`, which both `.BTF` and `.BTF.ext` start with, in the data's byte order.
pub const BTF_MAGIC: u16 = 0xeb9f;

/// The byte order in which the first two bytes of `data` read as [`BTF_MAGIC`]; `None` when
/// they read as it in neither (or `data` is shorter than two bytes).
pub fn endian_of_magic(data: &[u8]) -> Option<Endianness> {
    let magic: [u8; 2] = data.get(..2)?.try_into().ok()?;
    if u16::from_le_bytes(magic) == BTF_MAGIC {
        Some(Endianness::Little)
    } else if u16::from_be_bytes(magic) == BTF_MAGIC {
        Some(Endianness::Big)
    } else {
        None
    }
}

/// The byte order of the machine running this code.
#[cfg(feature = "builder")]
pub(crate) fn native() -> Endianness {
    Endianness::default()
}

/// Bounds-checked reads from borrowed bytes in one byte order; every read is `None` past the
/// end rather than a panic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    endian: Endianness,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8], endian: Endianness) -> Reader<'a> {
        Reader { data, endian }
    }

    fn array<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.data.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    pub(crate) fn u16(&self, at: usize) -> Option<u16> {
        Some(self.endian.read_u16(self.array(at)?))
    }

    pub(crate) fn u32(&self, at: usize) -> Option<u32> {
        Some(self.endian.read_u32(self.array(at)?))
    }

    pub(crate) fn i16(&self, at: usize) -> Option<i16> {
        Some(self.endian.read_i16(self.array(at)?))
    }

    pub(crate) fn i32(&self, at: usize) -> Option<i32> {
        Some(self.endian.read_i32(self.array(at)?))
    }

    /// The `#[repr(C)]` header or record `T` at byte `at`, read in place.
    pub(crate) fn pod<T: Pod>(&self, at: usize) -> Option<&'a T> {
        object::pod::from_bytes::<T>(self.data.get(at..)?)
            .ok()
            .map(|(value, _)| value)
    }
}

/// A `u32` at `at` of `bytes` in byte order `endian`; `None` when out of bounds.
pub(crate) fn read_u32(endian: Endianness, bytes: &[u8], at: usize) -> Option<u32> {
    Reader::new(bytes, endian).u32(at)
}
