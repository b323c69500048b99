//! Borrowed views of type records. Nothing here copies or allocates: every accessor decodes the
//! few bytes it needs from the record each time it is called.

use std::fmt;
use std::marker::PhantomData;

use super::kind::Kind;
use crate::bytes::{Endianness, read_u32};

/// Size of `struct btf_type`: name_off, info, size/type.
pub(crate) const TYPE_HEADER_LEN: usize = 12;
/// `vlen`: bits 0..23 of `info`.
pub(crate) const VLEN_MASK: u32 = 0x00ff_ffff;
/// `kind`: bits 24..30 of `info`, after shifting right by 24.
pub(crate) const KIND_MASK: u32 = 0x7f;

/// A BTF type id. Id 0 is `void`; in a split BTF, ids continue after the base's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TypeId(pub u32);

impl TypeId {
    /// The id of `void`.
    pub const VOID: TypeId = TypeId(0);
}

impl fmt::Display for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u32> for TypeId {
    fn from(id: u32) -> TypeId {
        TypeId(id)
    }
}

/// One type, borrowed from the BTF data it was read from.
///
/// The kind-specific accessors (`int`, `array`, `members`, ...) return `None` when the type is
/// of another kind, so a caller can match on [`Type::kind`] or simply try the accessor it needs.
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, Kind, MemberSpec};
///
/// let mut b = BtfBuilder::new();
/// let int = b.add_int("int", 4, IntEncoding::SIGNED);
/// let s = b.add_struct("pair", 8, &[
///     MemberSpec::new("a", int, 0),
///     MemberSpec::new("b", int, 32),
/// ]);
/// let btf = Btf::parse(b.build())?;
/// let ty = btf.type_by_id(s)?;
/// assert_eq!(ty.kind(), Kind::Struct);
/// assert_eq!(ty.size(), Some(8));
/// let offsets: Vec<u32> = ty.members().unwrap().map(|m| m.bit_offset).collect();
/// assert_eq!(offsets, [0, 32]);
/// # Ok::<(), core_reloc::btf::BtfError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Type<'b> {
    id: TypeId,
    kind: Kind,
    endian: Endianness,
    /// The whole record (12-byte header, kind data, elements); empty for void.
    record: &'b [u8],
    info_size: u8,
    elem_size: u8,
}

impl fmt::Debug for Type<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Type")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name_offset", &self.name_offset())
            .field("vlen", &self.vlen())
            .field("kind_flag", &self.kind_flag())
            .field("size_or_type", &self.size_or_type())
            .finish()
    }
}

impl<'b> Type<'b> {
    /// A view of a record whose length the caller has checked against `info_size`, `elem_size`
    /// and `vlen`.
    pub(crate) fn new(
        id: TypeId,
        kind: Kind,
        endian: Endianness,
        record: &'b [u8],
        info_size: u8,
        elem_size: u8,
    ) -> Type<'b> {
        Type {
            id,
            kind,
            endian,
            record,
            info_size,
            elem_size,
        }
    }

    pub(crate) fn void(endian: Endianness) -> Type<'static> {
        Type {
            id: TypeId::VOID,
            kind: Kind::Void,
            endian,
            record: &[],
            info_size: 0,
            elem_size: 0,
        }
    }

    fn u32_at(&self, offset: usize) -> u32 {
        read_u32(self.endian, self.record, offset).unwrap_or(0)
    }

    /// The type's id.
    pub fn id(&self) -> TypeId {
        self.id
    }

    /// The type's kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Offset of the name in the string sections; resolve it with
    /// [`Btf::str_at`](super::Btf::str_at) or use [`Btf::name`](super::Btf::name).
    pub fn name_offset(&self) -> u32 {
        self.u32_at(0)
    }

    /// The raw `info` word.
    pub fn info(&self) -> u32 {
        self.u32_at(4)
    }

    /// Number of elements (members, enumerators, params, datasec entries; linkage for FUNC):
    /// bits 0..23 of `info` (the 2026 UAPI; 16 bits before).
    pub fn vlen(&self) -> u32 {
        self.info() & VLEN_MASK
    }

    /// The kind flag: bitfield encoding for struct/union, signedness for enums, union for fwd,
    /// attribute for decl/type tags.
    pub fn kind_flag(&self) -> bool {
        self.info() >> 31 != 0
    }

    /// The raw `size`/`type` union.
    pub fn size_or_type(&self) -> u32 {
        self.u32_at(8)
    }

    /// The byte size, for kinds that have one (int, struct, union, enum, enum64, datasec,
    /// float). Use [`Btf::resolved_size`](super::Btf::resolved_size) for any sized type.
    pub fn size(&self) -> Option<u32> {
        self.kind.has_size().then(|| self.size_or_type())
    }

    /// The referenced type, for pointers, modifiers, typedefs, funcs (their prototype), vars,
    /// tags, and function prototypes (the return type).
    pub fn type_ref(&self) -> Option<TypeId> {
        self.kind
            .has_type_ref()
            .then(|| TypeId(self.size_or_type()))
    }

    /// The kind-specific bytes after the 12-byte header.
    pub fn data(&self) -> &'b [u8] {
        let end = TYPE_HEADER_LEN + usize::from(self.info_size);
        self.record.get(TYPE_HEADER_LEN..end).unwrap_or(&[])
    }

    /// The whole record as it appears in the type section (empty for void).
    pub fn record(&self) -> &'b [u8] {
        self.record
    }

    fn elements<T>(&self, decode: fn(Endianness, &[u8], bool) -> T) -> Elements<'b, T> {
        let start = TYPE_HEADER_LEN + usize::from(self.info_size);
        Elements {
            endian: self.endian,
            bytes: self.record.get(start..).unwrap_or(&[]),
            stride: usize::from(self.elem_size),
            front: 0,
            back: self.vlen() as usize,
            kind_flag: self.kind_flag(),
            decode,
            marker: PhantomData,
        }
    }

    /// Encoding, bit offset and bit count of an INT.
    pub fn int(&self) -> Option<IntInfo> {
        (self.kind == Kind::Int).then(|| {
            let raw = read_u32(self.endian, self.data(), 0).unwrap_or(0);
            IntInfo {
                size: self.size_or_type(),
                encoding: IntEncoding(((raw >> 24) & 0x0f) as u8),
                offset: ((raw >> 16) & 0xff) as u8,
                bits: (raw & 0xff) as u8,
            }
        })
    }

    /// Element type, index type and element count of an ARRAY.
    pub fn array(&self) -> Option<ArrayInfo> {
        (self.kind == Kind::Array).then(|| {
            let data = self.data();
            ArrayInfo {
                elem_type: TypeId(read_u32(self.endian, data, 0).unwrap_or(0)),
                index_type: TypeId(read_u32(self.endian, data, 4).unwrap_or(0)),
                nelems: read_u32(self.endian, data, 8).unwrap_or(0),
            }
        })
    }

    /// Members of a STRUCT or UNION, bitfields decoded according to the kind flag.
    pub fn members(&self) -> Option<Members<'b>> {
        self.kind
            .is_composite()
            .then(|| self.elements(decode_member))
    }

    /// Enumerators of an ENUM or ENUM64; values are widened to 64 bits following the enum's
    /// signedness (kind flag), so an unsigned 32-bit `0x80000000` stays `0x80000000`.
    pub fn enum_values(&self) -> Option<EnumValues<'b>> {
        match self.kind {
            Kind::Enum => Some(self.elements(decode_enum32)),
            Kind::Enum64 => Some(self.elements(decode_enum64)),
            _ => None,
        }
    }

    /// Whether an ENUM/ENUM64 is signed (kind flag); `None` for other kinds.
    pub fn enum_is_signed(&self) -> Option<bool> {
        self.kind.is_enum().then(|| self.kind_flag())
    }

    /// Parameters of a FUNC_PROTO. The return type is [`Type::type_ref`]. A final parameter
    /// with type id 0 and no name means `...`.
    pub fn params(&self) -> Option<Params<'b>> {
        (self.kind == Kind::FuncProto).then(|| self.elements(decode_param))
    }

    /// Linkage of a FUNC (stored in `vlen`) or VAR (stored after the header).
    pub fn linkage(&self) -> Option<Linkage> {
        match self.kind {
            Kind::Func => Some(Linkage::from_raw(self.vlen())),
            Kind::Var => Some(Linkage::from_raw(
                read_u32(self.endian, self.data(), 0).unwrap_or(0),
            )),
            _ => None,
        }
    }

    /// Variables of a DATASEC, with offsets and sizes.
    pub fn datasec_entries(&self) -> Option<DatasecEntries<'b>> {
        (self.kind == Kind::Datasec).then(|| self.elements(decode_datasec))
    }

    /// The component index of a DECL_TAG: -1 for the type itself, otherwise a member or
    /// parameter index. The tagged type is [`Type::type_ref`].
    pub fn decl_tag_component(&self) -> Option<i32> {
        (self.kind == Kind::DeclTag)
            .then(|| read_u32(self.endian, self.data(), 0).unwrap_or(0) as i32)
    }

    /// For a FWD: whether it declares a union (kind flag) rather than a struct.
    pub fn fwd_is_union(&self) -> Option<bool> {
        (self.kind == Kind::Fwd).then(|| self.kind_flag())
    }
}

/// Encoding bits of an INT (`BTF_INT_SIGNED`, `BTF_INT_CHAR`, `BTF_INT_BOOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IntEncoding(pub u8);

impl IntEncoding {
    /// No encoding bits: unsigned.
    pub const NONE: IntEncoding = IntEncoding(0);
    /// `BTF_INT_SIGNED`.
    pub const SIGNED: IntEncoding = IntEncoding(1);
    /// `BTF_INT_CHAR`.
    pub const CHAR: IntEncoding = IntEncoding(2);
    /// `BTF_INT_BOOL`.
    pub const BOOL: IntEncoding = IntEncoding(4);

    /// Whether the signed bit is set.
    pub fn is_signed(self) -> bool {
        self.0 & 1 != 0
    }
    /// Whether the char bit is set.
    pub fn is_char(self) -> bool {
        self.0 & 2 != 0
    }
    /// Whether the bool bit is set.
    pub fn is_bool(self) -> bool {
        self.0 & 4 != 0
    }
}

/// The kind-specific word of an INT, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntInfo {
    /// Byte size (the header's size field).
    pub size: u32,
    /// Encoding bits.
    pub encoding: IntEncoding,
    /// Bit offset (legacy; 0 in practice).
    pub offset: u8,
    /// Number of value bits.
    pub bits: u8,
}

/// The kind-specific data of an ARRAY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayInfo {
    /// Element type.
    pub elem_type: TypeId,
    /// Index type.
    pub index_type: TypeId,
    /// Number of elements.
    pub nelems: u32,
}

/// A STRUCT/UNION member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Offset of the name in the string sections (0 for an anonymous member).
    pub name_offset: u32,
    /// Type of the member.
    pub type_id: TypeId,
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Bitfield width in bits; 0 when the member is not a bitfield (or the struct does not use
    /// the kind-flag encoding, in which case the member type itself may be a bit-sized INT).
    pub bitfield_size: u8,
}

/// An enumerator of an ENUM or ENUM64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumValue {
    /// Offset of the name in the string sections.
    pub name_offset: u32,
    /// The value's 64 bits, sign- or zero-extended per `signed` for 32-bit enums.
    pub value: u64,
    /// Whether the enum is signed (kind flag).
    pub signed: bool,
}

impl EnumValue {
    /// The value as a signed integer.
    pub fn as_i64(&self) -> i64 {
        self.value as i64
    }
    /// The value's low 32 bits.
    pub fn lo32(&self) -> u32 {
        self.value as u32
    }
    /// The value's high 32 bits.
    pub fn hi32(&self) -> u32 {
        (self.value >> 32) as u32
    }
}

/// A FUNC_PROTO parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Offset of the name (0 when unnamed).
    pub name_offset: u32,
    /// Type of the parameter (0 for a trailing `...`).
    pub type_id: TypeId,
}

/// A DATASEC entry (`struct btf_var_secinfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasecEntry {
    /// The VAR (or FUNC) placed in the section.
    pub type_id: TypeId,
    /// Offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// Linkage of a FUNC or VAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    /// `static`.
    Static,
    /// Global.
    Global,
    /// `extern`.
    Extern,
    /// A value this reader does not know.
    Other(u32),
}

impl Linkage {
    /// Decodes a raw linkage value.
    pub fn from_raw(raw: u32) -> Linkage {
        match raw {
            0 => Linkage::Static,
            1 => Linkage::Global,
            2 => Linkage::Extern,
            other => Linkage::Other(other),
        }
    }
    /// The raw value.
    pub fn raw(self) -> u32 {
        match self {
            Linkage::Static => 0,
            Linkage::Global => 1,
            Linkage::Extern => 2,
            Linkage::Other(raw) => raw,
        }
    }
}

fn decode_member(endian: Endianness, elem: &[u8], kind_flag: bool) -> Member {
    let offset = read_u32(endian, elem, 8).unwrap_or(0);
    let (bit_offset, bitfield_size) = if kind_flag {
        (offset & 0x00ff_ffff, (offset >> 24) as u8)
    } else {
        (offset, 0)
    };
    Member {
        name_offset: read_u32(endian, elem, 0).unwrap_or(0),
        type_id: TypeId(read_u32(endian, elem, 4).unwrap_or(0)),
        bit_offset,
        bitfield_size,
    }
}

fn decode_enum32(endian: Endianness, elem: &[u8], signed: bool) -> EnumValue {
    let raw = read_u32(endian, elem, 4).unwrap_or(0);
    EnumValue {
        name_offset: read_u32(endian, elem, 0).unwrap_or(0),
        value: if signed {
            i64::from(raw as i32) as u64
        } else {
            u64::from(raw)
        },
        signed,
    }
}

fn decode_enum64(endian: Endianness, elem: &[u8], signed: bool) -> EnumValue {
    let lo = read_u32(endian, elem, 4).unwrap_or(0);
    let hi = read_u32(endian, elem, 8).unwrap_or(0);
    EnumValue {
        name_offset: read_u32(endian, elem, 0).unwrap_or(0),
        value: u64::from(hi) << 32 | u64::from(lo),
        signed,
    }
}

fn decode_param(endian: Endianness, elem: &[u8], _: bool) -> Param {
    Param {
        name_offset: read_u32(endian, elem, 0).unwrap_or(0),
        type_id: TypeId(read_u32(endian, elem, 4).unwrap_or(0)),
    }
}

fn decode_datasec(endian: Endianness, elem: &[u8], _: bool) -> DatasecEntry {
    DatasecEntry {
        type_id: TypeId(read_u32(endian, elem, 0).unwrap_or(0)),
        offset: read_u32(endian, elem, 4).unwrap_or(0),
        size: read_u32(endian, elem, 8).unwrap_or(0),
    }
}

/// Iterator over the `vlen` elements of a type, decoding each on the fly.
/// Also indexable with [`Elements::get`].
pub struct Elements<'b, T> {
    endian: Endianness,
    bytes: &'b [u8],
    stride: usize,
    front: usize,
    back: usize,
    kind_flag: bool,
    decode: fn(Endianness, &[u8], bool) -> T,
    marker: PhantomData<T>,
}

impl<T> Clone for Elements<'_, T> {
    fn clone(&self) -> Self {
        Elements { ..*self }
    }
}

impl<T> fmt::Debug for Elements<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Elements")
            .field("remaining", &(self.back - self.front))
            .finish()
    }
}

/// Members of a struct or union.
pub type Members<'b> = Elements<'b, Member>;
/// Enumerators of an enum or enum64.
pub type EnumValues<'b> = Elements<'b, EnumValue>;
/// Parameters of a function prototype.
pub type Params<'b> = Elements<'b, Param>;
/// Entries of a datasec.
pub type DatasecEntries<'b> = Elements<'b, DatasecEntry>;

impl<T> Elements<'_, T> {
    /// Element `index` (counting from the start, regardless of iteration so far).
    pub fn get(&self, index: usize) -> Option<T> {
        if index > VLEN_MASK as usize {
            return None;
        }
        let start = index.checked_mul(self.stride)?;
        let elem = self.bytes.get(start..start.checked_add(self.stride)?)?;
        Some((self.decode)(self.endian, elem, self.kind_flag))
    }
}

impl<T> Iterator for Elements<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.front >= self.back {
            return None;
        }
        let item = self.get(self.front);
        self.front += 1;
        if item.is_none() {
            // Only reachable if a record was shorter than its vlen claims; stop cleanly.
            self.front = self.back;
        }
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.back - self.front;
        (remaining, Some(remaining))
    }
}

// Exact because parsing checked that every record holds all `vlen` elements.
impl<T> ExactSizeIterator for Elements<'_, T> {}

impl<T> DoubleEndedIterator for Elements<'_, T> {
    fn next_back(&mut self) -> Option<T> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        let item = self.get(self.back);
        if item.is_none() {
            self.back = self.front;
        }
        item
    }
}
