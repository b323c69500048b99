//! [`BtfBuilder`] (cargo feature `builder`): writes BTF bytes by hand, for tests of the reader and of everything built on
//! it. It checks nothing beyond what it needs to emit well-formed records, so tests can also
//! build odd or broken data on purpose.

use std::collections::HashMap;

use super::Btf;
use super::header::{BASE_HEADER_LEN, BTF_MAGIC, LAYOUT_HEADER_LEN};
use super::kind::{Kind, KindLayout, MAX_KNOWN_KIND};
use super::types::{DatasecEntry, IntEncoding, Linkage, TypeId};
use super::types::{KIND_MASK, VLEN_MASK};
use crate::bytes::{Endian, Endianness, native};

/// A struct or union member for [`BtfBuilder::add_struct`] and [`BtfBuilder::add_union`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberSpec<'n> {
    /// Member name; empty for an anonymous member.
    pub name: &'n str,
    /// Member type.
    pub type_id: TypeId,
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Bitfield width in bits, 0 for a plain member.
    pub bitfield_size: u8,
}

impl<'n> MemberSpec<'n> {
    /// A plain (non-bitfield) member.
    pub fn new(name: &'n str, type_id: TypeId, bit_offset: u32) -> MemberSpec<'n> {
        MemberSpec {
            name,
            type_id,
            bit_offset,
            bitfield_size: 0,
        }
    }

    /// A bitfield member of `bitfield_size` bits.
    pub fn bitfield(
        name: &'n str,
        type_id: TypeId,
        bit_offset: u32,
        bitfield_size: u8,
    ) -> MemberSpec<'n> {
        MemberSpec {
            name,
            type_id,
            bit_offset,
            bitfield_size,
        }
    }
}

/// Builds BTF bytes: base BTF, or split BTF continuing a base's ids and string offsets.
///
/// Each `add_*` method appends one type and returns its id; ids are handed out in order, so a
/// forward reference can use [`BtfBuilder::next_type_id`] plus an offset. Strings are
/// deduplicated.
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, Endianness, IntEncoding, Kind, MemberSpec};
///
/// let mut b = BtfBuilder::new().with_endian(Endianness::Big);
/// let uint = b.add_int("unsigned int", 4, IntEncoding::NONE);
/// let flags = b.add_struct("flags", 4, &[
///     MemberSpec::bitfield("a", uint, 0, 3),
///     MemberSpec::bitfield("b", uint, 3, 5),
/// ]);
/// let btf = Btf::parse(b.build())?;
/// let b_member = btf.type_by_id(flags)?.members().unwrap().nth(1).unwrap();
/// assert_eq!((b_member.bit_offset, b_member.bitfield_size), (3, 5));
/// assert_eq!(btf.str_at(b_member.name_offset)?, "b");
/// # Ok::<(), core_reloc::btf::BtfError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BtfBuilder {
    endian: Endianness,
    first_type_id: u32,
    strings_start: u32,
    is_split: bool,
    strings: Vec<u8>,
    string_offsets: HashMap<String, u32>,
    types: Vec<u8>,
    own_types: u32,
    layout: Option<Vec<KindLayout>>,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        BtfBuilder::new()
    }
}

impl BtfBuilder {
    /// A builder for base BTF in native byte order: ids start at 1, offset 0 is `""`.
    pub fn new() -> BtfBuilder {
        BtfBuilder {
            endian: native(),
            first_type_id: 1,
            strings_start: 0,
            is_split: false,
            strings: vec![0],
            string_offsets: HashMap::from([(String::new(), 0)]),
            types: Vec::new(),
            own_types: 0,
            layout: None,
        }
    }

    /// A builder for split BTF on `base`: ids start at `base.type_count()`, string offsets at
    /// `base.strings_end()`, byte order is the base's. The own string section starts empty;
    /// `""` maps to the base's offset 0.
    pub fn new_split(base: &Btf<'_>) -> BtfBuilder {
        BtfBuilder {
            endian: base.endian(),
            first_type_id: base.type_count(),
            strings_start: base.strings_end(),
            is_split: true,
            strings: Vec::new(),
            string_offsets: HashMap::from([(String::new(), 0)]),
            types: Vec::new(),
            own_types: 0,
            layout: None,
        }
    }

    /// Sets the byte order of the output.
    pub fn with_endian(mut self, endian: Endianness) -> BtfBuilder {
        self.endian = endian;
        self
    }

    /// Emits the 32-byte header with a layout section describing every known kind.
    pub fn with_layout(mut self) -> BtfBuilder {
        let layout = (0..=MAX_KNOWN_KIND)
            .map(|raw| {
                Kind::from_raw(raw).known_layout().unwrap_or(KindLayout {
                    info_size: 0,
                    elem_size: 0,
                    flags: 0,
                })
            })
            .collect();
        self.layout = Some(layout);
        self
    }

    /// Sets the layout entry of kind number `kind` (enabling the layout section if needed;
    /// entries in between are zero). Use with [`BtfBuilder::add_raw`] to emit kinds this reader
    /// does not know.
    pub fn set_layout_entry(&mut self, kind: u8, entry: KindLayout) {
        let layout = self.layout.get_or_insert_with(Vec::new);
        let index = usize::from(kind);
        if layout.len() <= index {
            layout.resize(
                index + 1,
                KindLayout {
                    info_size: 0,
                    elem_size: 0,
                    flags: 0,
                },
            );
        }
        layout[index] = entry;
    }

    /// The id the next added type will get.
    pub fn next_type_id(&self) -> TypeId {
        TypeId(self.first_type_id + self.own_types)
    }

    /// Adds `s` to the string section (once) and returns its offset.
    pub fn add_string(&mut self, s: &str) -> u32 {
        if let Some(&offset) = self.string_offsets.get(s) {
            return offset;
        }
        let offset = self.strings_start + self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        self.string_offsets.insert(s.to_owned(), offset);
        offset
    }

    fn u32(&mut self, value: u32) {
        let bytes = self.endian.write_u32(value);
        self.types.extend_from_slice(&bytes);
    }

    /// Appends a `btf_type` header and returns the new id; kind-specific data follows.
    fn header(
        &mut self,
        name: &str,
        kind: u8,
        kind_flag: bool,
        vlen: u32,
        size_or_type: u32,
    ) -> TypeId {
        let id = self.next_type_id();
        let name_offset = self.add_string(name);
        // The 2026 layout of `info`: vlen in bits 0..23, kind in 24..30, kind_flag in 31.
        let info =
            u32::from(kind_flag) << 31 | (u32::from(kind) & KIND_MASK) << 24 | (vlen & VLEN_MASK);
        self.u32(name_offset);
        self.u32(info);
        self.u32(size_or_type);
        self.own_types += 1;
        id
    }

    /// Appends a record of any kind number (0..=127) with arbitrary trailing bytes (kind data
    /// and elements), for kinds the reader does not know or deliberately malformed input.
    /// `vlen` keeps its low 24 bits.
    pub fn add_raw(
        &mut self,
        kind: u8,
        name: &str,
        kind_flag: bool,
        vlen: u32,
        size_or_type: u32,
        tail: &[u8],
    ) -> TypeId {
        let id = self.header(name, kind, kind_flag, vlen, size_or_type);
        self.types.extend_from_slice(tail);
        id
    }

    /// INT of `size` bytes and `size * 8` bits.
    pub fn add_int(&mut self, name: &str, size: u32, encoding: IntEncoding) -> TypeId {
        self.add_int_bits(
            name,
            size,
            encoding,
            0,
            size.saturating_mul(8).min(255) as u8,
        )
    }

    /// INT with an explicit bit offset and bit count.
    pub fn add_int_bits(
        &mut self,
        name: &str,
        size: u32,
        encoding: IntEncoding,
        bit_offset: u8,
        bits: u8,
    ) -> TypeId {
        let id = self.header(name, Kind::Int.raw(), false, 0, size);
        self.u32(u32::from(encoding.0) << 24 | u32::from(bit_offset) << 16 | u32::from(bits));
        id
    }

    /// FLOAT of `size` bytes.
    pub fn add_float(&mut self, name: &str, size: u32) -> TypeId {
        self.header(name, Kind::Float.raw(), false, 0, size)
    }

    /// PTR to `target`.
    pub fn add_ptr(&mut self, target: TypeId) -> TypeId {
        self.header("", Kind::Ptr.raw(), false, 0, target.0)
    }

    /// ARRAY of `nelems` elements of `elem`, indexed by `index`.
    pub fn add_array(&mut self, elem: TypeId, index: TypeId, nelems: u32) -> TypeId {
        let id = self.header("", Kind::Array.raw(), false, 0, 0);
        self.u32(elem.0);
        self.u32(index.0);
        self.u32(nelems);
        id
    }

    fn composite(
        &mut self,
        kind: Kind,
        name: &str,
        size: u32,
        members: &[MemberSpec<'_>],
    ) -> TypeId {
        // The kind-flag encoding is needed only when some member is a bitfield.
        let kind_flag = members.iter().any(|m| m.bitfield_size != 0);
        let id = self.header(name, kind.raw(), kind_flag, vlen_of(members.len()), size);
        for member in members {
            let name_offset = self.add_string(member.name);
            self.u32(name_offset);
            self.u32(member.type_id.0);
            let offset = if kind_flag {
                u32::from(member.bitfield_size) << 24 | (member.bit_offset & 0x00ff_ffff)
            } else {
                member.bit_offset
            };
            self.u32(offset);
        }
        id
    }

    /// STRUCT of `size` bytes. The kind flag is set when any member is a bitfield.
    pub fn add_struct(&mut self, name: &str, size: u32, members: &[MemberSpec<'_>]) -> TypeId {
        self.composite(Kind::Struct, name, size, members)
    }

    /// UNION of `size` bytes. The kind flag is set when any member is a bitfield.
    pub fn add_union(&mut self, name: &str, size: u32, members: &[MemberSpec<'_>]) -> TypeId {
        self.composite(Kind::Union, name, size, members)
    }

    /// ENUM (32-bit values; each value is truncated to its low 32 bits).
    pub fn add_enum(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i64)],
    ) -> TypeId {
        let id = self.header(name, Kind::Enum.raw(), signed, vlen_of(values.len()), size);
        for &(value_name, value) in values {
            let name_offset = self.add_string(value_name);
            self.u32(name_offset);
            self.u32(value as u32);
        }
        id
    }

    /// ENUM64 (values stored as low and high 32-bit halves).
    pub fn add_enum64(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, u64)],
    ) -> TypeId {
        let id = self.header(
            name,
            Kind::Enum64.raw(),
            signed,
            vlen_of(values.len()),
            size,
        );
        for &(value_name, value) in values {
            let name_offset = self.add_string(value_name);
            self.u32(name_offset);
            self.u32(value as u32);
            self.u32((value >> 32) as u32);
        }
        id
    }

    /// FWD declaration of a struct, or of a union when `is_union`.
    pub fn add_fwd(&mut self, name: &str, is_union: bool) -> TypeId {
        self.header(name, Kind::Fwd.raw(), is_union, 0, 0)
    }

    /// TYPEDEF `name` for `target`.
    pub fn add_typedef(&mut self, name: &str, target: TypeId) -> TypeId {
        self.header(name, Kind::Typedef.raw(), false, 0, target.0)
    }

    /// VOLATILE `target`.
    pub fn add_volatile(&mut self, target: TypeId) -> TypeId {
        self.header("", Kind::Volatile.raw(), false, 0, target.0)
    }

    /// CONST `target`.
    pub fn add_const(&mut self, target: TypeId) -> TypeId {
        self.header("", Kind::Const.raw(), false, 0, target.0)
    }

    /// RESTRICT `target`.
    pub fn add_restrict(&mut self, target: TypeId) -> TypeId {
        self.header("", Kind::Restrict.raw(), false, 0, target.0)
    }

    /// TYPE_TAG `name` on `target`.
    pub fn add_type_tag(&mut self, name: &str, target: TypeId) -> TypeId {
        self.header(name, Kind::TypeTag.raw(), false, 0, target.0)
    }

    /// DECL_TAG `name` on `target` (`component_idx` -1 for the type itself, else a member or
    /// parameter index).
    pub fn add_decl_tag(&mut self, name: &str, target: TypeId, component_idx: i32) -> TypeId {
        let id = self.header(name, Kind::DeclTag.raw(), false, 0, target.0);
        self.u32(component_idx as u32);
        id
    }

    /// FUNC `name` with prototype `proto`.
    pub fn add_func(&mut self, name: &str, proto: TypeId, linkage: Linkage) -> TypeId {
        self.header(name, Kind::Func.raw(), false, linkage.raw(), proto.0)
    }

    /// FUNC_PROTO returning `ret` with `(name, type)` parameters.
    pub fn add_func_proto(&mut self, ret: TypeId, params: &[(&str, TypeId)]) -> TypeId {
        let id = self.header(
            "",
            Kind::FuncProto.raw(),
            false,
            vlen_of(params.len()),
            ret.0,
        );
        for &(param_name, type_id) in params {
            let name_offset = self.add_string(param_name);
            self.u32(name_offset);
            self.u32(type_id.0);
        }
        id
    }

    /// VAR `name` of type `type_id`.
    pub fn add_var(&mut self, name: &str, type_id: TypeId, linkage: Linkage) -> TypeId {
        let id = self.header(name, Kind::Var.raw(), false, 0, type_id.0);
        self.u32(linkage.raw());
        id
    }

    /// DATASEC `name` of `size` bytes with the given entries.
    pub fn add_datasec(&mut self, name: &str, size: u32, entries: &[DatasecEntry]) -> TypeId {
        let id = self.header(
            name,
            Kind::Datasec.raw(),
            false,
            vlen_of(entries.len()),
            size,
        );
        for entry in entries {
            self.u32(entry.type_id.0);
            self.u32(entry.offset);
            self.u32(entry.size);
        }
        id
    }

    /// Emits the BTF bytes: header, type section, string section, then the layout section
    /// when enabled.
    pub fn build(&self) -> Vec<u8> {
        let header_len = if self.layout.is_some() {
            LAYOUT_HEADER_LEN
        } else {
            BASE_HEADER_LEN
        };
        let layout_bytes: Vec<u8> = self
            .layout
            .iter()
            .flatten()
            .flat_map(|entry| {
                let flags = self.endian.write_u16(entry.flags);
                [entry.info_size, entry.elem_size, flags[0], flags[1]]
            })
            .collect();
        let type_len = self.types.len() as u32;
        let str_len = self.strings.len() as u32;
        let mut out = Vec::with_capacity(
            header_len + self.types.len() + self.strings.len() + layout_bytes.len(),
        );
        out.extend_from_slice(&self.endian.write_u16(BTF_MAGIC));
        out.push(1); // version
        out.push(0); // flags
        for field in [header_len as u32, 0, type_len, type_len, str_len] {
            out.extend_from_slice(&self.endian.write_u32(field));
        }
        if self.layout.is_some() {
            for field in [type_len + str_len, layout_bytes.len() as u32] {
                out.extend_from_slice(&self.endian.write_u32(field));
            }
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out.extend_from_slice(&layout_bytes);
        out
    }

    /// Whether this builder continues a base.
    pub fn is_split(&self) -> bool {
        self.is_split
    }
}

/// A `vlen` for `count` elements. More than 2^24 - 1 cannot be encoded; the builder writes what
/// it is given (truncated) so tests can also make such broken records.
fn vlen_of(count: usize) -> u32 {
    count as u32 & VLEN_MASK
}
