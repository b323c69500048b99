//! `.BTF.ext` parsing over hand-made bytes, in both byte orders.

use core_reloc::ext::{BtfExt, CoreRelo, CoreReloKind, ExtError};
use object::Endianness;

/// Builds a `.BTF.ext` section: a 32-byte header, empty func/line info, and the given core_relo
/// groups `(sec_name_off, records)` with `record_size`-byte records (padded with 0xee).
fn build_ext(endian: Endianness, record_size: u32, groups: &[(u32, Vec<[u32; 4]>)]) -> Vec<u8> {
    let mut body = Words::new(endian);
    body.u32(record_size);
    for (name, records) in groups {
        body.u32(*name);
        body.u32(records.len() as u32);
        for record in records {
            for word in record {
                body.u32(*word);
            }
            body.bytes
                .extend(std::iter::repeat_n(0xee, record_size as usize - 16));
        }
    }
    let mut ext = Words::new(endian);
    ext.u16(0xeb9f);
    ext.bytes.extend([1, 0]);
    for word in [32, 0, 0, 0, 0, 0, body.bytes.len() as u32] {
        ext.u32(word);
    }
    ext.bytes.extend(body.bytes);
    ext.bytes
}

struct Words {
    endian: Endianness,
    bytes: Vec<u8>,
}

impl Words {
    fn new(endian: Endianness) -> Self {
        Words {
            endian,
            bytes: Vec::new(),
        }
    }
    fn u16(&mut self, value: u16) {
        self.bytes.extend(match self.endian {
            Endianness::Little => value.to_le_bytes(),
            Endianness::Big => value.to_be_bytes(),
        });
    }
    fn u32(&mut self, value: u32) {
        self.bytes.extend(match self.endian {
            Endianness::Little => value.to_le_bytes(),
            Endianness::Big => value.to_be_bytes(),
        });
    }
}

fn two_groups() -> Vec<(u32, Vec<[u32; 4]>)> {
    vec![
        (5, vec![[0, 2, 9, 0], [16, 2, 11, 2]]),
        (20, vec![[8, 7, 13, 12]]),
    ]
}

fn collect(ext: &BtfExt<'_>) -> Vec<(u32, usize, Vec<CoreRelo>)> {
    ext.core_relo_sections()
        .map(|s| {
            (
                s.sec_name_off(),
                s.first_record_index(),
                s.records().collect(),
            )
        })
        .collect()
}

#[test]
fn both_byte_orders_give_the_same_records() {
    for endian in [Endianness::Little, Endianness::Big] {
        let bytes = build_ext(endian, 16, &two_groups());
        let ext = BtfExt::parse(&bytes, endian).unwrap();
        assert_eq!(ext.header().hdr_len, 32);
        assert_eq!(ext.core_relo_section_count(), 2);
        assert_eq!(ext.core_relo_count(), 3);
        let groups = collect(&ext);
        assert_eq!(groups[0].0, 5);
        assert_eq!(groups[0].1, 0);
        assert_eq!(
            groups[0].2[1],
            CoreRelo {
                insn_off: 16,
                type_id: 2,
                access_str_off: 11,
                kind: CoreReloKind::FieldExists
            }
        );
        assert_eq!(groups[1].0, 20);
        assert_eq!(groups[1].1, 2);
        assert_eq!(groups[1].2[0].kind, CoreReloKind::TypeMatches);
    }
}

#[test]
fn wrong_byte_order_is_named() {
    let bytes = build_ext(Endianness::Big, 16, &two_groups());
    assert_eq!(
        BtfExt::parse(&bytes, Endianness::Little).unwrap_err(),
        ExtError::ByteOrderMismatch {
            expected: Endianness::Little
        }
    );
}

#[test]
fn larger_records_are_accepted_and_their_tail_skipped() {
    let bytes = build_ext(Endianness::Little, 24, &two_groups());
    let ext = BtfExt::parse(&bytes, Endianness::Little).unwrap();
    assert_eq!(ext.core_relo_record_size(), 24);
    let reference = build_ext(Endianness::Little, 16, &two_groups());
    let reference = BtfExt::parse(&reference, Endianness::Little).unwrap();
    assert_eq!(collect(&ext), collect(&reference));
}

#[test]
fn smaller_records_are_rejected() {
    let mut bytes = build_ext(Endianness::Little, 16, &[]);
    bytes[32..36].copy_from_slice(&12u32.to_le_bytes());
    assert_eq!(
        BtfExt::parse(&bytes, Endianness::Little).unwrap_err(),
        ExtError::RecordSizeTooSmall { record_size: 12 }
    );
}

#[test]
fn every_kind_has_libbpf_name() {
    let names: Vec<_> = CoreReloKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(
        names,
        [
            "byte_off",
            "byte_sz",
            "field_exists",
            "signed",
            "lshift_u64",
            "rshift_u64",
            "local_type_id",
            "target_type_id",
            "type_exists",
            "type_size",
            "enumval_exists",
            "enumval_value",
            "type_matches"
        ]
    );
    for (raw, kind) in CoreReloKind::ALL.iter().enumerate() {
        assert_eq!(kind.raw(), raw as u32);
        assert_eq!(CoreReloKind::from_raw(raw as u32), Some(*kind));
    }
    assert_eq!(CoreReloKind::from_raw(13), None);
}

#[test]
fn unknown_kind_is_a_typed_error() {
    let bytes = build_ext(
        Endianness::Little,
        16,
        &[
            (1, vec![[0, 1, 1, 0]]),
            (2, vec![[0, 1, 1, 3], [8, 1, 1, 13]]),
        ],
    );
    assert_eq!(
        BtfExt::parse(&bytes, Endianness::Little).unwrap_err(),
        ExtError::UnknownKind {
            section: 1,
            record: 1,
            kind: 13
        }
    );
}

#[test]
fn huge_record_count_is_rejected_without_allocating() {
    let mut bytes = build_ext(Endianness::Little, 16, &[(1, vec![[0, 1, 1, 0]])]);
    // num_info of the only group.
    bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        BtfExt::parse(&bytes, Endianness::Little).unwrap_err(),
        ExtError::TruncatedRecords {
            section: 0,
            num_info: u32::MAX,
            ..
        }
    ));
}

#[test]
fn short_header_has_no_core_relo() {
    // hdr_len 24: func_info and line_info only, as old compilers wrote.
    let mut bytes = vec![0x9f, 0xeb, 1, 0, 24, 0, 0, 0];
    bytes.extend([0u8; 16]);
    bytes.extend([0u8; 4]);
    let ext = BtfExt::parse(&bytes, Endianness::Little).unwrap();
    assert_eq!(ext.header().core_relo, None);
    assert_eq!(ext.core_relo_len_field_offset(), None);
    assert_eq!(ext.core_relo_sections().count(), 0);
}

#[test]
fn empty_core_relo_is_no_records() {
    let mut bytes = build_ext(Endianness::Little, 16, &[]);
    bytes.truncate(32);
    bytes[28..32].fill(0);
    let ext = BtfExt::parse(&bytes, Endianness::Little).unwrap();
    assert_eq!(ext.core_relo_count(), 0);
    assert_eq!(ext.core_relo_len_field_offset(), Some(28));
}

#[test]
fn header_errors_are_typed() {
    let good = build_ext(Endianness::Little, 16, &two_groups());
    let parse = |bytes: &[u8]| BtfExt::parse(bytes, Endianness::Little).unwrap_err();

    assert!(matches!(parse(&good[..1]), ExtError::TooShort { .. }));
    assert!(matches!(parse(&good[..20]), ExtError::TooShort { .. }));
    let mut bad = good.clone();
    bad[0] = 0;
    assert!(matches!(parse(&bad), ExtError::BadMagic { .. }));
    let mut bad = good.clone();
    bad[2] = 2;
    assert_eq!(parse(&bad), ExtError::UnsupportedVersion { version: 2 });
    let mut bad = good.clone();
    bad[3] = 1;
    assert_eq!(parse(&bad), ExtError::UnsupportedFlags { flags: 1 });
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&1000u32.to_le_bytes());
    assert!(matches!(
        parse(&bad),
        ExtError::BadHeaderLength { hdr_len: 1000, .. }
    ));
    let mut bad = good.clone();
    bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        parse(&bad),
        ExtError::SubsectionOutOfBounds {
            name: "func_info",
            ..
        }
    ));
    let mut bad = good.clone();
    bad[28..32].copy_from_slice(&2u32.to_le_bytes());
    assert_eq!(parse(&bad), ExtError::MissingRecordSize { len: 2 });
    // A group cut in its header.
    let mut bad = good.clone();
    let len = bad.len() as u32 - 32 + 4;
    bad[28..32].copy_from_slice(&len.to_le_bytes());
    bad.extend([0, 0, 0, 0]);
    assert!(matches!(
        parse(&bad),
        ExtError::TruncatedSectionHeader { section: 2, .. }
    ));
}

/// Every prefix and every single-byte corruption of a valid section gives a value or a typed
/// error, never a panic.
#[test]
fn arbitrary_corruption_never_panics() {
    for endian in [Endianness::Little, Endianness::Big] {
        let good = build_ext(endian, 20, &two_groups());
        for len in 0..good.len() {
            let _ = BtfExt::parse(&good[..len], endian).map(|ext| collect(&ext));
        }
        for at in 0..good.len() {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut bytes = good.clone();
                bytes[at] = value;
                if let Ok(ext) = BtfExt::parse(&bytes, endian) {
                    let records: usize = collect(&ext).iter().map(|g| g.2.len()).sum();
                    assert_eq!(records, ext.core_relo_count());
                }
            }
        }
    }
}
