//! What every fuzz target does after a successful parse: walk everything the reader exposes,
//! so that a malformed input which parses cannot make a later accessor panic or loop.
//!
//! The checks here are invariants, not just "does not crash": a name lookup must find a type
//! of that name and kind at or below the id that was looked up, and every type a lookup returns
//! must be readable.

use std::sync::Arc;

use core_reloc::BtfOrigin;
use core_reloc::btf::{
    Btf, BtfBuilder, DatasecEntry, IntEncoding, Kind, Linkage, MemberSpec, Type, TypeId,
};
use core_reloc::btf_file::{BtfFile, Container};
use core_reloc::composite::CompositeBtf;
use core_reloc::engine::{EngineOptions, Targets, want_named_types, want_record_types};
use core_reloc::ext::BtfExt;
use core_reloc::object::BpfObject;
use core_reloc::pipeline;
use core_reloc::target::TargetBtf;

/// Name look-ups per input: the first one builds the name index, a few more test it. Bounded
/// so that large inputs stay fast enough to fuzz.
const NAME_LOOKUPS: usize = 64;

/// Visits every own type of `btf` (base types are only visited through references).
pub fn exercise_btf(btf: &Btf<'_>) {
    let _ = btf.header();
    let count = btf.type_count();
    assert!(btf.first_type_id().0 <= count);
    assert_eq!(btf.types().len(), btf.own_type_count());

    let mut lookups = 0;
    for ty in btf.types() {
        let id = ty.id();
        assert!(id.0 >= btf.first_type_id().0 && id.0 < count);
        let by_id = btf.type_by_id(id).expect("an id from iteration resolves");
        assert_eq!(by_id.kind(), ty.kind());
        exercise_type(btf, &ty);

        if lookups < NAME_LOOKUPS
            && let Ok(name) = btf.name(&ty)
            && !name.is_empty()
        {
            lookups += 1;
            let found = btf
                .find_by_name_kind(name, ty.kind())
                .expect("a named type is found by its own name and kind");
            assert!(found <= id, "lookup returns the lowest id");
            assert_eq!(
                btf.type_by_id(found).map(|t| t.kind()).ok(),
                Some(ty.kind())
            );
            assert!(btf.types_by_name(name).any(|other| other == id));
        }
    }
    // A name absent from the input is not found; the fuzzer may put this one in, so the
    // expected answer is a linear scan, not `None`.
    let absent = "no_such_type_xyz";
    let expected = btf
        .types()
        .find(|ty| ty.kind() == Kind::Struct && btf.name(ty).is_ok_and(|name| name == absent))
        .map(|ty| ty.id());
    assert_eq!(btf.find_by_name_kind(absent, Kind::Struct), expected);
    let _ = btf.own_strings_contain("task_struct");
    let _ = btf.type_by_id(TypeId(count));
    let _ = btf.type_by_id(TypeId(u32::MAX));
    let _ = btf.str_at(btf.strings_end());
}

fn exercise_type(btf: &Btf<'_>, ty: &Type<'_>) {
    let id = ty.id();
    let _ = btf.name(ty);
    let _ = (
        ty.info(),
        ty.vlen(),
        ty.kind_flag(),
        ty.size(),
        ty.data(),
        ty.record(),
    );
    let _ = btf.resolved_size(id);
    let _ = btf.skip_mods(id);
    let _ = btf.skip_mods_and_typedefs(id);
    if let Some(target) = ty.type_ref() {
        let _ = btf.type_by_id(target);
        let _ = btf.resolved_size(target);
    }
    if let Some(int) = ty.int() {
        let _ = (
            int.encoding.is_signed(),
            int.encoding.is_char(),
            int.encoding.is_bool(),
        );
    }
    if let Some(array) = ty.array() {
        let _ = btf.resolved_size(array.elem_type);
        let _ = btf.type_by_id(array.index_type);
    }
    if let Some(members) = ty.members() {
        let vlen = members.len();
        let last = members.clone().next_back();
        assert_eq!(last, members.get(vlen.wrapping_sub(1)));
        for member in members {
            let _ = btf.str_at(member.name_offset);
            let _ = btf.resolved_size(member.type_id);
            let _ = btf.skip_mods_and_typedefs(member.type_id);
            let _ = (member.bit_offset, member.bitfield_size);
        }
    }
    if let Some(values) = ty.enum_values() {
        let _ = ty.enum_is_signed();
        for value in values {
            let _ = btf.str_at(value.name_offset);
            let _ = (value.as_i64(), value.lo32(), value.hi32());
        }
    }
    if let Some(params) = ty.params() {
        for param in params {
            let _ = btf.str_at(param.name_offset);
            let _ = btf.skip_mods_and_typedefs(param.type_id);
        }
    }
    if let Some(entries) = ty.datasec_entries() {
        for entry in entries {
            let _ = btf.type_by_id(entry.type_id);
        }
    }
    let _ = (ty.linkage(), ty.decl_tag_component(), ty.fwd_is_union());
}

/// The distilled base of a module on [`small_base`] that refers to its `int`, `long`,
/// `struct list_head`, `struct inode` and `enum state`: the base the `split_base` target
/// relocates from.
pub fn small_distilled_base() -> Arc<Btf<'static>> {
    let base = small_base();
    let id = |name: &str, kind: Kind| base.find_by_name_kind(name, kind).expect("in small_base");
    let mut module = BtfBuilder::new_split(&base);
    module.add_struct(
        "module_state",
        104,
        &[
            MemberSpec::new("n", id("int", Kind::Int), 0),
            MemberSpec::new("l", id("long", Kind::Int), 64),
            MemberSpec::new("list", id("list_head", Kind::Struct), 128),
            MemberSpec::new("inode", id("inode", Kind::Struct), 256),
            MemberSpec::new("state", id("state", Kind::Enum), 832),
        ],
    );
    let module = Btf::parse_split(module.build(), base).expect("the module parses");
    let distilled = core_reloc::split_base::distill_base(&module).expect("the module distills");
    Arc::new(Btf::parse(distilled.base).expect("the distilled base parses"))
}

/// A small base for split BTF: a few of every kind that split types commonly refer to.
pub fn small_base() -> Arc<Btf<'static>> {
    Arc::new(Btf::parse(small_base_bytes()).expect("the builder makes valid BTF"))
}

/// The bytes of [`small_base`].
pub fn small_base_bytes() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let long = b.add_int("long", 8, IntEncoding::SIGNED);
    let ptr = b.add_ptr(int);
    let array = b.add_array(long, int, 4);
    let list = b.add_struct(
        "list_head",
        16,
        &[
            MemberSpec::new("next", ptr, 0),
            MemberSpec::new("prev", ptr, 64),
        ],
    );
    b.add_struct(
        "inode",
        72,
        &[
            MemberSpec::new("i_ino", long, 0),
            MemberSpec::bitfield("i_flags", int, 64, 3),
            MemberSpec::new("i_list", list, 128),
            MemberSpec::new("i_data", array, 256),
        ],
    );
    b.add_enum("state", 4, false, &[("IDLE", 0), ("BUSY", 1)]);
    let td = b.add_typedef("u64", long);
    b.add_const(td);
    let proto = b.add_func_proto(int, &[("x", td)]);
    b.add_func("f", proto, Linkage::Global);
    let var = b.add_var("v", td, Linkage::Global);
    b.add_datasec(
        ".data",
        8,
        &[DatasecEntry {
            type_id: var,
            offset: 0,
            size: 8,
        }],
    );
    b.build()
}

/// Most bytes a compressed input may inflate to here: small enough for libFuzzer's RSS limit,
/// large enough that real modules inflate.
pub const FUZZ_INFLATE_LIMIT: u64 = 16 << 20;

/// A BTF file of any format (raw BTF, ELF with `.BTF`/`.BTF.base`, xz, zstd): detection,
/// extraction and bounded decompression never panic; what they find parses or fails typed;
/// and the same bytes as a module of a composite fail only that module, in the probe and in
/// the parse.
pub fn exercise_btf_file(data: &[u8]) {
    match BtfFile::parse_with_limit(data, FUZZ_INFLATE_LIMIT) {
        Ok(file) => {
            match file.format.compression {
                None => assert!(
                    file.btf.len() <= data.len(),
                    "a section lies inside the file"
                ),
                Some(_) => assert!(file.btf.len() as u64 <= FUZZ_INFLATE_LIMIT),
            }
            if file.format.container == Container::RawBtf {
                assert!(file.btf_base.is_none());
            }
            if let Some(base) = &file.btf_base
                && let Ok(base) = Btf::parse(&base[..])
            {
                exercise_btf(&base);
            }
            if let Ok(btf) = Btf::parse(&file.btf[..]) {
                exercise_btf(&btf);
            }
        }
        Err(error) => {
            let _ = (error.to_string(), error.path(), error.io_kind());
            assert!(error.path().is_none(), "bytes name no file");
        }
    }
    let kernel = CompositeBtf::from_blobs(small_base_bytes(), [("fuzzed", data.to_vec())])
        .expect("the small base and one named module form a composite");
    let probe = kernel.probe("inode");
    assert!(probe.candidates.len() + probe.errors.len() <= 1);
    let again = kernel.probe("inode");
    assert_eq!(
        again.candidates, probe.candidates,
        "a remembered answer is the same answer"
    );
    match kernel.module("fuzzed") {
        Ok(btf) => exercise_btf(btf),
        Err(error) => assert_eq!(error.module(), "fuzzed"),
    }
}

/// `.BTF.ext` in the byte order `endian`: header, every section, every record by iteration and
/// by index.
pub fn exercise_btf_ext(ext: &BtfExt<'_>) {
    let _ = (
        ext.header(),
        ext.endian(),
        ext.data().len(),
        ext.core_relo_record_size(),
    );
    let _ = ext.core_relo_len_field_offset();
    let mut total = 0;
    let mut sections = 0;
    for section in ext.core_relo_sections() {
        sections += 1;
        let _ = section.sec_name_off();
        assert_eq!(section.first_record_index(), total);
        let records: Vec<_> = section.records().collect();
        assert_eq!(records.len(), section.len());
        assert_eq!(section.is_empty(), records.is_empty());
        for (index, record) in records.iter().enumerate() {
            assert_eq!(section.get(index).as_ref(), Some(record));
            let _ = record.kind.name();
        }
        assert_eq!(section.get(records.len()), None);
        total += records.len();
    }
    assert_eq!(sections, ext.core_relo_section_count());
    assert_eq!(total, ext.core_relo_count());
}

/// A whole object: ELF, `.BTF`, `.BTF.ext`, then the engine against `target` (when the local
/// BTF parses) and, with its fixups, the relocated copy.
pub fn exercise_object(data: &[u8], target: &Btf<'_>) {
    let Ok(object) = BpfObject::parse(data) else {
        return;
    };
    let _ = (object.endian(), object.data().len());
    for program in object.program_sections() {
        assert_eq!(
            object.program_section(program.index).map(|p| p.index),
            Some(program.index)
        );
    }
    if let Some(ext) = object.btf_ext() {
        exercise_btf_ext(ext);
    }
    let records: Vec<_> = object.records().copied().collect();
    assert_eq!(records.len(), object.record_count());

    let Some(Ok(local)) = object.btf().map(Btf::parse) else {
        // Without local BTF no record can resolve; relocating with no fixups must refuse
        // unless there are no records.
        let relocated = object.relocate(&[]);
        assert_eq!(relocated.is_ok(), records.is_empty());
        return;
    };
    exercise_btf(&local);

    // Against a fixed target and against the object's own BTF (every type a candidate of
    // itself, so matching runs deep on fuzzed types).
    for target in [target, &local] {
        let mut targets = Targets::new(TargetBtf {
            origin: &BtfOrigin::Vmlinux,
            btf: target,
        });
        want_record_types(&local, records.iter().map(|r| &r.relo), &mut targets);
        let named_sites = object.named_relocations();
        want_named_types(named_sites.iter().map(|site| &site.reloc), &mut targets);
        targets.search();
        let _ = targets.unresolved_names().count();
        // The whole pipeline: call graph, per-program binding, patching.
        match pipeline::resolve_object(&object, &local, &targets, &[], EngineOptions::default()) {
            Ok(resolutions) => {
                assert_eq!(resolutions.len(), records.len());
                for resolution in &resolutions {
                    match &resolution.result {
                        Ok(resolved) => {
                            let _ = (resolved.access.to_string(), resolved.spec.to_string());
                            for candidate in &resolved.candidates {
                                let _ = candidate.rejected.as_ref().map(ToString::to_string);
                            }
                        }
                        Err(error) => {
                            let _ = error.to_string();
                        }
                    }
                }
                // Patching may refuse (an instruction that does not fit the fixup) but not
                // panic.
                if let Ok(patched) = pipeline::apply(&object, &resolutions) {
                    assert_eq!(patched.bytes.len(), data.len());
                }
            }
            Err(error) => {
                let _ = error.to_string();
            }
        }
        // Named relocations (`core_reloc:` extern symbols): resolving, writing the ld_imm64s
        // and removing their entries never panics and keeps the object's size.
        // A malformed call graph is an error, as for `.BTF.ext` records.
        match pipeline::resolve_named_object(&object, &targets, &[]) {
            Ok(named) => {
                assert_eq!(named.len(), named_sites.len());
                let mut bytes = data.to_vec();
                match pipeline::apply_named(&object, &mut bytes, &named) {
                    Ok(_) => assert_eq!(bytes.len(), data.len()),
                    Err(error) => {
                        let _ = error.to_string();
                    }
                }
            }
            Err(error) => {
                let _ = error.to_string();
            }
        }
    }
}

/// The real 6.12 vmlinux BTF if the kernel fixtures exist, else the small base: split fuzzing
/// on a real base finds what only real id and string ranges reach.
pub fn vmlinux_base() -> Arc<Btf<'static>> {
    let path = std::env::var_os("CORE_RELOC_FUZZ_BASE").map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/kernels/6.12/btf/vmlinux")
        },
        Into::into,
    );
    match Btf::from_file(&path) {
        Ok(btf) => Arc::new(btf),
        Err(error) => {
            eprintln!(
                "{}: {error}; fuzzing on the small base instead",
                path.display()
            );
            small_base()
        }
    }
}
