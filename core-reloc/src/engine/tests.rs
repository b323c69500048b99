//! Hand-built BTF cases for every relocation kind and rule; expected values are computed by
//! hand from the layouts written here.

use std::sync::Arc;

use super::*;
use crate::BtfOrigin;
use crate::btf::{BtfBuilder, IntEncoding, MemberSpec as M};
use crate::target::{TargetBtf, TargetRef};

const VMLINUX: &BtfOrigin = &BtfOrigin::Vmlinux;

fn site(record_index: usize) -> RelocationSite {
    RelocationSite {
        record_index,
        section_index: 3,
        insn_index: record_index,
    }
}

/// A local BTF plus the access strings the records use.
struct Local {
    btf: Btf<'static>,
}

impl Local {
    /// `build` adds types and returns them; `accesses` are interned afterwards.
    fn new(build: impl FnOnce(&mut BtfBuilder)) -> Local {
        let mut builder = BtfBuilder::new();
        build(&mut builder);
        for access in [
            "0", "0:0", "0:1", "0:2", "0:3", "0:1:0", "0:1:1", "0:0:1", "0:1:3", "0:0:5", "1",
            "1:1", "0:2:0", "0:0:0", "1:0",
        ] {
            builder.add_string(access);
        }
        Local {
            btf: Btf::parse(builder.build()).expect("local BTF"),
        }
    }

    fn record(&self, root: TypeId, access: &str, kind: CoreReloKind) -> CoreRelo {
        let access_str_off = self
            .find_string(access)
            .unwrap_or_else(|| panic!("access string {access:?} not interned"));
        CoreRelo {
            insn_off: 0,
            type_id: root.0,
            access_str_off,
            kind,
        }
    }

    fn find_string(&self, wanted: &str) -> Option<u32> {
        let mut offset = 0;
        while offset < self.btf.strings_end() {
            let s = self.btf.str_at(offset).ok()?;
            if s == wanted {
                return Some(offset);
            }
            offset += s.len() as u32 + 1;
        }
        None
    }
}

fn target(build: impl FnOnce(&mut BtfBuilder)) -> Btf<'static> {
    let mut builder = BtfBuilder::new();
    build(&mut builder);
    Btf::parse(builder.build()).expect("target BTF")
}

/// Resolves `records` as one program; modules (after vmlinux) are named explicitly.
fn resolve_all(
    local: &Local,
    targets: &[(&BtfOrigin, &Btf<'_>)],
    records: &[CoreRelo],
    options: EngineOptions,
) -> Vec<Result<Resolution, ReloError>> {
    let modules: Vec<_> = targets[1..]
        .iter()
        .map(|&(origin, btf)| (origin, btf, ModuleRole::Explicit))
        .collect();
    resolve_program(local, targets[0].1, &modules, &[], records, options)
}

/// Resolves `records` as one program whose attach targets `attach` own, against vmlinux and
/// modules in the given roles.
fn resolve_program(
    local: &Local,
    vmlinux: &Btf<'_>,
    modules: &[(&BtfOrigin, &Btf<'_>, ModuleRole)],
    attach: &[BtfOrigin],
    records: &[CoreRelo],
    options: EngineOptions,
) -> Vec<Result<Resolution, ReloError>> {
    let mut set = Targets::new(TargetBtf {
        origin: VMLINUX,
        btf: vmlinux,
    });
    for &(origin, btf, role) in modules {
        set.add_module(TargetBtf { origin, btf }, role);
    }
    want_record_types(&local.btf, records, &mut set);
    set.search();
    let engine = Engine::new(&local.btf, &set, options);
    let program = ProgramRecords {
        name: "test".into(),
        attach_modules: attach.to_vec(),
        records: records
            .iter()
            .enumerate()
            .map(|(index, record)| (site(index), *record))
            .collect(),
    };
    engine.resolve_program(&program)
}

fn resolve(local: &Local, target: &Btf<'_>, record: CoreRelo) -> Result<Resolution, ReloError> {
    resolve_all(
        local,
        &[(VMLINUX, target)],
        &[record],
        EngineOptions::default(),
    )
    .pop()
    .unwrap()
}

fn values(resolution: &Resolution) -> (u64, u64, bool) {
    let fixup = &resolution.fixup;
    (fixup.orig_val, fixup.new_val, fixup.is_poison())
}

/// `struct s { int a; struct inner { int x; long y; } in; char c; }` locally.
fn nested_local() -> (Local, TypeId) {
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let long = b.add_int("long", 8, IntEncoding::SIGNED);
        let chr = b.add_int("char", 1, IntEncoding::SIGNED);
        let inner = b.add_struct("inner", 16, &[M::new("x", int, 0), M::new("y", long, 64)]);
        root = b.add_struct(
            "s",
            24,
            &[
                M::new("a", int, 0),
                M::new("in", inner, 32),
                M::new("c", chr, 160),
            ],
        );
    });
    (local, root)
}

#[test]
fn field_offsets_follow_the_target_layout_through_nesting() {
    let (local, root) = nested_local();
    // Target: `c` moved first, `in` behind an anonymous union, `y` before `x`.
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let long = b.add_int("long", 8, IntEncoding::SIGNED);
        let chr = b.add_int("char", 1, IntEncoding::SIGNED);
        let inner = b.add_struct("inner", 16, &[M::new("y", long, 0), M::new("x", int, 64)]);
        let anon = b.add_union("", 16, &[M::new("in", inner, 0)]);
        b.add_struct(
            "s",
            40,
            &[
                M::new("c", chr, 0),
                M::new("a", int, 32),
                M::new("", anon, 128),
            ],
        );
    });
    let a = resolve(
        &local,
        &kernel,
        local.record(root, "0:0", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    assert_eq!(values(&a), (0, 4, false));
    assert_eq!(a.access.to_string(), "struct s.a");
    let x = resolve(
        &local,
        &kernel,
        local.record(root, "0:1:0", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    assert_eq!(values(&x), (4, 16 + 8, false));
    assert_eq!(x.access.to_string(), "struct s.in.x");
    // The target path goes through the anonymous union: s[0], member 2, in (0), x (1).
    assert_eq!(x.target_spec, Some(RawSpec(vec![0, 2, 0, 1])));
    let y = resolve(
        &local,
        &kernel,
        local.record(root, "0:1:1", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    assert_eq!(values(&y), (12, 16, false));
    assert_eq!(
        y.target,
        Some(TargetRef {
            origin: BtfOrigin::Vmlinux,
            id: TypeId(6)
        })
    );
    // Byte size of `in.y` and signedness.
    let size = resolve(
        &local,
        &kernel,
        local.record(root, "0:1:1", CoreReloKind::FieldByteSize),
    )
    .unwrap();
    assert_eq!(values(&size), (8, 8, false));
    let signed = resolve(
        &local,
        &kernel,
        local.record(root, "0:2", CoreReloKind::FieldSigned),
    )
    .unwrap();
    assert_eq!(values(&signed), (1, 1, false));
}

#[test]
fn root_array_index_scales_by_the_target_size() {
    let (local, root) = nested_local();
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct("s", 40, &[M::new("a", int, 32)]);
    });
    // `&s[1].a`: 24 + 0 locally, 40 + 4 in the target.
    let rec = local.record(root, "1:0", CoreReloKind::FieldByteOffset);
    let access = "1:0";
    assert!(local.find_string(access).is_some());
    let r = resolve(&local, &kernel, rec).unwrap();
    assert_eq!(values(&r), (24, 44, false));
    assert_eq!(r.access.to_string(), "struct s[1].a");
}

#[test]
fn missing_fields_poison_reads_and_report_nonexistence() {
    let (local, root) = nested_local();
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct("s", 4, &[M::new("a", int, 0)]);
    });
    let read = resolve(
        &local,
        &kernel,
        local.record(root, "0:2", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    assert_eq!(values(&read), (20, 0, true));
    assert_eq!(read.fixup.poison, Some(PoisonReason::NotFound));
    assert_eq!(read.target, None);
    assert_eq!(read.candidates.len(), 1);
    let Some(Rejection::MissingMember { holder, member }) = &read.candidates[0].rejected else {
        panic!("{:?}", read.candidates);
    };
    assert_eq!(
        (holder.to_string().as_str(), member.as_str()),
        ("struct s", "c")
    );
    let exists = resolve(
        &local,
        &kernel,
        local.record(root, "0:2", CoreReloKind::FieldExists),
    )
    .unwrap();
    assert_eq!(values(&exists), (1, 0, false));
    let present = resolve(
        &local,
        &kernel,
        local.record(root, "0:0", CoreReloKind::FieldExists),
    )
    .unwrap();
    assert_eq!(values(&present), (1, 1, false));
}

#[test]
fn no_candidate_at_all_gives_zero_for_existence_and_type_kinds() {
    let (local, root) = nested_local();
    let kernel = target(|b| {
        b.add_int("int", 4, IntEncoding::SIGNED);
    });
    for (kind, expected) in [
        (CoreReloKind::FieldExists, (1, 0, false)),
        (CoreReloKind::FieldByteOffset, (0, 0, true)),
        (CoreReloKind::FieldByteSize, (4, 0, true)),
    ] {
        let r = resolve(&local, &kernel, local.record(root, "0:0", kind)).unwrap();
        assert_eq!(values(&r), expected, "{kind:?}");
        assert!(r.candidates.is_empty());
    }
    for (kind, local_value) in [
        (CoreReloKind::TypeExists, 1),
        (CoreReloKind::TypeSize, 24),
        (CoreReloKind::TypeMatches, 1),
        (CoreReloKind::TypeIdTarget, u64::from(root.0)),
    ] {
        let r = resolve(&local, &kernel, local.record(root, "0", kind)).unwrap();
        assert_eq!(values(&r), (local_value, 0, false), "{kind:?}");
    }
}

#[test]
fn flavors_match_their_essential_name_in_both_directions() {
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        root = b.add_struct("task_struct___v2", 4, &[M::new("pid", int, 0)]);
    });
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct(
            "task_struct",
            16,
            &[M::new("state", int, 0), M::new("pid", int, 96)],
        );
        b.add_struct("task_struct_other", 16, &[M::new("pid", int, 0)]);
    });
    let r = resolve(
        &local,
        &kernel,
        local.record(root, "0:0", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    assert_eq!(values(&r), (0, 12, false));
    assert_eq!(r.candidates.len(), 1, "task_struct_other is not a flavor");
}

#[test]
fn array_members_flexible_arrays_and_bounds() {
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let arr = b.add_array(int, int, 4);
        let flex = b.add_array(int, int, 0);
        root = b.add_struct(
            "s",
            20,
            &[
                M::new("n", int, 0),
                M::new("a", arr, 32),
                M::new("tail", flex, 160),
            ],
        );
    });
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let short = b.add_int("short", 2, IntEncoding::SIGNED);
        let arr = b.add_array(int, int, 2);
        let flex = b.add_array(short, int, 0);
        b.add_struct(
            "s",
            16,
            &[
                M::new("a", arr, 0),
                M::new("n", int, 64),
                M::new("tail", flex, 96),
            ],
        );
    });
    // a[1]: 4 + 4 locally, 0 + 4 in the target.
    let a1 = resolve(
        &local,
        &kernel,
        local.record(root, "0:1:1", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    assert_eq!(values(&a1), (8, 4, false));
    assert_eq!(a1.access.to_string(), "struct s.a[1]");
    // a[3] is out of the target's bounds (2 elements): no match, poison.
    let a3 = resolve(
        &local,
        &kernel,
        local.record(root, "0:1:3", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    assert!(a3.fixup.is_poison());
    assert_eq!(
        a3.candidates[0].rejected,
        Some(Rejection::IndexOutOfBounds {
            index: 3,
            nelems: 2
        })
    );
    // tail[5] of a flexible array: allowed, scaled by the target element size (2).
    let flex = resolve(
        &local,
        &kernel,
        local.record(root, "0:2:0", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    assert_eq!(values(&flex), (20, 12, false));
    // The size of a whole array member, and of an element.
    let whole = resolve(
        &local,
        &kernel,
        local.record(root, "0:1", CoreReloKind::FieldByteSize),
    )
    .unwrap();
    assert_eq!(values(&whole), (16, 8, false));
    // Array element accesses only have offsets and sizes.
    let err = resolve(
        &local,
        &kernel,
        local.record(root, "0:1:1", CoreReloKind::FieldSigned),
    )
    .unwrap_err();
    assert!(
        matches!(
            *err.reason,
            ReloErrorKind::ArrayElementKind {
                kind: CoreReloKind::FieldSigned
            }
        ),
        "{err}"
    );
}

#[test]
fn bitfields_widen_the_load_until_the_field_fits() {
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let uint = b.add_int("unsigned int", 4, IntEncoding::NONE);
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        root = b.add_struct(
            "flags",
            8,
            &[M::bitfield("a", uint, 0, 3), M::bitfield("b", int, 3, 10)],
        );
    });
    // Target: `b` straddles the 4-byte boundary at bits 28..38, so an 8-byte load is needed.
    let kernel = target(|b| {
        let uint = b.add_int("unsigned int", 4, IntEncoding::NONE);
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct(
            "flags",
            8,
            &[M::bitfield("a", uint, 0, 3), M::bitfield("b", int, 28, 10)],
        );
    });
    let record = |kind| local.record(root, "0:1", kind);
    let offset = resolve(&local, &kernel, record(CoreReloKind::FieldByteOffset)).unwrap();
    assert_eq!(values(&offset), (0, 0, false));
    assert!(!offset.fixup.validate, "bitfield offsets are not validated");
    let size = resolve(&local, &kernel, record(CoreReloKind::FieldByteSize)).unwrap();
    assert_eq!(values(&size), (4, 8, false));
    // Little endian: lshift = 64 - (bit_off + bits - byte_off * 8).
    let lshift = resolve(&local, &kernel, record(CoreReloKind::FieldLshiftU64)).unwrap();
    assert_eq!(values(&lshift), (64 - 13, 64 - 38, false));
    let rshift = resolve(&local, &kernel, record(CoreReloKind::FieldRshiftU64)).unwrap();
    assert_eq!(values(&rshift), (54, 54, false));
    assert!(rshift.fixup.validate, "the right shift is never ambiguous");
    let signed = resolve(&local, &kernel, record(CoreReloKind::FieldSigned)).unwrap();
    assert_eq!(values(&signed), (1, 1, false));
    let unsigned = resolve(
        &local,
        &kernel,
        local.record(root, "0:0", CoreReloKind::FieldSigned),
    )
    .unwrap();
    assert_eq!(values(&unsigned), (0, 0, false));
}

#[test]
fn bitfields_that_no_load_holds_are_errors() {
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        root = b.add_struct(
            "w",
            8,
            &[M::bitfield("a", int, 0, 3), M::bitfield("b", int, 3, 10)],
        );
    });
    let kernel = target(|b| {
        let long = b.add_int("long", 8, IntEncoding::SIGNED);
        b.add_struct(
            "w",
            16,
            &[M::bitfield("a", long, 0, 3), M::bitfield("b", long, 60, 10)],
        );
    });
    let err = resolve(
        &local,
        &kernel,
        local.record(root, "0:1", CoreReloKind::FieldByteSize),
    )
    .unwrap_err();
    assert!(
        matches!(
            *err.reason,
            ReloErrorKind::BitfieldTooWide {
                bit_offset: 60,
                bit_size: 10
            }
        ),
        "{err}"
    );
}

#[test]
fn load_size_changes_are_allowed_only_for_unsigned_ints_and_pointers() {
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let u32_ = b.add_int("unsigned int", 4, IntEncoding::NONE);
        let s32 = b.add_int("int", 4, IntEncoding::SIGNED);
        root = b.add_struct("s", 8, &[M::new("u", u32_, 0), M::new("i", s32, 32)]);
    });
    let kernel = target(|b| {
        let u64_ = b.add_int("unsigned long", 8, IntEncoding::NONE);
        let s64 = b.add_int("long", 8, IntEncoding::SIGNED);
        b.add_struct("s", 16, &[M::new("u", u64_, 0), M::new("i", s64, 64)]);
    });
    let u = resolve(
        &local,
        &kernel,
        local.record(root, "0:0", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    let mem = u.fixup.mem_size.expect("byte_off carries the field sizes");
    assert!(mem.changes() && mem.resizable());
    let i = resolve(
        &local,
        &kernel,
        local.record(root, "0:1", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    let mem = i.fixup.mem_size.unwrap();
    assert!(mem.changes() && !mem.resizable());
    assert_eq!(values(&i), (4, 8, false));
}

#[test]
fn field_type_compatibility_rules() {
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let e = b.add_enum("color", 4, false, &[("RED", 0)]);
        let p = b.add_ptr(int);
        root = b.add_struct(
            "s",
            24,
            &[M::new("n", int, 0), M::new("e", e, 32), M::new("p", p, 64)],
        );
    });
    // Target: `n` became a struct (incompatible with int), `e` a differently named enum,
    // `p` a pointer to something else (pointers are always compatible).
    let kernel = target(|b| {
        let chr = b.add_int("char", 1, IntEncoding::SIGNED);
        let inner = b.add_struct("inner", 4, &[]);
        let e = b.add_enum("colour", 4, false, &[("RED", 0)]);
        let p = b.add_ptr(chr);
        b.add_struct(
            "s",
            24,
            &[
                M::new("n", inner, 0),
                M::new("e", e, 32),
                M::new("p", p, 128),
            ],
        );
    });
    let n = resolve(
        &local,
        &kernel,
        local.record(root, "0:0", CoreReloKind::FieldExists),
    )
    .unwrap();
    assert_eq!(values(&n), (1, 0, false));
    let e = resolve(
        &local,
        &kernel,
        local.record(root, "0:1", CoreReloKind::FieldExists),
    )
    .unwrap();
    assert_eq!(values(&e), (1, 0, false));
    let p = resolve(
        &local,
        &kernel,
        local.record(root, "0:2", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    assert_eq!(values(&p), (8, 16, false));
}

#[test]
fn type_based_kinds() {
    let (mut s, mut td) = (TypeId::VOID, TypeId::VOID);
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        s = b.add_struct("s", 8, &[M::new("a", int, 0), M::new("b", int, 32)]);
        td = b.add_typedef("s_t", s);
    });
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let s = b.add_struct(
            "s",
            12,
            &[
                M::new("b", int, 0),
                M::new("a", int, 32),
                M::new("c", int, 64),
            ],
        );
        b.add_typedef("s_t", s);
    });
    let exists = resolve(
        &local,
        &kernel,
        local.record(s, "0", CoreReloKind::TypeExists),
    )
    .unwrap();
    assert_eq!(values(&exists), (1, 1, false));
    let size = resolve(
        &local,
        &kernel,
        local.record(s, "0", CoreReloKind::TypeSize),
    )
    .unwrap();
    assert_eq!(values(&size), (8, 12, false));
    let td_size = resolve(
        &local,
        &kernel,
        local.record(td, "0", CoreReloKind::TypeSize),
    )
    .unwrap();
    assert_eq!(values(&td_size), (8, 12, false));
    let id = resolve(
        &local,
        &kernel,
        local.record(s, "0", CoreReloKind::TypeIdTarget),
    )
    .unwrap();
    assert_eq!(values(&id), (u64::from(s.0), 2, false));
    assert!(!id.fixup.validate, "linking renumbers local ids");
    let local_id = resolve(
        &local,
        &kernel,
        local.record(td, "0", CoreReloKind::TypeIdLocal),
    )
    .unwrap();
    assert_eq!(values(&local_id), (u64::from(td.0), u64::from(td.0), false));
    assert!(local_id.candidates.is_empty());
    // Members by name in any order, a superset in the target: matches.
    let matches = resolve(
        &local,
        &kernel,
        local.record(s, "0", CoreReloKind::TypeMatches),
    )
    .unwrap();
    assert_eq!(values(&matches), (1, 1, false));
    // Type-based kinds take exactly "0".
    let err = resolve(
        &local,
        &kernel,
        local.record(s, "0:0", CoreReloKind::TypeExists),
    )
    .unwrap_err();
    assert!(
        matches!(
            *err.reason,
            ReloErrorKind::Spec {
                error: SpecError::TypeBasedNotZero(_)
            }
        ),
        "{err}"
    );
}

#[test]
fn type_matches_is_stricter_than_compatibility() {
    let mut s = TypeId::VOID;
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        s = b.add_struct("s", 8, &[M::new("a", int, 0), M::new("b", int, 32)]);
    });
    // Same name, member `b` is unsigned in the target: compatible, but does not match.
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let uint = b.add_int("unsigned int", 4, IntEncoding::NONE);
        b.add_struct("s", 8, &[M::new("a", int, 0), M::new("b", uint, 32)]);
    });
    let exists = resolve(
        &local,
        &kernel,
        local.record(s, "0", CoreReloKind::TypeExists),
    )
    .unwrap();
    assert_eq!(values(&exists), (1, 1, false));
    let matches = resolve(
        &local,
        &kernel,
        local.record(s, "0", CoreReloKind::TypeMatches),
    )
    .unwrap();
    assert_eq!(values(&matches), (1, 0, false));
    assert!(
        matches!(
            matches.candidates[0].rejected,
            Some(Rejection::LayoutMismatch { .. })
        ),
        "{:?}",
        matches.candidates
    );
}

#[test]
fn type_matches_pointer_to_forward_declaration() {
    let mut s = TypeId::VOID;
    let local = Local::new(|b| {
        let inner = b.add_struct("inner", 4, &[]);
        let p = b.add_ptr(inner);
        s = b.add_struct("s", 8, &[M::new("p", p, 0)]);
    });
    let kernel = target(|b| {
        let fwd = b.add_fwd("inner", false);
        let p = b.add_ptr(fwd);
        b.add_struct("s", 8, &[M::new("p", p, 0)]);
    });
    let matches = resolve(
        &local,
        &kernel,
        local.record(s, "0", CoreReloKind::TypeMatches),
    )
    .unwrap();
    assert_eq!(values(&matches), (1, 1, false));
    let union_fwd = target(|b| {
        let fwd = b.add_fwd("inner", true);
        let p = b.add_ptr(fwd);
        b.add_struct("s", 8, &[M::new("p", p, 0)]);
    });
    let matches = resolve(
        &local,
        &union_fwd,
        local.record(s, "0", CoreReloKind::TypeMatches),
    )
    .unwrap();
    assert_eq!(values(&matches), (1, 0, false));
}

#[test]
fn enumerators_exist_and_take_the_target_value() {
    let (mut e, mut e64) = (TypeId::VOID, TypeId::VOID);
    let local = Local::new(|b| {
        e = b.add_enum("state", 4, false, &[("IDLE", 0), ("BUSY", 1)]);
        e64 = b.add_enum64("big", 8, false, &[("SMALL", 1), ("HUGE", 1 << 40)]);
    });
    // The target swaps representations: `state` is an ENUM64, `big` an ENUM.
    let kernel = target(|b| {
        b.add_enum64("state", 8, false, &[("BUSY", 7), ("IDLE", 1 << 33)]);
        b.add_enum("big", 4, false, &[("SMALL", 2)]);
    });
    let busy = resolve(
        &local,
        &kernel,
        local.record(e, "1", CoreReloKind::EnumvalValue),
    )
    .unwrap();
    assert_eq!(values(&busy), (1, 7, false));
    assert_eq!(busy.access.to_string(), "enum state::BUSY");
    let idle = resolve(
        &local,
        &kernel,
        local.record(e, "0", CoreReloKind::EnumvalValue),
    )
    .unwrap();
    assert_eq!(values(&idle), (0, 1 << 33, false));
    let huge = resolve(
        &local,
        &kernel,
        local.record(e64, "1", CoreReloKind::EnumvalExists),
    )
    .unwrap();
    assert_eq!(values(&huge), (1, 0, false));
    let huge_value = resolve(
        &local,
        &kernel,
        local.record(e64, "1", CoreReloKind::EnumvalValue),
    )
    .unwrap();
    assert_eq!(values(&huge_value), (1 << 40, 0, true));
    let small = resolve(
        &local,
        &kernel,
        local.record(e64, "0", CoreReloKind::EnumvalValue),
    )
    .unwrap();
    assert_eq!(values(&small), (1, 2, false));
}

#[test]
fn thirty_two_bit_enum_values_widen_by_signedness() {
    let (mut unsigned, mut signed) = (TypeId::VOID, TypeId::VOID);
    let local = Local::new(|b| {
        unsigned = b.add_enum("flags", 4, false, &[("TOP", 0)]);
        signed = b.add_enum("err", 4, true, &[("NEG", 0)]);
    });
    let kernel = target(|b| {
        b.add_enum("flags", 4, false, &[("TOP", 0x8000_0000)]);
        b.add_enum("err", 4, true, &[("NEG", -1)]);
    });
    // libbpf would write 0xffffffff80000000 here: a deliberate difference.
    let top = resolve(
        &local,
        &kernel,
        local.record(unsigned, "0", CoreReloKind::EnumvalValue),
    )
    .unwrap();
    assert_eq!(top.fixup.new_val, 0x8000_0000);
    let neg = resolve(
        &local,
        &kernel,
        local.record(signed, "0", CoreReloKind::EnumvalValue),
    )
    .unwrap();
    assert_eq!(neg.fixup.new_val, u64::MAX);
}

#[test]
fn ambiguous_candidates_fail_and_agreeing_ones_do_not() {
    let (local, root) = nested_local();
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct("s", 8, &[M::new("a", int, 0)]);
        b.add_struct("s___dup", 8, &[M::new("a", int, 0)]);
        b.add_struct(
            "s___other",
            8,
            &[M::new("pad", int, 0), M::new("a", int, 32)],
        );
    });
    let err = resolve(
        &local,
        &kernel,
        local.record(root, "0:0", CoreReloKind::FieldByteOffset),
    )
    .unwrap_err();
    let ReloErrorKind::Ambiguous(ambiguity) = &*err.reason else {
        panic!("{err}");
    };
    let ids: Vec<TypeId> = ambiguity.candidates.iter().map(|c| c.id).collect();
    assert_eq!(ids, [TypeId(2), TypeId(3), TypeId(4)]);
    assert_eq!(ambiguity.local_type.to_string(), "struct s");
    assert_eq!(ambiguity.record_index, 0);
    assert_eq!(
        ambiguity.results[2],
        CandidateResult::Value {
            value: 4,
            bit_offset: Some(32)
        }
    );
    assert!(err.to_string().contains("struct s.a"), "{err}");
    // As in libbpf, candidates must agree on the field's position even when only its
    // existence is asked.
    let exists = resolve(
        &local,
        &kernel,
        local.record(root, "0:0", CoreReloKind::FieldExists),
    )
    .unwrap_err();
    assert!(
        matches!(*exists.reason, ReloErrorKind::Ambiguous(_)),
        "{exists}"
    );
    // Two identical candidates are not ambiguous.
    let dup = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct("s", 8, &[M::new("pad", int, 0), M::new("a", int, 32)]);
        b.add_struct("s___dup", 8, &[M::new("pad", int, 0), M::new("a", int, 32)]);
    });
    let r = resolve(
        &local,
        &dup,
        local.record(root, "0:0", CoreReloKind::FieldByteOffset),
    )
    .unwrap();
    assert_eq!(values(&r), (0, 4, false));
    assert_eq!(r.candidates.len(), 2);
}

/// Results as comparable text, in record order.
fn outcomes(results: Vec<Result<Resolution, ReloError>>) -> Vec<String> {
    results
        .into_iter()
        .map(|r| match r {
            Ok(r) => format!("{:?}", values(&r)),
            Err(e) => format!("{:?}", e.reason.to_string()),
        })
        .collect()
}

/// `records` resolved forwards and backwards give the same answers, which are returned.
fn order_independent(local: &Local, kernel: &Btf<'_>, records: &[CoreRelo]) -> Vec<String> {
    let forward = outcomes(resolve_all(
        local,
        &[(VMLINUX, kernel)],
        records,
        EngineOptions::default(),
    ));
    let mut reversed = records.to_vec();
    reversed.reverse();
    let mut backward = outcomes(resolve_all(
        local,
        &[(VMLINUX, kernel)],
        &reversed,
        EngineOptions::default(),
    ));
    backward.reverse();
    assert_eq!(forward, backward);
    forward
}

#[test]
fn record_order_never_changes_a_result() {
    // libbpf prunes a shared candidate list: a record that rejects `s___a` first changes what
    // a later record of the same type sees. Here `x` exists only in `s___b`, `a` in both at
    // different offsets: `s___b` leaves no record unmatched, so it wins for every record.
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        root = b.add_struct("s", 8, &[M::new("a", int, 0), M::new("x", int, 32)]);
    });
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct("s___a", 8, &[M::new("a", int, 0)]);
        b.add_struct("s___b", 8, &[M::new("x", int, 0), M::new("a", int, 32)]);
    });
    let records = vec![
        local.record(root, "0:1", CoreReloKind::FieldByteOffset),
        local.record(root, "0:0", CoreReloKind::FieldByteOffset),
        local.record(root, "0:0", CoreReloKind::FieldExists),
        local.record(root, "0", CoreReloKind::TypeSize),
    ];
    let results = order_independent(&local, &kernel, &records);
    assert_eq!(
        results,
        [
            "(4, 0, false)",
            "(0, 4, false)",
            "(1, 1, false)",
            "(8, 8, false)"
        ]
    );
}

#[test]
fn one_local_type_binds_to_the_candidate_that_leaves_fewest_records_unmatched() {
    // The example: local `{a, b}` against `x {a, b}` and `y {b, c}`. libbpf binds `b`
    // to `y` when `b` is read first, then refuses `a`; we take `x` in both orders.
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        root = b.add_struct("s", 8, &[M::new("a", int, 0), M::new("b", int, 32)]);
    });
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct("s___x", 8, &[M::new("a", int, 0), M::new("b", int, 32)]);
        b.add_struct("s___y", 8, &[M::new("b", int, 0), M::new("c", int, 32)]);
    });
    let a = local.record(root, "0:0", CoreReloKind::FieldByteOffset);
    let b = local.record(root, "0:1", CoreReloKind::FieldByteOffset);
    assert_eq!(
        order_independent(&local, &kernel, &[a, b]),
        ["(0, 0, false)", "(4, 4, false)"]
    );
    assert_eq!(
        order_independent(&local, &kernel, &[b, a]),
        ["(4, 4, false)", "(0, 0, false)"]
    );
    // The report says why: x leaves nothing unmatched, y leaves `a`.
    let results = resolve_all(
        &local,
        &[(VMLINUX, &kernel)],
        &[b, a],
        EngineOptions::default(),
    );
    let b = results[0].as_ref().unwrap();
    assert_eq!(b.target.as_ref().map(|t| t.id), Some(TypeId(2)));
    let scores: Vec<(TypeId, usize, bool)> = b
        .candidates
        .iter()
        .map(|c| (c.target.id, c.misses, c.chosen))
        .collect();
    assert_eq!(scores, [(TypeId(2), 0, true), (TypeId(3), 1, false)]);
    // Each record alone would be ambiguous for `b` (4 in x, 0 in y); together they are not.
    let alone = resolve(
        &local,
        &kernel,
        local.record(root, "0:1", CoreReloKind::FieldByteOffset),
    );
    assert!(
        matches!(
            alone.as_ref().map_err(|e| &*e.reason),
            Err(ReloErrorKind::Ambiguous(_))
        ),
        "{alone:?}"
    );
}

#[test]
fn tied_candidates_that_disagree_fail_every_record_of_the_type() {
    // Two flavors with the same members in another order: both match everything, and they
    // disagree on every offset.
    let mut root = TypeId::VOID;
    let mut other = TypeId::VOID;
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        root = b.add_struct("s", 8, &[M::new("a", int, 0), M::new("b", int, 32)]);
        other = b.add_struct("t", 4, &[M::new("a", int, 0)]);
    });
    let kernel = target(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct("s___one", 8, &[M::new("a", int, 0), M::new("b", int, 32)]);
        b.add_struct("s___two", 8, &[M::new("b", int, 0), M::new("a", int, 32)]);
        b.add_struct("t", 8, &[M::new("a", int, 32)]);
    });
    let records = [
        local.record(root, "0", CoreReloKind::TypeSize),
        local.record(root, "0:1", CoreReloKind::FieldByteOffset),
        local.record(other, "0:0", CoreReloKind::FieldByteOffset),
    ];
    let results = resolve_all(
        &local,
        &[(VMLINUX, &kernel)],
        &records,
        EngineOptions::default(),
    );
    for result in &results[..2] {
        let err = result.as_ref().unwrap_err();
        let ReloErrorKind::Ambiguous(ambiguity) = &*err.reason else {
            panic!("{err}");
        };
        // The size agrees (8 in both): the first disagreement is record #1, `b`.
        assert_eq!(ambiguity.record_index, 1);
        assert_eq!(ambiguity.access.to_string(), "struct s.b");
        assert_eq!(ambiguity.misses, 0);
        assert_eq!(
            ambiguity.candidates,
            [
                TargetRef {
                    origin: BtfOrigin::Vmlinux,
                    id: TypeId(2)
                },
                TargetRef {
                    origin: BtfOrigin::Vmlinux,
                    id: TypeId(3)
                },
            ]
        );
        let text = err.to_string();
        assert!(
            text.contains("struct s") && text.contains("[2] in vmlinux gives 4 (bit offset 32)"),
            "{text}"
        );
    }
    // Another local type of the same program is not affected.
    assert_eq!(values(results[2].as_ref().unwrap()), (0, 4, false));
}

/// vmlinux with `struct net_device`; e1000 and e1000e each define `struct e1000_adapter`
/// with `netdev` at a different offset.
struct TwoModules {
    vmlinux: Arc<Btf<'static>>,
    e1000: Btf<'static>,
    e1000e: Btf<'static>,
}

fn two_modules() -> TwoModules {
    let mut base = BtfBuilder::new();
    let long = base.add_int("unsigned long", 8, IntEncoding::NONE);
    let netdev = base.add_struct("net_device", 8, &[M::new("state", long, 0)]);
    let ptr = base.add_ptr(netdev);
    let vmlinux = Arc::new(Btf::parse(base.build()).unwrap());
    let module = |offset: u32| {
        let mut split = BtfBuilder::new_split(&vmlinux);
        split.add_struct(
            "e1000_adapter",
            64,
            &[M::new("flags", long, 0), M::new("netdev", ptr, offset * 8)],
        );
        Btf::parse_split(split.build(), vmlinux.clone()).unwrap()
    };
    TwoModules {
        e1000: module(8),
        e1000e: module(16),
        vmlinux,
    }
}

fn adapter_local() -> (Local, CoreRelo) {
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let long = b.add_int("unsigned long", 8, IntEncoding::NONE);
        let netdev = b.add_struct("net_device", 8, &[M::new("state", long, 0)]);
        let ptr = b.add_ptr(netdev);
        root = b.add_struct("e1000_adapter", 8, &[M::new("netdev", ptr, 0)]);
    });
    let record = local.record(root, "0:0", CoreReloKind::FieldByteOffset);
    (local, record)
}

#[test]
fn two_modules_defining_the_type_in_one_tier_are_ambiguous() {
    let kernel = two_modules();
    let (local, record) = adapter_local();
    let e1000 = BtfOrigin::module("e1000");
    let e1000e = BtfOrigin::module("e1000e");
    let results = resolve_all(
        &local,
        &[
            (VMLINUX, &kernel.vmlinux),
            (&e1000, &kernel.e1000),
            (&e1000e, &kernel.e1000e),
        ],
        &[record],
        EngineOptions::default(),
    );
    let err = results[0].as_ref().unwrap_err();
    let ReloErrorKind::Ambiguous(ambiguity) = &*err.reason else {
        panic!("{err}");
    };
    let origins: Vec<&str> = ambiguity
        .candidates
        .iter()
        .map(|c| c.origin.name())
        .collect();
    assert_eq!(origins, ["e1000", "e1000e"]);
    assert!(err.to_string().contains("in e1000e gives 16"), "{err}");
}

#[test]
fn the_attach_target_module_beats_an_explicit_one_and_explicit_beats_searched() {
    let kernel = two_modules();
    let (local, record) = adapter_local();
    let e1000 = BtfOrigin::module("e1000");
    let e1000e = BtfOrigin::module("e1000e");
    let offset = |modules: &[(&BtfOrigin, &Btf<'_>, ModuleRole)], attach: &[BtfOrigin]| {
        let results = resolve_program(
            &local,
            &kernel.vmlinux,
            modules,
            attach,
            &[record],
            EngineOptions::default(),
        );
        let resolved = results.into_iter().next().unwrap().unwrap();
        (
            resolved.fixup.new_val,
            resolved.target.unwrap().origin,
            resolved.candidates.len(),
        )
    };
    // The program attaches to e1000; e1000e is named explicitly: e1000 wins outright.
    assert_eq!(
        offset(
            &[
                (&e1000, &kernel.e1000, ModuleRole::AttachTarget),
                (&e1000e, &kernel.e1000e, ModuleRole::Explicit)
            ],
            std::slice::from_ref(&e1000)
        ),
        (8, e1000.clone(), 1)
    );
    // The same modules for a program attached to e1000e.
    assert_eq!(
        offset(
            &[
                (&e1000, &kernel.e1000, ModuleRole::Explicit),
                (&e1000e, &kernel.e1000e, ModuleRole::AttachTarget)
            ],
            std::slice::from_ref(&e1000e)
        ),
        (16, e1000e.clone(), 1)
    );
    // Named explicitly beats found by the on-miss search.
    assert_eq!(
        offset(
            &[
                (&e1000, &kernel.e1000, ModuleRole::Searched),
                (&e1000e, &kernel.e1000e, ModuleRole::Explicit)
            ],
            &[]
        ),
        (16, e1000e.clone(), 1)
    );
    // A module that is only another program's attach target takes no part here.
    assert_eq!(
        offset(
            &[
                (&e1000, &kernel.e1000, ModuleRole::AttachTarget),
                (&e1000e, &kernel.e1000e, ModuleRole::Searched)
            ],
            &[]
        ),
        (16, e1000e.clone(), 1)
    );
}

#[test]
fn a_shared_subprogram_record_must_get_one_value_in_every_program() {
    let kernel = two_modules();
    let (local, record) = adapter_local();
    let e1000 = BtfOrigin::module("e1000");
    let e1000e = BtfOrigin::module("e1000e");
    let mut set = Targets::new(TargetBtf {
        origin: VMLINUX,
        btf: &kernel.vmlinux,
    });
    set.add_module(
        TargetBtf {
            origin: &e1000,
            btf: &kernel.e1000,
        },
        ModuleRole::AttachTarget,
    );
    set.add_module(
        TargetBtf {
            origin: &e1000e,
            btf: &kernel.e1000e,
        },
        ModuleRole::AttachTarget,
    );
    want_record_types(&local.btf, [&record], &mut set);
    set.search();
    let engine = Engine::new(&local.btf, &set, EngineOptions::default());
    // One record in .text, called by a program attached to each module.
    let shared = RelocationSite {
        record_index: 0,
        section_index: 2,
        insn_index: 4,
    };
    let program = |name: &str, module: &BtfOrigin| ProgramRecords {
        name: name.into(),
        attach_modules: vec![module.clone()],
        records: vec![(shared, record)],
    };
    let outcomes = engine.resolve_programs(&[
        program("kprobe/e1000_watchdog", &e1000),
        program("kprobe/e1000e_watchdog", &e1000e),
    ]);
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].programs, [0, 1]);
    let err = outcomes[0].result.as_ref().unwrap_err();
    let ReloErrorKind::ProgramsDisagree { first, second } = &*err.reason else {
        panic!("{err}");
    };
    assert_eq!(
        (first.program.as_str(), first.fixup.new_val),
        ("kprobe/e1000_watchdog", 8)
    );
    assert_eq!(
        (second.program.as_str(), second.fixup.new_val),
        ("kprobe/e1000e_watchdog", 16)
    );
    assert!(
        err.to_string()
            .contains("kprobe/e1000_watchdog and kprobe/e1000e_watchdog"),
        "{err}"
    );
    // Two programs attached to the same module agree.
    let outcomes =
        engine.resolve_programs(&[program("kprobe/a", &e1000), program("kprobe/b", &e1000)]);
    assert_eq!(outcomes[0].result.as_ref().unwrap().fixup.new_val, 8);
}

#[test]
fn modules_are_searched_only_for_names_vmlinux_lacks() {
    let (mut inode, mut btrfs_inode) = (TypeId::VOID, TypeId::VOID);
    let local = Local::new(|b| {
        let long = b.add_int("unsigned long", 8, IntEncoding::NONE);
        inode = b.add_struct("inode", 8, &[M::new("i_ino", long, 0)]);
        btrfs_inode = b.add_struct("btrfs_inode", 16, &[M::new("vfs_inode", inode, 64)]);
    });
    let mut base = BtfBuilder::new();
    let long = base.add_int("unsigned long", 8, IntEncoding::NONE);
    let vm_inode = base.add_struct(
        "inode",
        32,
        &[M::new("i_mode", long, 0), M::new("i_ino", long, 64)],
    );
    let vmlinux = Arc::new(Btf::parse(base.build()).unwrap());
    let mut split = BtfBuilder::new_split(&vmlinux);
    let module_type = split.add_struct(
        "btrfs_inode",
        300,
        &[M::new("vfs_inode", vm_inode, 128 * 8)],
    );
    // A module-local `inode` that must lose to vmlinux's.
    split.add_struct("inode", 4, &[M::new("i_ino", long, 0)]);
    let btrfs = Btf::parse_split(split.build(), vmlinux.clone()).unwrap();
    let btrfs_origin = BtfOrigin::module("btrfs");

    let records = [
        local.record(btrfs_inode, "0:0:0", CoreReloKind::FieldByteOffset),
        local.record(inode, "0:0", CoreReloKind::FieldByteOffset),
        local.record(btrfs_inode, "0", CoreReloKind::TypeIdTarget),
        local.record(btrfs_inode, "0", CoreReloKind::TypeExists),
    ];
    let without = resolve_all(
        &local,
        &[(VMLINUX, &vmlinux)],
        &records,
        EngineOptions::default(),
    );
    assert!(without[0].as_ref().unwrap().fixup.is_poison());
    assert_eq!(values(without[3].as_ref().unwrap()), (1, 0, false));

    let with = resolve_all(
        &local,
        &[(VMLINUX, &vmlinux), (&btrfs_origin, &btrfs)],
        &records,
        EngineOptions::default(),
    );
    let ino = with[0].as_ref().unwrap();
    assert_eq!(values(ino), (8, 128 + 8, false));
    assert_eq!(
        ino.target,
        Some(TargetRef {
            origin: btrfs_origin.clone(),
            id: module_type
        })
    );
    let vfs = with[1].as_ref().unwrap();
    assert_eq!(vfs.target.as_ref().unwrap().origin, BtfOrigin::Vmlinux);
    assert_eq!(
        vfs.candidates.len(),
        1,
        "the module's `inode` is not a candidate"
    );
    let id = with[2].as_ref().unwrap();
    assert_eq!(id.fixup.new_val, u64::from(module_type.0));
    assert_eq!(values(with[3].as_ref().unwrap()), (1, 1, false));

    let strict = EngineOptions {
        strict_module_type_ids: true,
    };
    let strict = resolve_all(
        &local,
        &[(VMLINUX, &vmlinux), (&btrfs_origin, &btrfs)],
        &records,
        strict,
    );
    let err = strict[2].as_ref().unwrap_err();
    assert!(
        matches!(&*err.reason, ReloErrorKind::ModuleTypeId { target } if target.origin == btrfs_origin),
        "{err}"
    );
    assert!(strict[0].is_ok());
}

#[test]
fn local_errors_name_the_relocation() {
    let (local, root) = nested_local();
    let kernel = target(|b| {
        b.add_int("int", 4, IntEncoding::SIGNED);
    });
    let bad_type = CoreRelo {
        type_id: 999,
        ..local.record(root, "0:0", CoreReloKind::FieldByteOffset)
    };
    let err = resolve(&local, &kernel, bad_type).unwrap_err();
    assert!(
        matches!(*err.reason, ReloErrorKind::LocalType { .. }),
        "{err}"
    );
    assert_eq!(err.access.to_string(), "0:0");
    let out_of_range = resolve(
        &local,
        &kernel,
        local.record(root, "0:3", CoreReloKind::FieldByteOffset),
    )
    .unwrap_err();
    assert!(
        matches!(
            *out_of_range.reason,
            ReloErrorKind::Spec {
                error: SpecError::IndexOutOfRange { index: 3, .. }
            }
        ),
        "{out_of_range}"
    );
    assert!(
        out_of_range
            .to_string()
            .starts_with("relocation #0 at insn #0 of section 3: byte_off of `0:3`"),
        "{out_of_range}"
    );
    let bad_string = CoreRelo {
        access_str_off: 1 << 20,
        ..local.record(root, "0", CoreReloKind::FieldByteOffset)
    };
    assert!(resolve(&local, &kernel, bad_string).is_err());
    let into_int = resolve(
        &local,
        &kernel,
        local.record(root, "0:0:1", CoreReloKind::FieldByteOffset),
    )
    .unwrap_err();
    assert!(
        matches!(
            *into_int.reason,
            ReloErrorKind::Spec {
                error: SpecError::NotIndexable { .. }
            }
        ),
        "{into_int}"
    );
}

#[test]
fn anonymous_local_types_cannot_be_searched() {
    let mut root = TypeId::VOID;
    let local = Local::new(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        root = b.add_struct("", 4, &[M::new("a", int, 0)]);
    });
    let kernel = target(|b| {
        b.add_int("int", 4, IntEncoding::SIGNED);
    });
    let err = resolve(
        &local,
        &kernel,
        local.record(root, "0:0", CoreReloKind::FieldByteOffset),
    )
    .unwrap_err();
    assert!(matches!(*err.reason, ReloErrorKind::AnonymousType), "{err}");
    assert_eq!(err.access.to_string(), "<anon struct>.a");
}

#[test]
fn self_referential_anonymous_members_end_in_an_error() {
    let (local, root) = nested_local();
    // `struct s { <anon> s; }` — the anonymous member is the struct itself.
    let kernel = target(|b| {
        let next = b.next_type_id();
        b.add_struct("s", 8, &[M::new("", next, 0)]);
    });
    let err = resolve(
        &local,
        &kernel,
        local.record(root, "0:0", CoreReloKind::FieldByteOffset),
    )
    .unwrap_err();
    assert!(
        matches!(
            *err.reason,
            ReloErrorKind::Spec {
                error: SpecError::TooLong
            }
        ),
        "{err}"
    );
}
