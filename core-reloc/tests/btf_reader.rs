//! The BTF reader against BTF written by `BtfBuilder`, with expectations computed by hand.

use std::sync::Arc;

use core_reloc::btf::{
    Btf, BtfBuilder, BtfBytes, BtfError, DatasecEntry, Endianness, IntEncoding, Kind, KindLayout,
    Linkage, LoadMethod, MemberSpec, TypeId,
};

/// One type of every kind (and a few more), ids as in the comments.
fn every_kind_btf(endian: Endianness, with_layout: bool) -> Vec<u8> {
    let mut b = BtfBuilder::new().with_endian(endian);
    if with_layout {
        b = b.with_layout();
    }
    let int = b.add_int("int", 4, IntEncoding::SIGNED); // 1
    let ptr = b.add_ptr(int); // 2
    let arr = b.add_array(int, int, 3); // 3
    let s = b.add_struct(
        "s",
        16,
        &[
            MemberSpec::new("a", int, 0),
            MemberSpec::bitfield("bf", int, 32, 3),
            MemberSpec::new("p", ptr, 64),
        ],
    ); // 4
    b.add_union(
        "u",
        12,
        &[MemberSpec::new("x", int, 0), MemberSpec::new("y", arr, 0)],
    ); // 5
    b.add_enum("e", 4, true, &[("NEG", -1), ("POS", 7)]); // 6
    b.add_fwd("fu", true); // 7
    let td = b.add_typedef("td", int); // 8
    let vol = b.add_volatile(td); // 9
    b.add_const(vol); // 10
    b.add_restrict(ptr); // 11
    let proto = b.add_func_proto(int, &[("x", int), ("", TypeId::VOID)]); // 12
    b.add_func("f", proto, Linkage::Global); // 13
    let var = b.add_var("v", int, Linkage::Static); // 14
    b.add_datasec(
        ".data",
        4,
        &[DatasecEntry {
            type_id: var,
            offset: 0,
            size: 4,
        }],
    ); // 15
    b.add_float("double", 8); // 16
    b.add_decl_tag("tag", s, 1); // 17
    b.add_type_tag("user", int); // 18
    b.add_enum64(
        "e64",
        8,
        false,
        &[("BIG", 0x1_0000_0002), ("TOP", u64::MAX)],
    ); // 19
    b.add_enum("ue", 4, false, &[("HIGH", 0x8000_0000)]); // 20
    b.build()
}

fn check_every_kind(btf: &Btf<'_>) -> Result<(), BtfError> {
    assert_eq!(btf.type_count(), 21);
    assert_eq!(btf.own_type_count(), 20);
    let kinds: Vec<Kind> = btf.types().map(|t| t.kind()).collect();
    use Kind::*;
    assert_eq!(
        kinds,
        [
            Int, Ptr, Array, Struct, Union, Enum, Fwd, Typedef, Volatile, Const, Restrict,
            FuncProto, Func, Var, Datasec, Float, DeclTag, TypeTag, Enum64, Enum
        ]
    );
    for (index, ty) in btf.types().enumerate() {
        assert_eq!(ty.id(), TypeId(index as u32 + 1));
    }

    let int = btf.type_by_id(TypeId(1))?;
    let info = int.int().unwrap();
    assert_eq!((info.size, info.bits, info.offset), (4, 32, 0));
    assert!(info.encoding.is_signed() && !info.encoding.is_char());
    assert_eq!(btf.name(&int)?, "int");

    assert_eq!(btf.type_by_id(TypeId(2))?.type_ref(), Some(TypeId(1)));
    let arr = btf.type_by_id(TypeId(3))?.array().unwrap();
    assert_eq!(
        (arr.elem_type, arr.index_type, arr.nelems),
        (TypeId(1), TypeId(1), 3)
    );

    let s = btf.type_by_id(TypeId(4))?;
    assert!(s.kind_flag(), "bitfield member sets the kind flag");
    let members: Vec<_> = s.members().unwrap().collect();
    assert_eq!(members.len(), 3);
    assert_eq!(btf.str_at(members[1].name_offset)?, "bf");
    assert_eq!((members[1].bit_offset, members[1].bitfield_size), (32, 3));
    assert_eq!((members[2].bit_offset, members[2].bitfield_size), (64, 0));
    assert_eq!(members[2].type_id, TypeId(2));
    assert_eq!(s.members().unwrap().get(2), Some(members[2]));
    assert_eq!(s.members().unwrap().next_back(), Some(members[2]));
    assert_eq!(s.members().unwrap().len(), 3);

    let u = btf.type_by_id(TypeId(5))?;
    assert!(!u.kind_flag());
    assert_eq!(u.members().unwrap().nth(1).unwrap().type_id, TypeId(3));

    let e = btf.type_by_id(TypeId(6))?;
    assert_eq!(e.enum_is_signed(), Some(true));
    let values: Vec<i64> = e.enum_values().unwrap().map(|v| v.as_i64()).collect();
    assert_eq!(values, [-1, 7]);

    assert_eq!(btf.type_by_id(TypeId(7))?.fwd_is_union(), Some(true));
    assert_eq!(btf.type_by_id(TypeId(8))?.type_ref(), Some(TypeId(1)));
    assert_eq!(btf.type_by_id(TypeId(10))?.type_ref(), Some(TypeId(9)));
    assert_eq!(btf.type_by_id(TypeId(11))?.type_ref(), Some(TypeId(2)));

    let proto = btf.type_by_id(TypeId(12))?;
    assert_eq!(proto.type_ref(), Some(TypeId(1)), "return type");
    let params: Vec<_> = proto.params().unwrap().collect();
    assert_eq!(params.len(), 2);
    assert_eq!(btf.str_at(params[0].name_offset)?, "x");
    assert_eq!(
        (params[1].name_offset, params[1].type_id),
        (0, TypeId::VOID)
    );

    let f = btf.type_by_id(TypeId(13))?;
    assert_eq!(
        (f.type_ref(), f.linkage()),
        (Some(TypeId(12)), Some(Linkage::Global))
    );
    let v = btf.type_by_id(TypeId(14))?;
    assert_eq!(
        (v.type_ref(), v.linkage()),
        (Some(TypeId(1)), Some(Linkage::Static))
    );
    let ds = btf.type_by_id(TypeId(15))?;
    assert_eq!(btf.name(&ds)?, ".data");
    let entries: Vec<_> = ds.datasec_entries().unwrap().collect();
    assert_eq!(
        entries,
        [DatasecEntry {
            type_id: TypeId(14),
            offset: 0,
            size: 4
        }]
    );
    assert_eq!(btf.type_by_id(TypeId(16))?.size(), Some(8));
    let tag = btf.type_by_id(TypeId(17))?;
    assert_eq!(
        (tag.type_ref(), tag.decl_tag_component()),
        (Some(TypeId(4)), Some(1))
    );
    assert_eq!(btf.type_by_id(TypeId(18))?.type_ref(), Some(TypeId(1)));

    let e64 = btf.type_by_id(TypeId(19))?;
    let values: Vec<_> = e64.enum_values().unwrap().collect();
    assert_eq!(values[0].value, 0x1_0000_0002);
    assert_eq!((values[0].lo32(), values[0].hi32()), (2, 1));
    assert_eq!(values[1].value, u64::MAX);
    assert!(!values[1].signed);

    // Unsigned 32-bit enum: 0x80000000 widens to 0x80000000, not 0xffffffff80000000.
    let ue = btf.type_by_id(TypeId(20))?;
    assert_eq!(ue.enum_values().unwrap().next().unwrap().value, 0x8000_0000);

    // Accessors of other kinds say None rather than misreading the record.
    assert!(int.members().is_none() && int.array().is_none() && int.type_ref().is_none());
    assert!(s.int().is_none() && s.enum_values().is_none() && s.size() == Some(16));
    Ok(())
}

#[test]
fn every_kind_little_endian() -> Result<(), BtfError> {
    let bytes = every_kind_btf(Endianness::Little, false);
    assert_eq!(&bytes[..2], &[0x9f, 0xeb]);
    let btf = Btf::parse(&bytes[..])?;
    assert_eq!(btf.endian(), Endianness::Little);
    check_every_kind(&btf)
}

#[test]
fn every_kind_big_endian() -> Result<(), BtfError> {
    let bytes = every_kind_btf(Endianness::Big, false);
    assert_eq!(&bytes[..2], &[0xeb, 0x9f]);
    let btf = Btf::parse(bytes)?;
    assert_eq!(btf.endian(), Endianness::Big);
    check_every_kind(&btf)
}

#[test]
fn every_kind_with_layout_section() -> Result<(), BtfError> {
    for endian in [Endianness::Little, Endianness::Big] {
        let btf = Btf::parse(every_kind_btf(endian, true))?;
        assert_eq!(btf.header().hdr_len, 32);
        assert_eq!(btf.header().layout.map(|(_, len)| len), Some(20 * 4));
        check_every_kind(&btf)?;
    }
    Ok(())
}

#[test]
fn unknown_kind_is_skipped_with_layout_and_an_error_without() -> Result<(), BtfError> {
    let build = |with_layout: bool| {
        let mut b = BtfBuilder::new();
        if with_layout {
            b = b.with_layout();
            // Kind 25: 8 bytes of data, 4 bytes per element.
            b.set_layout_entry(
                25,
                KindLayout {
                    info_size: 8,
                    elem_size: 4,
                    flags: 0,
                },
            );
        }
        b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_raw(25, "future", false, 2, 0, &[0xaa; 8 + 2 * 4]);
        b.add_ptr(TypeId(1));
        b.build()
    };
    let btf = Btf::parse(build(true))?;
    assert_eq!(btf.type_count(), 4);
    let future = btf.type_by_id(TypeId(2))?;
    assert_eq!(future.kind(), Kind::Unknown(25));
    assert_eq!(future.data(), &[0xaa; 8]);
    assert_eq!(future.record().len(), 12 + 8 + 8);
    assert_eq!(btf.name(&future)?, "future");
    assert_eq!(btf.type_by_id(TypeId(3))?.type_ref(), Some(TypeId(1)));
    assert!(matches!(
        btf.resolved_size(TypeId(2)),
        Err(BtfError::NotSized {
            kind: Kind::Unknown(25),
            ..
        })
    ));

    let err = Btf::parse(build(false)).unwrap_err();
    assert!(
        matches!(
            err,
            BtfError::UnknownKind {
                id: TypeId(2),
                offset: 16,
                kind: 25
            }
        ),
        "{err}"
    );
    Ok(())
}

#[test]
fn layout_may_grow_known_kinds_but_not_shrink_them() -> Result<(), BtfError> {
    // A newer format giving INT 8 bytes of data: the reader strides over the extra 4.
    let mut b = BtfBuilder::new().with_layout();
    b.set_layout_entry(
        1,
        KindLayout {
            info_size: 8,
            elem_size: 0,
            flags: 0,
        },
    );
    b.add_raw(
        1,
        "wide",
        false,
        0,
        4,
        &[32, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
    );
    b.add_ptr(TypeId(1));
    let btf = Btf::parse(b.build())?;
    assert_eq!(btf.type_by_id(TypeId(1))?.int().unwrap().bits, 32);
    assert_eq!(btf.type_by_id(TypeId(2))?.type_ref(), Some(TypeId(1)));

    let mut b = BtfBuilder::new().with_layout();
    b.set_layout_entry(
        4,
        KindLayout {
            info_size: 0,
            elem_size: 8,
            flags: 0,
        },
    );
    let err = Btf::parse(b.build()).unwrap_err();
    assert!(
        matches!(
            err,
            BtfError::LayoutMismatch {
                kind: Kind::Struct,
                ..
            }
        ),
        "{err}"
    );
    Ok(())
}

/// Rewrites the header of builder output to a longer `hdr_len` with `tail` as the extra bytes.
fn with_longer_header(bytes: &[u8], tail: &[u8]) -> Vec<u8> {
    let hdr_len = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let mut out = bytes[..hdr_len].to_vec();
    out[4..8].copy_from_slice(&((hdr_len + tail.len()) as u32).to_le_bytes());
    out.extend_from_slice(tail);
    out.extend_from_slice(&bytes[hdr_len..]);
    out
}

#[test]
fn longer_header_is_accepted_only_when_the_extra_bytes_are_zero() -> Result<(), BtfError> {
    let mut b = BtfBuilder::new().with_endian(Endianness::Little);
    b.add_int("int", 4, IntEncoding::SIGNED);
    let plain = b.build();

    let padded = Btf::parse(with_longer_header(&plain, &[0; 16]))?;
    assert_eq!(padded.header().hdr_len, 40);
    assert_eq!(padded.type_name(TypeId(1))?, "int");

    let err = Btf::parse(with_longer_header(&plain, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1])).unwrap_err();
    assert!(
        matches!(err, BtfError::UnknownHeaderField { offset: 33, .. }),
        "{err}"
    );

    // A 24-byte-header file with 4 extra bytes: a truncated layout field, which must be zero.
    let err = Btf::parse(with_longer_header(&plain, &[1, 0, 0, 0])).unwrap_err();
    assert!(
        matches!(err, BtfError::UnknownHeaderField { offset: 24, .. }),
        "{err}"
    );
    Ok(())
}

#[test]
fn header_errors() {
    let mut b = BtfBuilder::new().with_endian(Endianness::Little);
    b.add_int("int", 4, IntEncoding::SIGNED);
    let good = b.build();

    assert!(matches!(
        Btf::parse(&good[..10]),
        Err(BtfError::TooShort { len: 10, .. })
    ));
    let mut bad = good.clone();
    bad[0] = 0;
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadMagic { .. })));
    let mut bad = good.clone();
    bad[2] = 2;
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::UnsupportedVersion { version: 2 })
    ));
    let mut bad = good.clone();
    bad[4] = 20;
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::HeaderTooShort { hdr_len: 20 })
    ));
    // String section claims more bytes than there are.
    let mut bad = good.clone();
    bad[20] = 200;
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::SectionOutOfBounds {
            section: "string",
            ..
        })
    ));
    // Type section overlapping the string section.
    let mut bad = good.clone();
    bad[16] = 4; // str_off
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::SectionsOverlap { .. })
    ));
    // Strings not starting with NUL.
    let mut bad = good.clone();
    let str_start = 24 + 16;
    bad[str_start] = b'x';
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::BadStringSection { .. })
    ));
    // Truncated record: type_len cut by 2 and the two bytes given to nobody.
    let mut bad = good.clone();
    bad[12] = 14; // type_len (was 16)
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::TruncatedType {
            id: TypeId(1),
            needed: 16,
            available: 14,
            ..
        })
    ));
}

#[test]
fn huge_vlen_is_checked_before_anything_else() {
    let mut b = BtfBuilder::new();
    // A struct claiming 2^24 - 1 members (the largest 24-bit vlen) with no member bytes.
    b.add_raw(4, "s", false, 0xff_ffff, 8, &[]);
    let err = Btf::parse(b.build()).unwrap_err();
    assert!(
        matches!(
            err,
            BtfError::TruncatedType { kind: Kind::Struct, needed, available: 12, .. }
                if needed == 12 + 0xff_ffff * 12
        ),
        "{err}"
    );
}

#[test]
fn split_ids_and_strings_continue_after_the_base() -> Result<(), BtfError> {
    for endian in [Endianness::Little, Endianness::Big] {
        let mut base = BtfBuilder::new().with_endian(endian);
        let int = base.add_int("int", 4, IntEncoding::SIGNED); // 1
        base.add_struct("task", 4, &[MemberSpec::new("pid", int, 0)]); // 2
        let base_bytes = base.build();
        let base = Arc::new(Btf::parse(&base_bytes[..])?);
        // "\0int\0task\0pid\0"
        assert_eq!(base.strings_end(), 14);

        let mut split = BtfBuilder::new_split(&base);
        assert_eq!(split.next_type_id(), TypeId(3));
        let ptr = split.add_ptr(int); // 3, no new string
        let inode = split.add_struct(
            "inode",
            16,
            &[
                MemberSpec::new("pid", int, 0),
                MemberSpec::new("p", ptr, 64),
            ],
        ); // 4
        let split_bytes = split.build();
        let split = Arc::new(Btf::parse_split(&split_bytes[..], base.clone())?);
        assert!(split.is_split());
        assert_eq!(split.first_type_id(), TypeId(3));
        assert_eq!(split.type_count(), 5);
        assert_eq!(split.strings_start(), 14);
        let inode_ty = split.type_by_id(inode)?;
        assert_eq!(inode_ty.name_offset(), 14, "first own string");
        assert_eq!(split.name(&inode_ty)?, "inode");
        // "pid" is re-added in the split's own section; both offsets resolve.
        let pid = inode_ty.members().unwrap().next().unwrap();
        assert_eq!(split.str_at(pid.name_offset)?, "pid");
        assert_eq!(split.str_at(5)?, "task", "base string via split");
        assert_eq!(
            split.type_by_id(TypeId(2))?.kind(),
            Kind::Struct,
            "base type via split"
        );
        assert_eq!(split.type_name(TypeId(1))?, "int");
        assert_eq!(split.types().map(|t| t.id().0).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(split.resolved_size(ptr)?, 8);
        assert!(matches!(
            split.type_by_id(TypeId(5)),
            Err(BtfError::TypeIdOutOfRange { count: 5, .. })
        ));
        assert!(matches!(
            base.type_by_id(TypeId(3)),
            Err(BtfError::TypeIdOutOfRange { .. })
        ));
        assert_eq!(split.find_by_name("task"), Some(TypeId(2)));
        assert_eq!(split.find_by_name_kind("inode", Kind::Struct), Some(inode));
        assert_eq!(base.find_by_name("inode"), None);
        assert!(split.own_strings_contain("inode") && !split.own_strings_contain("task"));
        assert!(base.own_strings_contain("task") && !base.own_strings_contain("tas"));

        // Split on split: ids and strings continue again.
        let mut nested = BtfBuilder::new_split(&split);
        let td = nested.add_typedef("inode_t", inode); // 5
        let nested = Btf::parse_split(nested.build(), split.clone())?;
        assert_eq!(td, TypeId(5));
        assert_eq!(nested.first_type_id(), TypeId(5));
        assert_eq!(nested.resolved_size(td)?, 16);
        assert_eq!(nested.type_name(td)?, "inode_t");
        assert_eq!(nested.type_name(inode)?, "inode");
        assert_eq!(nested.type_name(TypeId(2))?, "task");
        assert_eq!(nested.skip_mods_and_typedefs(td)?, inode);
        let all: Vec<_> = nested.types_by_name("pid").collect();
        assert!(all.is_empty(), "members are not types");
    }
    Ok(())
}

#[test]
fn split_with_empty_string_section() -> Result<(), BtfError> {
    let mut base = BtfBuilder::new();
    let int = base.add_int("int", 4, IntEncoding::SIGNED);
    let base = Arc::new(Btf::parse(base.build())?);
    let mut split = BtfBuilder::new_split(&base);
    let ptr = split.add_ptr(int);
    let bytes = split.build();
    let split = Btf::parse_split(bytes, base.clone())?;
    assert_eq!(split.header().str_len, 0);
    assert_eq!(split.type_name(ptr)?, "");
    assert_eq!(split.strings_end(), base.strings_end());
    assert!(matches!(
        split.str_at(base.strings_end()),
        Err(BtfError::StringOutOfBounds { .. })
    ));

    // Completely empty split BTF: no types, no strings.
    let empty = Btf::parse_split(BtfBuilder::new_split(&base).build(), base.clone())?;
    assert_eq!(empty.type_count(), base.type_count());
    assert_eq!(empty.types().count(), 0);
    Ok(())
}

#[test]
fn split_byte_order_must_match_base() -> Result<(), BtfError> {
    let mut base = BtfBuilder::new().with_endian(Endianness::Little);
    base.add_int("int", 4, IntEncoding::SIGNED);
    let base = Arc::new(Btf::parse(base.build())?);
    let split = BtfBuilder::new_split(&base)
        .with_endian(Endianness::Big)
        .build();
    assert!(matches!(
        Btf::parse_split(split, base),
        Err(BtfError::EndianMismatch)
    ));
    Ok(())
}

#[test]
fn names_and_lookup() -> Result<(), BtfError> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED); // 1
    let fwd = b.add_fwd("file", false); // 2
    let file = b.add_struct("file", 8, &[MemberSpec::new("f_count", int, 0)]); // 3
    let td = b.add_typedef("file", file); // 4
    let anon = b.add_struct("", 4, &[]); // 5
    let btf = Btf::parse(b.build())?;
    assert_eq!(
        btf.types_by_name("file").collect::<Vec<_>>(),
        [fwd, file, td]
    );
    assert_eq!(btf.find_by_name("file"), Some(fwd));
    assert_eq!(btf.find_by_name_kind("file", Kind::Typedef), Some(td));
    assert_eq!(btf.find_by_name_kind("file", Kind::Union), None);
    assert_eq!(btf.find_by_name("fil"), None);
    assert_eq!(btf.find_by_name("files"), None);
    assert_eq!(
        btf.find_by_name(""),
        None,
        "anonymous types are not indexed"
    );
    assert_eq!(btf.type_name(anon)?, "");
    assert_eq!(btf.type_name(TypeId::VOID)?, "");
    assert_eq!(btf.type_by_id(TypeId::VOID)?.kind(), Kind::Void);
    assert!(matches!(
        btf.str_at(10_000),
        Err(BtfError::StringOutOfBounds { .. })
    ));
    Ok(())
}

#[test]
fn sizes_and_chains() -> Result<(), BtfError> {
    let mut b = BtfBuilder::new();
    let char_ = b.add_int("char", 1, IntEncoding::CHAR); // 1
    let arr = b.add_array(char_, char_, 16); // 2
    let arr2 = b.add_array(arr, char_, 4); // 3: char[4][16]
    let cst = b.add_const(arr2); // 4
    let td = b.add_typedef("name_t", cst); // 5
    let tag = b.add_type_tag("user", td); // 6
    let ptr = b.add_ptr(tag); // 7
    let fwd = b.add_fwd("opaque", false); // 8
    let proto = b.add_func_proto(TypeId::VOID, &[]); // 9
    let e = b.add_enum64("e", 8, true, &[]); // 10
    let var = b.add_var("v", td, Linkage::Global); // 11
    let float = b.add_float("float", 4); // 12
    let big = b.add_array(arr2, char_, u32::MAX); // 13
    let btf = Btf::parse(b.build())?;
    assert_eq!(btf.resolved_size(char_)?, 1);
    assert_eq!(btf.resolved_size(arr2)?, 64);
    assert_eq!(btf.resolved_size(tag)?, 64);
    assert_eq!(btf.resolved_size(ptr)?, 8);
    assert_eq!(btf.resolved_size(e)?, 8);
    assert_eq!(btf.resolved_size(var)?, 64);
    assert_eq!(btf.resolved_size(float)?, 4);
    assert!(matches!(
        btf.resolved_size(fwd),
        Err(BtfError::NotSized {
            kind: Kind::Fwd,
            ..
        })
    ));
    assert!(matches!(
        btf.resolved_size(proto),
        Err(BtfError::NotSized { .. })
    ));
    assert!(matches!(
        btf.resolved_size(TypeId::VOID),
        Err(BtfError::NotSized { .. })
    ));
    assert!(matches!(
        btf.resolved_size(big),
        Err(BtfError::SizeOverflow { .. })
    ));
    assert!(matches!(
        btf.resolved_size(TypeId(99)),
        Err(BtfError::TypeIdOutOfRange { .. })
    ));
    assert_eq!(btf.skip_mods(tag)?, td);
    assert_eq!(btf.skip_mods_and_typedefs(tag)?, arr2);
    assert_eq!(btf.skip_mods_and_typedefs(ptr)?, ptr);
    Ok(())
}

#[test]
fn reference_cycles_end_with_an_error() -> Result<(), BtfError> {
    let mut b = BtfBuilder::new();
    let next = b.next_type_id();
    let a = b.add_typedef("a", TypeId(next.0 + 1)); // 1 -> 2
    let c = b.add_const(a); // 2 -> 1
    let self_arr = b.add_array(TypeId(3), TypeId(3), 2); // 3 -> 3
    let btf = Btf::parse(b.build())?;
    assert!(matches!(
        btf.skip_mods_and_typedefs(a),
        Err(BtfError::DepthLimit { .. })
    ));
    assert!(matches!(
        btf.resolved_size(c),
        Err(BtfError::DepthLimit { .. })
    ));
    assert!(matches!(
        btf.resolved_size(self_arr),
        Err(BtfError::DepthLimit { .. })
    ));
    assert_eq!(btf.skip_mods(a)?, a, "a typedef is not a modifier");
    Ok(())
}

#[test]
fn bytes_may_be_borrowed_owned_or_shared() -> Result<(), BtfError> {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, IntEncoding::SIGNED);
    let bytes = b.build();
    let shared: Arc<[u8]> = bytes.clone().into();
    for btf in [
        Btf::parse(&bytes[..])?,
        Btf::parse(bytes.clone())?,
        Btf::parse(shared)?,
    ] {
        assert_eq!(btf.type_name(TypeId(1))?, "int");
        assert_eq!(btf.load_info().method, LoadMethod::InMemory);
        assert_eq!(btf.load_info().bytes, bytes.len());
        assert_eq!(btf.bytes(), &bytes[..]);
    }
    Ok(())
}

#[test]
fn files_are_mapped_and_unmappable_files_are_read() -> Result<(), Box<dyn std::error::Error>> {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, IntEncoding::SIGNED);
    let bytes = b.build();
    let path = std::env::temp_dir().join(format!("core-reloc-btf-test-{}", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let btf = Btf::from_file(&path);
    std::fs::remove_file(&path).unwrap();
    let btf = btf?;
    assert_eq!(btf.load_info().method, LoadMethod::Mapped);
    assert_eq!(btf.load_info().bytes, bytes.len());
    assert_eq!(btf.type_name(TypeId(1))?, "int");

    // procfs files cannot be mapped: the loader falls back to read().
    let (loaded, info) = BtfBytes::load("/proc/self/status")?;
    assert_eq!(info.method, LoadMethod::Read);
    assert_eq!(info.bytes, loaded.len());
    assert!(loaded.starts_with(b"Name:"));

    assert!(matches!(
        Btf::from_file("/nonexistent/btf"),
        Err(core_reloc::btf_file::BtfFileError::Io { .. })
    ));
    Ok(())
}

#[test]
fn btf_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Btf<'static>>();
    assert_send_sync::<Arc<Btf<'static>>>();
}
