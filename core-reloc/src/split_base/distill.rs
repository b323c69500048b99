//! Distilling a module's split BTF (libbpf's `btf__distill_base`): the base types it refers
//! to become a small distilled base of named INT, FLOAT, FWD, memberless STRUCT/UNION and
//! sized ENUM, and everything else it needs from vmlinux (pointers, arrays, typedefs,
//! modifiers, prototypes, anonymous composites and enums) moves into the split.

use crate::btf::{Btf, Endianness, Kind, Type, TypeId};

use super::error::DistillError;
use super::fields::{self, Fields};
use super::writer::{RawBtfWriter, get_u32, put_u32, u32_bytes};

/// A distilled base and the split BTF on it: the `.BTF.base` and `.BTF` of a module that
/// can be relocated onto any vmlinux with [`relocate_split`](super::relocate_split).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistilledBtf {
    /// Raw base BTF (the `.BTF.base` section).
    pub base: Vec<u8>,
    /// Raw split BTF on `base` (the `.BTF` section).
    pub split: Vec<u8>,
}

/// Distills `split` (module BTF on vmlinux) with `btf__distill_base`'s semantics; the output
/// is byte for byte what libbpf 1.7 writes.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, Kind, MemberSpec};
/// use core_reloc::split_base::distill_base;
///
/// let mut vmlinux = BtfBuilder::new();
/// let int = vmlinux.add_int("int", 4, IntEncoding::SIGNED);
/// let file = vmlinux.add_struct("file", 64, &[MemberSpec::new("f_count", int, 0)]);
/// let ptr = vmlinux.add_ptr(file);
/// vmlinux.add_struct("unused", 8, &[]);
/// let vmlinux = Arc::new(Btf::parse(vmlinux.build())?);
/// let mut module = BtfBuilder::new_split(&vmlinux);
/// module.add_struct("m", 8, &[MemberSpec::new("file", ptr, 0)]);
/// let module = Btf::parse_split(module.build(), vmlinux)?;
///
/// let distilled = distill_base(&module)?;
/// let base = Arc::new(Btf::parse(distilled.base)?);
/// // Only a memberless struct file of size 64 (its members are not followed); the pointer
/// // moved into the split.
/// assert_eq!(base.own_type_count(), 1);
/// assert_eq!(base.type_by_id(base.find_by_name_kind("file", Kind::Struct).unwrap())?.size(), Some(64));
/// let split = Btf::parse_split(distilled.split, base)?;
/// assert_eq!(split.own_type_count(), 2); // m, then the pointer
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn distill_base(split: &Btf<'_>) -> Result<DistilledBtf, DistillError> {
    if !split.is_split() {
        return Err(DistillError::NotSplit);
    }
    let split_start = split.first_type_id().0;
    let count = split.type_count();
    let endian = split.endian();
    // id_map[old base id]: 0 unused, else marked, then its new id.
    let mut id_map = vec![0u32; split_start as usize];
    mark_referenced(split, &mut id_map)?;

    let mut base = RawBtfWriter::new_base(endian);
    // The id fields of each record written, to rewrite once every new id is known.
    let mut base_ids = Vec::new();
    let mut split_ids = Vec::new();
    for old in 1..split_start {
        if id_map[old as usize] == 0 {
            continue;
        }
        let ty = split.type_by_id(TypeId(old))?;
        let named = ty.name_offset() != 0;
        let new = match ty.kind() {
            Kind::Int | Kind::Float | Kind::Fwd => {
                base_ids.push((ty.id(), id_fields(&ty)?));
                copy(split, &ty, &mut base, None)?
            }
            Kind::Struct | Kind::Union if named => {
                let name = base.add_str(split.str_bytes_at(ty.name_offset())?)?;
                let info = u32::from(ty.kind().raw()) << 24;
                base_ids.push((ty.id(), Vec::new()));
                base.push_record(&header(endian, name, info, ty.size_or_type()))?
            }
            Kind::Enum | Kind::Enum64 if named => {
                let size = ty.size_or_type();
                if !size.is_power_of_two() || size > 8 {
                    return Err(DistillError::BadEnumSize { id: ty.id(), size });
                }
                let name = base.add_str(split.str_bytes_at(ty.name_offset())?)?;
                let info = u32::from(Kind::Enum.raw()) << 24;
                base_ids.push((ty.id(), Vec::new()));
                base.push_record(&header(endian, name, info, size))?
            }
            _ => continue,
        };
        id_map[old as usize] = new.0;
    }

    let mut out = RawBtfWriter::new_split(endian, base.type_count(), base.strings_end());
    for ty in split.types() {
        split_ids.push((ty.id(), id_fields(&ty)?));
        copy(split, &ty, &mut out, Some(&base))?;
    }
    for old in 1..split_start {
        if id_map[old as usize] == 0 {
            continue;
        }
        let ty = split.type_by_id(TypeId(old))?;
        let named = ty.name_offset() != 0;
        let to_split = match ty.kind() {
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 => !named,
            Kind::Array
            | Kind::Typedef
            | Kind::Ptr
            | Kind::Const
            | Kind::Restrict
            | Kind::Volatile
            | Kind::FuncProto
            | Kind::TypeTag => true,
            _ => false,
        };
        if to_split {
            split_ids.push((ty.id(), id_fields(&ty)?));
            id_map[old as usize] = copy(split, &ty, &mut out, Some(&base))?.0;
        }
    }

    // Old split ids move down by the ids the distilled base saved; base ids take their map.
    let diff = split_start - base.type_count();
    let remap = |old: u32| -> Option<u32> {
        match id_map.get(old as usize) {
            Some(&new) if new != 0 => Some(new),
            _ if old >= split_start && old < count => Some(old - diff),
            _ if old < count => Some(old),
            _ => None,
        }
    };
    for (writer, ids) in [(&mut base, &base_ids), (&mut out, &split_ids)] {
        for (record, (id, offsets)) in writer.records_mut().zip(ids) {
            for &at in offsets {
                let old = get_u32(endian, record, at);
                let new = remap(old).ok_or(DistillError::TypeIdOutOfRange {
                    id: *id,
                    referenced: TypeId(old),
                })?;
                put_u32(endian, record, at, new);
            }
        }
    }
    Ok(DistilledBtf {
        base: base.finish()?,
        split: out.finish()?,
    })
}

/// Marks every base type the split refers to, and what those refer to in turn, except the
/// members of named structs and unions (a distilled composite has none).
fn mark_referenced(split: &Btf<'_>, id_map: &mut [u32]) -> Result<(), DistillError> {
    let split_start = split.first_type_id().0;
    let mut pending: Vec<TypeId> = Vec::new();
    let mut visit = |ty: &Type<'_>, pending: &mut Vec<TypeId>| -> Result<(), DistillError> {
        for at in id_fields(ty)? {
            let id = get_u32(split.endian(), ty.record(), at);
            if id == 0 || id >= split_start || id_map[id as usize] != 0 {
                continue;
            }
            let base_t = split.type_by_id(TypeId(id))?;
            let kind = base_t.kind();
            let allowed = matches!(
                kind,
                Kind::Int
                    | Kind::Float
                    | Kind::Fwd
                    | Kind::Array
                    | Kind::Struct
                    | Kind::Union
                    | Kind::Typedef
                    | Kind::Enum
                    | Kind::Enum64
                    | Kind::Ptr
                    | Kind::Const
                    | Kind::Restrict
                    | Kind::Volatile
                    | Kind::FuncProto
                    | Kind::TypeTag
            );
            if !allowed {
                return Err(DistillError::UnexpectedBaseReference {
                    id: TypeId(id),
                    kind,
                });
            }
            id_map[id as usize] = id;
            if !(kind.is_composite() && base_t.name_offset() != 0) {
                pending.push(TypeId(id));
            }
        }
        Ok(())
    };
    for ty in split.types() {
        visit(&ty, &mut pending)?;
        while let Some(id) = pending.pop() {
            let base_t = split.type_by_id(id)?;
            visit(&base_t, &mut pending)?;
        }
    }
    Ok(())
}

/// Copies `ty`'s record into `dst`, its strings re-interned: into `base` when it already
/// holds the string (as libbpf's `btf__add_str` on split BTF does), else into `dst`.
fn copy(
    src: &Btf<'_>,
    ty: &Type<'_>,
    dst: &mut RawBtfWriter,
    base: Option<&RawBtfWriter>,
) -> Result<TypeId, DistillError> {
    let endian = src.endian();
    let mut record = ty.record().to_vec();
    let offsets = fields::offsets(ty, Fields::Strings).ok_or(DistillError::UnsupportedRecord {
        id: ty.id(),
        kind: ty.kind(),
    })?;
    for at in offsets {
        let old = get_u32(endian, &record, at);
        if old == 0 {
            continue;
        }
        let s = src.str_bytes_at(old)?;
        let new = match base.and_then(|base| base.find_str(s)) {
            Some(offset) => offset,
            None => dst.add_str(s)?,
        };
        put_u32(endian, &mut record, at, new);
    }
    Ok(dst.push_record(&record)?)
}

fn id_fields(ty: &Type<'_>) -> Result<Vec<usize>, DistillError> {
    fields::offsets(ty, Fields::Ids).ok_or(DistillError::UnsupportedRecord {
        id: ty.id(),
        kind: ty.kind(),
    })
}

/// A 12-byte record with no kind data and no elements.
fn header(endian: Endianness, name: u32, info: u32, size: u32) -> Vec<u8> {
    let mut record = Vec::with_capacity(12);
    for word in [name, info, size] {
        record.extend_from_slice(&u32_bytes(endian, word));
    }
    record
}
