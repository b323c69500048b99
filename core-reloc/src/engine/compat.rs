//! Type compatibility for CO-RE, following libbpf's three relations:
//! fields (`bpf_core_fields_are_compat`), types (`__bpf_core_types_are_compat`) and
//! TYPE_MATCHES (`__bpf_core_types_match`).
//!
//! Each walks two BTFs side by side with explicit depth limits, so cyclic or absurdly deep
//! input ends in an error instead of a stack overflow.

use crate::btf::{Btf, BtfError, Kind, Type, TypeId};

use super::name::essential_name;

/// Recursion budget, as libbpf's.
const MAX_DEPTH: u32 = 32;

/// Failure to decide: a BTF is broken or too deep. "Not compatible" is `Ok(false)`.
pub(crate) type Decision = Result<bool, BtfError>;

fn too_deep(id: TypeId) -> BtfError {
    BtfError::DepthLimit {
        id,
        limit: MAX_DEPTH,
    }
}

/// Kinds CO-RE treats as the same: equal kinds, or any two enums (ENUM and ENUM64).
pub(crate) fn kinds_compatible(a: Kind, b: Kind) -> bool {
    a == b || (a.is_enum() && b.is_enum())
}

fn int_has_bit_offset(ty: &Type<'_>) -> bool {
    ty.int().is_some_and(|int| int.offset != 0)
}

fn skip<'b>(btf: &'b Btf<'b>, id: TypeId) -> Result<(TypeId, Type<'b>), BtfError> {
    let id = btf.skip_mods_and_typedefs(id)?;
    Ok((id, btf.type_by_id(id)?))
}

/// Whether a local field's type can be relocated to a target field's type.
///
/// Structs and unions mix freely; pointers and floats always match; enums and forward
/// declarations need equal essential names unless one is anonymous; ints are all compatible
/// except the deprecated bit-offset ints; arrays compare their element types.
pub(crate) fn fields_are_compatible(
    local: &Btf<'_>,
    local_id: TypeId,
    target: &Btf<'_>,
    target_id: TypeId,
) -> Decision {
    let (mut local_id, mut target_id) = (local_id, target_id);
    for _ in 0..MAX_DEPTH {
        let (_, lt) = skip(local, local_id)?;
        let (_, tt) = skip(target, target_id)?;
        if lt.kind().is_composite() && tt.kind().is_composite() {
            return Ok(true);
        }
        if !kinds_compatible(lt.kind(), tt.kind()) {
            return Ok(false);
        }
        return match lt.kind() {
            Kind::Ptr | Kind::Float => Ok(true),
            Kind::Fwd | Kind::Enum | Kind::Enum64 => {
                let local_name = essential_name(local.name(&lt)?);
                let target_name = essential_name(target.name(&tt)?);
                Ok(local_name.is_empty() || target_name.is_empty() || local_name == target_name)
            }
            Kind::Int => Ok(!int_has_bit_offset(&lt) && !int_has_bit_offset(&tt)),
            Kind::Array => {
                local_id = lt.array().map_or(TypeId::VOID, |a| a.elem_type);
                target_id = tt.array().map_or(TypeId::VOID, |a| a.elem_type);
                continue;
            }
            _ => Ok(false),
        };
    }
    Err(too_deep(local_id))
}

/// Whether two types are compatible for type-based relocations (exists, size, ids), and, as
/// libbpf checks them, a kfunc extern's prototype against the kernel's.
///
/// The caller has matched the root names. Kinds must agree (any two enums do); structs,
/// unions, enums and forward declarations are then compatible; ints unless bit-offset ints;
/// pointers and arrays by what they point to or hold; function prototypes by arity, argument
/// and return types.
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, TypeId};
/// let mut b = BtfBuilder::new();
/// let int = b.add_int("int", 4, IntEncoding::SIGNED);
/// let one = b.add_func_proto(int, &[("x", int)]);
/// let two = b.add_func_proto(int, &[("x", int), ("y", int)]);
/// let btf = Btf::parse(b.build())?;
/// assert!(core_reloc::engine::types_are_compatible(&btf, one, &btf, one)?);
/// assert!(!core_reloc::engine::types_are_compatible(&btf, one, &btf, two)?);
/// # Ok::<(), core_reloc::btf::BtfError>(())
/// ```
pub fn types_are_compatible(
    local: &Btf<'_>,
    local_id: TypeId,
    target: &Btf<'_>,
    target_id: TypeId,
) -> Decision {
    types_are_compatible_at(local, local_id, target, target_id, MAX_DEPTH)
}

fn types_are_compatible_at(
    local: &Btf<'_>,
    local_id: TypeId,
    target: &Btf<'_>,
    target_id: TypeId,
    level: u32,
) -> Decision {
    // The unskipped roots must agree too: a typedef only matches a typedef.
    if !kinds_compatible(
        local.type_by_id(local_id)?.kind(),
        target.type_by_id(target_id)?.kind(),
    ) {
        return Ok(false);
    }
    let (mut local_id, mut target_id) = (local_id, target_id);
    for _ in 0..MAX_DEPTH {
        let (lid, lt) = skip(local, local_id)?;
        let (_, tt) = skip(target, target_id)?;
        if !kinds_compatible(lt.kind(), tt.kind()) {
            return Ok(false);
        }
        match lt.kind() {
            Kind::Void | Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd => {
                return Ok(true);
            }
            Kind::Int => return Ok(!int_has_bit_offset(&lt) && !int_has_bit_offset(&tt)),
            Kind::Ptr => {
                local_id = lt.type_ref().unwrap_or(TypeId::VOID);
                target_id = tt.type_ref().unwrap_or(TypeId::VOID);
            }
            Kind::Array => {
                local_id = lt.array().map_or(TypeId::VOID, |a| a.elem_type);
                target_id = tt.array().map_or(TypeId::VOID, |a| a.elem_type);
            }
            Kind::FuncProto => {
                let (Some(local_params), Some(target_params)) = (lt.params(), tt.params()) else {
                    return Ok(false);
                };
                if lt.vlen() != tt.vlen() {
                    return Ok(false);
                }
                for (lp, tp) in local_params.zip(target_params) {
                    if level == 0 {
                        return Err(too_deep(lid));
                    }
                    let lp = local.skip_mods_and_typedefs(lp.type_id)?;
                    let tp = target.skip_mods_and_typedefs(tp.type_id)?;
                    if !types_are_compatible_at(local, lp, target, tp, level - 1)? {
                        return Ok(false);
                    }
                }
                local_id = local.skip_mods_and_typedefs(lt.type_ref().unwrap_or(TypeId::VOID))?;
                target_id = target.skip_mods_and_typedefs(tt.type_ref().unwrap_or(TypeId::VOID))?;
            }
            _ => return Ok(false),
        }
    }
    Err(too_deep(local_id))
}

/// Names match for TYPE_MATCHES: an anonymous target only matches an anonymous local;
/// otherwise essential names must be equal.
fn names_match(
    local: &Btf<'_>,
    local_name_offset: u32,
    target: &Btf<'_>,
    target_name_offset: u32,
) -> Decision {
    let local_name = local.str_at(local_name_offset)?;
    let target_name = target.str_at(target_name_offset)?;
    if target_name.is_empty() {
        return Ok(local_name.is_empty());
    }
    Ok(essential_name(local_name) == essential_name(target_name))
}

/// Whether two types match for TYPE_MATCHES (`bpf_core_type_matches`): a stricter, structural
/// relation (sizes, signedness, member names, enumerator names, array lengths).
pub(crate) fn types_match(
    local: &Btf<'_>,
    local_id: TypeId,
    target: &Btf<'_>,
    target_id: TypeId,
) -> Decision {
    types_match_at(local, local_id, target, target_id, false, MAX_DEPTH)
}

fn types_match_at(
    local: &Btf<'_>,
    local_id: TypeId,
    target: &Btf<'_>,
    target_id: TypeId,
    mut behind_pointer: bool,
    level: u32,
) -> Decision {
    if level == 0 {
        return Err(too_deep(local_id));
    }
    let (mut local_id, mut target_id) = (local_id, target_id);
    for _ in 0..MAX_DEPTH {
        let (_, lt) = skip(local, local_id)?;
        let (_, tt) = skip(target, target_id)?;
        if !names_match(local, lt.name_offset(), target, tt.name_offset())? {
            return Ok(false);
        }
        let (lk, tk) = (lt.kind(), tt.kind());
        match lk {
            Kind::Void => return Ok(tk == Kind::Void),
            Kind::Fwd => {
                let local_union = lt.kind_flag();
                return Ok(if tk == Kind::Fwd {
                    local_union == tt.kind_flag()
                } else if behind_pointer {
                    // A forward declaration names a struct (flag clear) or union (flag set).
                    (tk == Kind::Struct && !local_union) || (tk == Kind::Union && local_union)
                } else {
                    false
                });
            }
            Kind::Enum | Kind::Enum64 => {
                return if tk.is_enum() {
                    enums_match(local, &lt, target, &tt)
                } else {
                    Ok(false)
                };
            }
            Kind::Struct | Kind::Union => {
                if behind_pointer {
                    return Ok(if lk == tk {
                        true
                    } else if tk == Kind::Fwd {
                        (lk == Kind::Union) == tt.kind_flag()
                    } else {
                        false
                    });
                }
                if lk != tk {
                    return Ok(false);
                }
                return composites_match(local, &lt, target, &tt, behind_pointer, level);
            }
            Kind::Int => {
                let (Some(li), Some(ti)) = (lt.int(), tt.int()) else {
                    return Ok(false);
                };
                return Ok(li.size == ti.size && li.encoding.is_signed() == ti.encoding.is_signed());
            }
            Kind::Ptr => {
                if tk != Kind::Ptr {
                    return Ok(false);
                }
                behind_pointer = true;
                local_id = lt.type_ref().unwrap_or(TypeId::VOID);
                target_id = tt.type_ref().unwrap_or(TypeId::VOID);
            }
            Kind::Array => {
                let (Some(la), Some(ta)) = (lt.array(), tt.array()) else {
                    return Ok(false);
                };
                if la.nelems != ta.nelems {
                    return Ok(false);
                }
                local_id = la.elem_type;
                target_id = ta.elem_type;
            }
            Kind::FuncProto => {
                let (Some(local_params), Some(target_params)) = (lt.params(), tt.params()) else {
                    return Ok(false);
                };
                if tk != Kind::FuncProto || lt.vlen() != tt.vlen() {
                    return Ok(false);
                }
                for (lp, tp) in local_params.zip(target_params) {
                    if !types_match_at(
                        local,
                        lp.type_id,
                        target,
                        tp.type_id,
                        behind_pointer,
                        level - 1,
                    )? {
                        return Ok(false);
                    }
                }
                local_id = lt.type_ref().unwrap_or(TypeId::VOID);
                target_id = tt.type_ref().unwrap_or(TypeId::VOID);
            }
            _ => return Ok(false),
        }
    }
    Err(too_deep(local_id))
}

/// Every local element has a target element that `matches` accepts.
fn each_has_match<L, T>(
    locals: impl Iterator<Item = L>,
    targets: impl Iterator<Item = T> + Clone,
    mut matches: impl FnMut(&L, &T) -> Decision,
) -> Decision {
    for local in locals {
        let mut found = false;
        for target in targets.clone() {
            if matches(&local, &target)? {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every local enumerator has a namesake in the target, and the sizes agree.
fn enums_match(local: &Btf<'_>, lt: &Type<'_>, target: &Btf<'_>, tt: &Type<'_>) -> Decision {
    if lt.size() != tt.size() || lt.vlen() > tt.vlen() {
        return Ok(false);
    }
    let (Some(local_values), Some(target_values)) = (lt.enum_values(), tt.enum_values()) else {
        return Ok(false);
    };
    each_has_match(local_values, target_values, |l, t| {
        names_match(local, l.name_offset, target, t.name_offset)
    })
}

/// Every local member has a namesake in the target whose type matches.
fn composites_match(
    local: &Btf<'_>,
    lt: &Type<'_>,
    target: &Btf<'_>,
    tt: &Type<'_>,
    behind_pointer: bool,
    level: u32,
) -> Decision {
    if lt.vlen() > tt.vlen() {
        return Ok(false);
    }
    let (Some(local_members), Some(target_members)) = (lt.members(), tt.members()) else {
        return Ok(false);
    };
    each_has_match(local_members, target_members, |l, t| {
        Ok(names_match(local, l.name_offset, target, t.name_offset)?
            && types_match_at(
                local,
                l.type_id,
                target,
                t.type_id,
                behind_pointer,
                level - 1,
            )?)
    })
}
