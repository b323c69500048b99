//! Relocating split BTF from its distilled base onto a full base (libbpf's and the kernel's
//! `btf_relocate`): every distilled base type is matched to one vmlinux type, then the split's
//! type ids and string offsets are rewritten in place.

use std::collections::HashMap;

use crate::btf::{Btf, Kind, MAX_RESOLVE_DEPTH, Type, TypeId};

use super::error::RelocateError;
use super::fields::{self, Fields};
use super::writer::{get_u32, put_u32};

/// Marks a distilled composite that a split composite embeds (not through a pointer): its
/// match must have the same size.
const EMBEDDED: u32 = u32::MAX;

/// Relocates `split`, whose base is a distilled base (a `.BTF.base`), onto `target` (vmlinux
/// BTF), with `btf__relocate`'s semantics. The result is raw split BTF on `target`: the
/// split's bytes with type ids and string offsets rewritten, header and layout unchanged,
/// which is what the kernel shows in `/sys/kernel/btf/<module>`.
///
/// Distilled types match `target` types by name and kind: INT by size and encoding, FLOAT
/// and ENUM by size (ENUM matching ENUM64 too), struct and union by size when `target` has
/// several of the name or the split embeds them, FWD by struct/union flag.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, Kind, MemberSpec};
/// use core_reloc::split_base::{distill_base, relocate_split};
///
/// // A module on one vmlinux...
/// let mut old = BtfBuilder::new();
/// let int = old.add_int("int", 4, IntEncoding::SIGNED);
/// let old = Arc::new(Btf::parse(old.build())?);
/// let mut module = BtfBuilder::new_split(&old);
/// module.add_struct("m", 4, &[MemberSpec::new("x", int, 0)]);
/// let module = Btf::parse_split(module.build(), old)?;
/// let distilled = distill_base(&module)?;
///
/// // ...relocated onto another, where `int` has another id.
/// let mut new = BtfBuilder::new();
/// new.add_int("long", 8, IntEncoding::SIGNED);
/// let new_int = new.add_int("int", 4, IntEncoding::SIGNED);
/// let new = Arc::new(Btf::parse(new.build())?);
/// let base = Arc::new(Btf::parse(distilled.base)?);
/// let split = Btf::parse_split(distilled.split, base)?;
/// let relocated = Btf::parse_split(relocate_split(&split, &new)?, new)?;
/// let m = relocated.find_by_name_kind("m", Kind::Struct).unwrap();
/// let member = relocated.type_by_id(m)?.members().unwrap().next().unwrap();
/// assert_eq!(member.type_id, new_int);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn relocate_split(split: &Btf<'_>, target: &Btf<'_>) -> Result<Vec<u8>, RelocateError> {
    let distilled = split.base().ok_or(RelocateError::NotSplit)?;
    if target.is_split() {
        return Err(RelocateError::TargetIsSplit);
    }
    let nr_dist = distilled.type_count();
    let nr_base = target.type_count();
    let nr_types = split.type_count();
    validate_distilled(distilled)?;

    let mut id_map = vec![0u32; nr_types as usize];
    for id in nr_dist..nr_types {
        id_map[id as usize] = (id - nr_dist)
            .checked_add(nr_base)
            .ok_or(RelocateError::TooManyTypes)?;
    }
    let str_map = map_distilled(split, distilled, target, &mut id_map)?;

    let dist_str_len = distilled.header().str_len;
    let base_str_len = target.header().str_len;
    let endian = split.endian();
    let mut out = split.bytes().to_vec();
    let start = split.bytes().as_ptr() as usize;
    for ty in split.types() {
        let at = ty.record().as_ptr() as usize - start;
        let unsupported = || RelocateError::UnsupportedRecord {
            id: ty.id(),
            kind: ty.kind(),
        };
        for field in fields::offsets(&ty, Fields::Ids).ok_or_else(unsupported)? {
            let old = get_u32(endian, &out, at + field);
            let new = *id_map
                .get(old as usize)
                .ok_or(RelocateError::TypeIdOutOfRange {
                    id: ty.id(),
                    referenced: TypeId(old),
                })?;
            put_u32(endian, &mut out, at + field, new);
        }
        for field in fields::offsets(&ty, Fields::Strings).ok_or_else(unsupported)? {
            let old = get_u32(endian, &out, at + field);
            let new = if old == 0 {
                continue;
            } else if old >= dist_str_len {
                old.wrapping_add(base_str_len.wrapping_sub(dist_str_len))
            } else {
                *str_map
                    .get(&old)
                    .ok_or(RelocateError::StringNotMapped { offset: old })?
            };
            put_u32(endian, &mut out, at + field, new);
        }
    }
    Ok(out)
}

/// Relocates a module's raw `.BTF` (split on its raw `.BTF.base`, `distilled_base`) onto
/// `target`: [`relocate_split`] for bytes as they come out of a `.ko`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};
/// use core_reloc::split_base::{distill_base, relocate_module_btf};
///
/// let mut vmlinux = BtfBuilder::new();
/// let int = vmlinux.add_int("int", 4, IntEncoding::SIGNED);
/// let vmlinux = Arc::new(Btf::parse(vmlinux.build())?);
/// let mut module = BtfBuilder::new_split(&vmlinux);
/// module.add_struct("m", 4, &[MemberSpec::new("x", int, 0)]);
/// let distilled = distill_base(&Btf::parse_split(module.build(), vmlinux.clone())?)?;
/// // What a .ko carries in .BTF and .BTF.base, onto the vmlinux the module is loaded into.
/// let relocated = relocate_module_btf(&distilled.split, &distilled.base, &vmlinux)?;
/// assert!(Btf::parse_split(relocated, vmlinux)?.find_by_name("m").is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn relocate_module_btf(
    btf: &[u8],
    distilled_base: &[u8],
    target: &Btf<'_>,
) -> Result<Vec<u8>, RelocateError> {
    let distilled = std::sync::Arc::new(Btf::parse(distilled_base)?);
    let split = Btf::parse_split(btf, distilled)?;
    relocate_split(&split, target)
}

/// A distilled base holds only named INT, FLOAT, ENUM, STRUCT, UNION and FWD.
fn validate_distilled(distilled: &Btf<'_>) -> Result<(), RelocateError> {
    for ty in distilled.types() {
        let kind = ty.kind();
        let allowed = matches!(
            kind,
            Kind::Int | Kind::Float | Kind::Enum | Kind::Struct | Kind::Union | Kind::Fwd
        );
        if !allowed {
            return Err(RelocateError::UnexpectedDistilledKind { id: ty.id(), kind });
        }
        if ty.name_offset() == 0 {
            return Err(RelocateError::AnonymousDistilledType { id: ty.id(), kind });
        }
    }
    Ok(())
}

/// Fills `id_map` for the distilled base's ids with `target` ids; returns the map from
/// distilled name offsets to `target` name offsets.
fn map_distilled(
    split: &Btf<'_>,
    distilled: &Btf<'_>,
    target: &Btf<'_>,
    id_map: &mut [u32],
) -> Result<HashMap<u32, u32>, RelocateError> {
    let nr_dist = distilled.type_count();
    // Distilled types by name; every one carries its size (libbpf's `needs_size`). Void
    // (id 0, empty name, size 0) is among them, as in libbpf's table.
    let mut by_name: HashMap<&[u8], Vec<(u32, u32)>> = HashMap::new();
    for id in 0..nr_dist {
        let ty = distilled.type_by_id(TypeId(id))?;
        let name = distilled.str_bytes_at(ty.name_offset())?;
        by_name
            .entry(name)
            .or_default()
            .push((ty.size_or_type(), id));
    }

    for ty in split.types().filter(|ty| ty.kind().is_composite()) {
        mark_embedded(split, &ty, nr_dist, id_map)?;
    }

    // Composite names that occur more than once in `target` (by name offset, as libbpf
    // counts them) are matched by size too.
    let mut composite_names: HashMap<u32, u32> = HashMap::new();
    for ty in target.types() {
        if ty.kind().is_composite() && ty.name_offset() != 0 {
            *composite_names.entry(ty.name_offset()).or_default() += 1;
        }
    }

    let mut str_map = HashMap::new();
    for base_t in target.types() {
        if base_t.name_offset() == 0 {
            continue;
        }
        let base_kind = base_t.kind();
        let needs_size = match base_kind {
            Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64 => true,
            Kind::Fwd => false,
            Kind::Struct | Kind::Union => {
                composite_names
                    .get(&base_t.name_offset())
                    .copied()
                    .unwrap_or(0)
                    > 1
            }
            _ => continue,
        };
        let name = target.str_bytes_at(base_t.name_offset())?;
        let Some(candidates) = by_name.get(name) else {
            continue;
        };
        for &(dist_size, dist_id) in candidates {
            if needs_size && dist_size != base_t.size_or_type() {
                continue;
            }
            if dist_id == 0 {
                return Err(RelocateError::MatchesVoid { id: base_t.id() });
            }
            let dist_t = distilled.type_by_id(TypeId(dist_id))?;
            if !compatible(&dist_t, &base_t, id_map[dist_id as usize]) {
                continue;
            }
            let mapped = id_map[dist_id as usize];
            if mapped != 0 && mapped != EMBEDDED {
                return Err(RelocateError::MultipleMatches {
                    name: String::from_utf8_lossy(name).into_owned(),
                    id: TypeId(dist_id),
                    size: base_t.size_or_type(),
                    first: TypeId(mapped),
                    second: base_t.id(),
                });
            }
            id_map[dist_id as usize] = base_t.id().0;
            str_map.insert(dist_t.name_offset(), base_t.name_offset());
        }
    }

    for id in 1..nr_dist {
        let mapped = id_map[id as usize];
        if mapped == 0 || mapped == EMBEDDED {
            let ty = distilled.type_by_id(TypeId(id))?;
            return Err(RelocateError::NoMatch {
                name: String::from_utf8_lossy(distilled.str_bytes_at(ty.name_offset())?)
                    .into_owned(),
                id: TypeId(id),
                kind: ty.kind(),
                size: ty.size_or_type(),
            });
        }
    }
    Ok(str_map)
}

/// libbpf's per-kind check of a name (and size) match. FWD follows libbpf and the kernel to
/// the letter: a distilled FWD matches a target struct whose kind flag is clear and a union
/// whose kind flag is set; a distilled struct or union matches any kind the search found.
fn compatible(dist_t: &Type<'_>, base_t: &Type<'_>, mapped: u32) -> bool {
    let base_kind = base_t.kind();
    match dist_t.kind() {
        Kind::Fwd => match base_kind {
            Kind::Fwd => dist_t.kind_flag() == base_t.kind_flag(),
            Kind::Struct => !base_t.kind_flag(),
            Kind::Union => base_t.kind_flag(),
            _ => false,
        },
        Kind::Int => {
            base_kind == Kind::Int
                && base_t.int().map(|i| i.encoding) == dist_t.int().map(|i| i.encoding)
        }
        Kind::Float => base_kind == Kind::Float,
        Kind::Enum => matches!(base_kind, Kind::Enum | Kind::Enum64),
        Kind::Struct | Kind::Union => {
            mapped != EMBEDDED || base_t.size_or_type() == dist_t.size_or_type()
        }
        _ => false,
    }
}

/// Marks the distilled composites that split composite `ty` embeds through modifiers,
/// typedefs and arrays (not pointers).
fn mark_embedded(
    split: &Btf<'_>,
    ty: &Type<'_>,
    nr_dist: u32,
    id_map: &mut [u32],
) -> Result<(), RelocateError> {
    let Some(members) = ty.members() else {
        return Ok(());
    };
    for member in members {
        let mut next = member.type_id;
        let mut depth = 0;
        while next != TypeId::VOID {
            depth += 1;
            if depth > MAX_RESOLVE_DEPTH {
                return Err(RelocateError::ReferenceCycle { id: ty.id() });
            }
            let t = split.type_by_id(next)?;
            next = match t.kind() {
                Kind::Const | Kind::Restrict | Kind::Volatile | Kind::Typedef | Kind::TypeTag => {
                    TypeId(t.size_or_type())
                }
                Kind::Array => t.array().map_or(TypeId::VOID, |a| a.elem_type),
                Kind::Struct | Kind::Union => {
                    if next.0 < nr_dist {
                        id_map[next.0 as usize] = EMBEDDED;
                    }
                    TypeId::VOID
                }
                _ => TypeId::VOID,
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::btf::{BtfBuilder, IntEncoding, MemberSpec};
    use crate::split_base::distill_base;

    /// A module on a vmlinux with `int` and `struct s` (size 8), embedding or pointing at `s`.
    fn distilled(embed: bool) -> (Vec<u8>, Vec<u8>) {
        let mut old = BtfBuilder::new();
        let int = old.add_int("int", 4, IntEncoding::SIGNED);
        let s = old.add_struct("s", 8, &[MemberSpec::new("a", int, 0)]);
        let old = Arc::new(Btf::parse(old.build()).unwrap());
        let mut module = BtfBuilder::new_split(&old);
        let member = if embed { s } else { module.add_ptr(s) };
        module.add_struct("m", 16, &[MemberSpec::new("s", member, 0)]);
        let d = distill_base(&Btf::parse_split(module.build(), old).unwrap()).unwrap();
        (d.split, d.base)
    }

    fn target(sizes: &[u32]) -> Btf<'static> {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        for &size in sizes {
            b.add_struct("s", size, &[MemberSpec::new("a", int, 0)]);
        }
        Btf::parse(b.build()).unwrap()
    }

    #[test]
    fn errors_name_the_type() {
        let (split, base) = distilled(true);
        let err = relocate_module_btf(&split, &base, &target(&[8, 8])).unwrap_err();
        assert!(
            matches!(&err, RelocateError::MultipleMatches { name, first, second, size: 8, .. }
                if name == "s" && *first == TypeId(2) && *second == TypeId(3)),
            "{err:?}"
        );
        let err = relocate_module_btf(&split, &base, &target(&[16])).unwrap_err();
        assert!(matches!(&err, RelocateError::NoMatch { name, size: 8, .. } if name == "s"));
        // Of two sizes, the one the embedding needs.
        let relocated = relocate_module_btf(&split, &base, &target(&[16, 8])).unwrap();
        let target = Arc::new(target(&[16, 8]));
        let m = Btf::parse_split(relocated, target).unwrap();
        let ty = m.type_by_id(m.find_by_name("m").unwrap()).unwrap();
        assert_eq!(ty.members().unwrap().next().unwrap().type_id, TypeId(3));
    }

    #[test]
    fn pointed_to_composites_ignore_size() {
        let (split, base) = distilled(false);
        assert!(relocate_module_btf(&split, &base, &target(&[16])).is_ok());
    }

    /// Where we differ from libbpf: libbpf relocates onto split BTF too, computing string
    /// offsets from the target's own string section only; we refuse.
    #[test]
    fn a_split_target_is_refused() {
        let (split, base) = distilled(false);
        let vmlinux = Arc::new(target(&[8]));
        let on_top = Btf::parse_split(BtfBuilder::new_split(&vmlinux).build(), vmlinux).unwrap();
        let err = relocate_module_btf(&split, &base, &on_top).unwrap_err();
        assert!(matches!(err, RelocateError::TargetIsSplit));
    }

    #[test]
    fn base_btf_is_not_relocated() {
        let vmlinux = target(&[8]);
        assert!(matches!(
            relocate_split(&vmlinux, &vmlinux),
            Err(RelocateError::NotSplit)
        ));
    }
}
