//! The 2026 BTF UAPI: `info` holds `vlen` in bits 0..23 and `kind` in bits 24..30. Each test
//! puts a record that only the wide fields describe correctly before an ordinary type, whose id
//! and layout come out right only if the record was strided correctly.

use core_reloc::btf::{
    Btf, BtfBuilder, BtfError, Endianness, IntEncoding, Kind, KindLayout, TypeId,
};

/// The type after the wide record: `struct after { int x; }` of 4 bytes.
fn add_after(b: &mut BtfBuilder, int: TypeId) -> TypeId {
    b.add_struct("after", 4, &[core_reloc::btf::MemberSpec::new("x", int, 0)])
}

fn check_after(btf: &Btf<'_>, id: TypeId, int: TypeId) -> Result<(), BtfError> {
    assert_eq!(btf.type_count(), id.0 + 1);
    assert_eq!(btf.find_by_name_kind("after", Kind::Struct), Some(id));
    let after = btf.type_by_id(id)?;
    assert_eq!(after.kind(), Kind::Struct);
    assert_eq!(after.size(), Some(4));
    let members: Vec<_> = after.members().expect("a struct").collect();
    assert_eq!(members.len(), 1);
    assert_eq!(btf.str_at(members[0].name_offset)?, "x");
    assert_eq!(members[0].type_id, int);
    assert_eq!(btf.resolved_size(id)?, 4);
    Ok(())
}

#[test]
fn enum_with_70000_values() -> Result<(), BtfError> {
    const COUNT: usize = 70_000;
    for endian in [Endianness::Little, Endianness::Big] {
        let names: Vec<String> = (0..COUNT).map(|i| format!("V{i}")).collect();
        let values: Vec<(&str, i64)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i as i64 * 3))
            .collect();
        let mut b = BtfBuilder::new().with_endian(endian);
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let big = b.add_enum("big", 4, false, &values);
        let after = add_after(&mut b, int);
        let btf = Btf::parse(b.build())?;

        let ty = btf.type_by_id(big)?;
        assert_eq!(ty.kind(), Kind::Enum);
        // 70,000 does not fit the 16 bits of the old `vlen`: 70,000 - 65,536 = 4,464 there.
        assert_eq!(ty.vlen(), COUNT as u32);
        assert_eq!(ty.record().len(), 12 + COUNT * 8);
        let all: Vec<_> = ty.enum_values().expect("an enum").collect();
        assert_eq!(all.len(), COUNT);
        let last = all[COUNT - 1];
        assert_eq!(btf.str_at(last.name_offset)?, "V69999");
        assert_eq!(last.value, 69_999 * 3);
        let above_16_bits = ty.enum_values().unwrap().get(65_536).unwrap();
        assert_eq!(btf.str_at(above_16_bits.name_offset)?, "V65536");
        check_after(&btf, after, int)?;
    }
    Ok(())
}

#[test]
fn struct_with_more_than_65535_members() -> Result<(), BtfError> {
    const COUNT: usize = 65_536 + 100;
    let names: Vec<String> = (0..COUNT).map(|i| format!("m{i}")).collect();
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let members: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| core_reloc::btf::MemberSpec::new(name, int, i as u32 * 32))
        .collect();
    let wide = b.add_struct("wide", COUNT as u32 * 4, &members);
    let after = add_after(&mut b, int);
    let btf = Btf::parse(b.build())?;

    let ty = btf.type_by_id(wide)?;
    assert_eq!(ty.vlen(), COUNT as u32);
    let last = ty.members().unwrap().next_back().unwrap();
    assert_eq!(btf.str_at(last.name_offset)?, format!("m{}", COUNT - 1));
    assert_eq!(last.bit_offset, (COUNT as u32 - 1) * 32);
    assert_eq!(ty.members().unwrap().len(), COUNT);
    assert_eq!(btf.resolved_size(wide)?, COUNT as u32 * 4);
    check_after(&btf, after, int)?;
    Ok(())
}

/// Kind `kind` (unknown to the reader) with 4 bytes of data and 8 bytes per element, 3 elements.
fn unknown_kind_btf(kind: u8, layout: bool) -> (Vec<u8>, TypeId, TypeId, TypeId) {
    let mut b = BtfBuilder::new();
    if layout {
        b = b.with_layout();
        b.set_layout_entry(
            kind,
            KindLayout {
                info_size: 4,
                elem_size: 8,
                flags: 0,
            },
        );
    }
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let future = b.add_raw(kind, "future", true, 3, 0, &[0x55; 4 + 3 * 8]);
    let after = add_after(&mut b, int);
    (b.build(), int, future, after)
}

#[test]
fn unknown_kinds_up_to_127_are_skipped_through_the_layout_section() -> Result<(), BtfError> {
    // 25 reads the same in a 5-bit field; 100 (0b110_0100) would read as 4, STRUCT, with
    // 5 bits, and 127 is the largest 7-bit kind.
    for kind in [25, 100, 127] {
        let (bytes, int, future, after) = unknown_kind_btf(kind, true);
        let btf = Btf::parse(bytes)?;
        let ty = btf.type_by_id(future)?;
        assert_eq!(ty.kind(), Kind::Unknown(kind));
        assert!(ty.kind_flag());
        assert_eq!(ty.vlen(), 3);
        assert_eq!(ty.data(), &[0x55; 4]);
        assert_eq!(ty.record().len(), 12 + 4 + 3 * 8);
        assert_eq!(btf.name(&ty)?, "future");
        check_after(&btf, after, int)?;
    }
    Ok(())
}

#[test]
fn unknown_kind_without_a_layout_entry_is_a_typed_error() {
    for kind in [25, 100, 127] {
        let (bytes, _, future, _) = unknown_kind_btf(kind, false);
        let err = Btf::parse(bytes).unwrap_err();
        assert!(
            matches!(err, BtfError::UnknownKind { id, offset: 16, kind: k } if id == future && k == kind),
            "{err}"
        );
    }
}
