//! Corrupted BTF never panics or loops: deterministic random mutations and truncations of
//! builder output (base, split, both byte orders, with and without layout section), with every
//! accessor exercised on whatever still parses.

use std::sync::Arc;

use core_reloc::btf::{
    Btf, BtfBuilder, DatasecEntry, Endianness, IntEncoding, Linkage, MemberSpec, TypeId,
};

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn sample(endian: Endianness, with_layout: bool) -> BtfBuilder {
    let mut b = BtfBuilder::new().with_endian(endian);
    if with_layout {
        b = b.with_layout();
    }
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let ptr = b.add_ptr(int);
    let arr = b.add_array(int, int, 4);
    let s = b.add_struct(
        "s",
        24,
        &[
            MemberSpec::new("a", int, 0),
            MemberSpec::bitfield("b", int, 32, 7),
            MemberSpec::new("c", arr, 64),
        ],
    );
    b.add_union("u", 8, &[MemberSpec::new("p", ptr, 0)]);
    b.add_enum("e", 4, true, &[("A", -3), ("B", 3)]);
    b.add_enum64("e64", 8, false, &[("C", u64::MAX)]);
    b.add_fwd("f", false);
    let td = b.add_typedef("t", s);
    let c = b.add_const(td);
    b.add_volatile(c);
    b.add_restrict(ptr);
    let proto = b.add_func_proto(int, &[("x", td)]);
    b.add_func("fn", proto, Linkage::Global);
    let var = b.add_var("v", td, Linkage::Global);
    b.add_datasec(
        ".bss",
        24,
        &[DatasecEntry {
            type_id: var,
            offset: 0,
            size: 24,
        }],
    );
    b.add_float("float", 4);
    b.add_decl_tag("tag", s, 0);
    b.add_type_tag("tt", ptr);
    b
}

/// Calls every accessor on every id (and some beyond), every string offset around the ends.
fn exercise(btf: &Btf<'_>) {
    let count = btf.type_count();
    for raw in 0..count.saturating_add(3) {
        let id = TypeId(raw);
        let _ = btf.resolved_size(id);
        let _ = btf.skip_mods(id);
        let _ = btf.skip_mods_and_typedefs(id);
        let _ = btf.type_name(id);
        let Ok(ty) = btf.type_by_id(id) else { continue };
        let _ = (ty.size(), ty.type_ref(), ty.int(), ty.array(), ty.linkage());
        let _ = (
            ty.decl_tag_component(),
            ty.fwd_is_union(),
            ty.enum_is_signed(),
            ty.data(),
        );
        if let Some(members) = ty.members() {
            for m in members {
                let _ = btf.str_at(m.name_offset);
                let _ = btf.resolved_size(m.type_id);
            }
        }
        ty.enum_values().map(|v| v.count());
        ty.params().map(|p| p.rev().count());
        ty.datasec_entries().map(|d| d.count());
        if let Ok(name) = btf.name(&ty) {
            let name = name.to_owned();
            let _ = btf.types_by_name(&name).count();
            let _ = btf.find_by_name_kind(&name, ty.kind());
        }
    }
    for offset in (0..btf.strings_end().saturating_add(4)).step_by(3) {
        let _ = btf.str_at(offset);
    }
    let _ = btf.str_at(u32::MAX);
    let _ = btf.type_by_id(TypeId(u32::MAX));
    let _ = btf.types().count();
    let _ = btf.own_strings_contain("int");
}

fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    match rng.below(4) {
        0 => bytes.truncate(rng.below(original.len() + 1)),
        1 => {
            // Overwrite a u32-sized window with an extreme value.
            let at = rng.below(bytes.len().saturating_sub(4).max(1));
            let value = [0u32, 1, 0xffff, 0xffff_ffff, 0x8000_0000, 0x1f00_ffff][rng.below(6)];
            for (i, b) in value.to_le_bytes().iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at + i) {
                    *slot = *b;
                }
            }
        }
        _ => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
        }
    }
    bytes
}

#[test]
fn mutated_base_btf_never_panics() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut parsed = 0;
    for endian in [Endianness::Little, Endianness::Big] {
        for with_layout in [false, true] {
            let original = sample(endian, with_layout).build();
            exercise(&Btf::parse(&original[..]).expect("unmutated sample parses"));
            for _ in 0..3000 {
                let bytes = mutate(&mut rng, &original);
                if let Ok(btf) = Btf::parse(&bytes[..]) {
                    parsed += 1;
                    exercise(&btf);
                }
            }
        }
    }
    assert!(
        parsed > 1000,
        "mutations too destructive to test accessors: {parsed}"
    );
}

#[test]
fn mutated_split_btf_never_panics() {
    let mut rng = Rng(0x0dd_ba11_cafe_f00d);
    for endian in [Endianness::Little, Endianness::Big] {
        let base = Arc::new(Btf::parse(sample(endian, false).build()).unwrap());
        let mut split = BtfBuilder::new_split(&base);
        let inode = split.add_struct(
            "inode",
            16,
            &[
                MemberSpec::new("i", TypeId(1), 0),
                MemberSpec::new("s", TypeId(4), 32),
            ],
        );
        split.add_ptr(inode);
        split.add_typedef("inode_t", inode);
        let original = split.build();
        exercise(&Btf::parse_split(&original[..], base.clone()).unwrap());
        for _ in 0..3000 {
            let bytes = mutate(&mut rng, &original);
            if let Ok(btf) = Btf::parse_split(&bytes[..], base.clone()) {
                exercise(&btf);
            }
        }
    }
}

#[test]
fn random_bytes_after_a_valid_header_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let mut b = BtfBuilder::new();
        b.add_int("int", 4, IntEncoding::NONE);
        let mut bytes = b.build();
        let types = 24..24 + 16;
        for at in types {
            if rng.below(3) == 0 {
                bytes[at] = rng.next() as u8;
            }
        }
        if let Ok(btf) = Btf::parse(bytes) {
            exercise(&btf);
        }
    }
}
