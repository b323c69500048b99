//! Name lookups answer the same whether they scan (the first few lookups) or use the name
//! index (every later one): duplicates in id order, kinds, prefixes, split chains, misses.

use std::sync::Arc;

use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, Kind, TypeId};

fn sample() -> BtfBuilder {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    b.add_fwd("file", false);
    b.add_struct("file", 0, &[]);
    b.add_struct("file_operations", 0, &[]);
    b.add_typedef("fil", int);
    b.add_struct("", 0, &[]);
    b.add_union("file", 0, &[]);
    b
}

/// Every question asked of a fresh BTF (scan) and again afterwards (index).
fn answers(btf: &Btf<'_>) -> Vec<(Vec<TypeId>, Option<TypeId>)> {
    let questions = [
        ("file", Kind::Struct),
        ("file", Kind::Union),
        ("file", Kind::Fwd),
        ("fil", Kind::Typedef),
        ("file_operations", Kind::Struct),
        ("int", Kind::Int),
        ("files", Kind::Struct),
        ("", Kind::Struct),
        ("no_such_type_xyz", Kind::Struct),
    ];
    questions
        .iter()
        .map(|&(name, kind)| {
            (
                btf.types_by_name(name).collect(),
                btf.find_by_name_kind(name, kind),
            )
        })
        .collect()
}

#[test]
fn scan_and_index_agree() {
    for question in 0..9 {
        let btf = Btf::parse(sample().build()).unwrap();
        // Ask one question first (a scan), then all of them until the index answers.
        let first = answers(&btf)[question].clone();
        for _ in 0..4 {
            assert_eq!(first, answers(&btf)[question], "question {question}");
        }
    }
    let btf = Btf::parse(sample().build()).unwrap();
    let all = answers(&btf);
    assert_eq!(all[0].0, [TypeId(2), TypeId(3), TypeId(7)]);
    assert_eq!(all[0].1, Some(TypeId(3)));
    assert_eq!(all[1].1, Some(TypeId(7)));
    assert_eq!(all[2].1, Some(TypeId(2)));
    assert_eq!(all[3].1, Some(TypeId(5)));
    assert!(all[6].0.is_empty() && all[7].0.is_empty() && all[8].0.is_empty());
}

#[test]
fn split_scan_and_index_agree() {
    let base = Arc::new(Btf::parse(sample().build()).unwrap());
    let mut module = BtfBuilder::new_split(&base);
    let file = module.add_struct("file", 8, &[]);
    module.add_struct("btrfs_inode", 8, &[]);
    let split = Btf::parse_split(module.build(), Arc::clone(&base)).unwrap();
    assert_eq!(
        split.types_by_name("file").collect::<Vec<_>>(),
        [TypeId(2), TypeId(3), TypeId(7), file]
    );
    assert_eq!(
        split.find_by_name_kind("file", Kind::Struct),
        Some(TypeId(3))
    );
    assert_eq!(
        split.find_by_name_kind("btrfs_inode", Kind::Struct),
        Some(TypeId(9))
    );
    assert_eq!(split.find_by_name_kind("btrfs_inod", Kind::Struct), None);
}
