//! Matching a local spec against one candidate target type (libbpf's `bpf_core_spec_match`).

use crate::btf::{Btf, BtfError, TypeId};
use crate::ext::CoreReloKind;

use super::compat::{fields_are_compatible, types_are_compatible, types_match};
use super::explain::{Rejection, TypeName};
use super::name::essential_name;
use super::spec::{Accessor, Spec};

/// The outcome of matching one candidate.
#[derive(Debug)]
pub(crate) enum Match<'t> {
    /// The candidate has the accessed field, type or enumerator: here is the target spec.
    Matched(Spec<'t>),
    /// It does not, and why.
    Rejected(Rejection),
}

/// Errors that stop matching: broken BTF, or nesting beyond the spec limit.
#[derive(Debug)]
pub(crate) enum MatchError {
    Btf(BtfError),
    TooDeep,
    /// A local accessor that does not name a member; parse_local_spec never builds one.
    LocalMember {
        id: TypeId,
        index: u32,
    },
}

impl From<BtfError> for MatchError {
    fn from(error: BtfError) -> Self {
        MatchError::Btf(error)
    }
}

pub(crate) fn match_candidate<'t>(
    local: &Spec<'_>,
    kind: CoreReloKind,
    target: &'t Btf<'t>,
    candidate: TypeId,
) -> Result<Match<'t>, MatchError> {
    let mut spec = Spec::empty(target, candidate);
    if kind.is_type_based() {
        let matched = if kind == CoreReloKind::TypeMatches {
            types_match(local.btf, local.root, target, candidate)?
        } else {
            types_are_compatible(local.btf, local.root, target, candidate)?
        };
        let target = || TypeName::of(target, candidate);
        return Ok(if matched {
            Match::Matched(spec)
        } else if kind == CoreReloKind::TypeMatches {
            Match::Rejected(Rejection::LayoutMismatch { target: target() })
        } else {
            Match::Rejected(Rejection::IncompatibleType { target: target() })
        });
    }
    if kind.is_enumval_based() {
        return match_enumerator(local, spec, target, candidate);
    }

    let mut target_id = candidate;
    for (position, local_accessor) in local.accessors.iter().enumerate() {
        target_id = target.skip_mods_and_typedefs(target_id)?;
        if let Some(name) = local_accessor.name {
            let holder = || TypeName::of(target, target_id);
            let member = name.to_string();
            match match_member(local, local_accessor, name, target, target_id, &mut spec)? {
                MemberSearch::Found(member_type) => target_id = member_type,
                MemberSearch::Missing => {
                    return Ok(Match::Rejected(Rejection::MissingMember {
                        holder: holder(),
                        member,
                    }));
                }
                MemberSearch::Incompatible => {
                    return Ok(Match::Rejected(Rejection::IncompatibleMember {
                        holder: holder(),
                        member,
                    }));
                }
                MemberSearch::NotComposite => {
                    return Ok(Match::Rejected(Rejection::NotComposite {
                        target: holder(),
                        member,
                    }));
                }
            }
            continue;
        }
        if position > 0 {
            let ty = target.type_by_id(target_id)?;
            let Some(array) = ty.array() else {
                return Ok(Match::Rejected(Rejection::NotAnArray {
                    target: TypeName::of(target, target_id),
                }));
            };
            if !spec.index_in_bounds(array.nelems, local_accessor.index) {
                return Ok(Match::Rejected(Rejection::IndexOutOfBounds {
                    index: local_accessor.index,
                    nelems: array.nelems,
                }));
            }
            target_id = target.skip_mods_and_typedefs(array.elem_type)?;
        }
        spec.push_raw(local_accessor.index)
            .map_err(|_| MatchError::TooDeep)?;
        spec.push_element(target_id, local_accessor.index)?;
    }
    Ok(Match::Matched(spec))
}

fn match_enumerator<'t>(
    local: &Spec<'_>,
    mut spec: Spec<'t>,
    target: &'t Btf<'t>,
    candidate: TypeId,
) -> Result<Match<'t>, MatchError> {
    let local_name = local.accessors[0].name.unwrap_or_default();
    let wanted = essential_name(local_name);
    let id = target.skip_mods_and_typedefs(candidate)?;
    let ty = target.type_by_id(id)?;
    let Some(values) = ty.enum_values() else {
        return Ok(Match::Rejected(Rejection::NotAnEnum {
            target: TypeName::of(target, id),
        }));
    };
    for (index, value) in values.enumerate() {
        let name = target.str_at(value.name_offset)?;
        if essential_name(name) == wanted {
            let index = index as u32;
            spec.accessors.push(Accessor {
                type_id: id,
                index,
                name: Some(name),
            });
            spec.raw.push(index);
            return Ok(Match::Matched(spec));
        }
    }
    Ok(Match::Rejected(Rejection::MissingEnumerator {
        target: TypeName::of(target, id),
        name: local_name.to_string(),
    }))
}

/// What a search for a named member found.
enum MemberSearch {
    /// The member, compatible with the local one: its type.
    Found(TypeId),
    /// No member of that name.
    Missing,
    /// A namesake whose type is not compatible.
    Incompatible,
    /// The holder is not a struct or union.
    NotComposite,
}

/// Finds the member named `name` in the target struct/union `target_id`, looking through
/// anonymous members, and records the raw path to it in `spec`.
fn match_member<'t>(
    local: &Spec<'_>,
    local_accessor: &Accessor<'_>,
    name: &str,
    target: &'t Btf<'t>,
    target_id: TypeId,
    spec: &mut Spec<'t>,
) -> Result<MemberSearch, MatchError> {
    let target_id = target.skip_mods_and_typedefs(target_id)?;
    let ty = target.type_by_id(target_id)?;
    let Some(members) = ty.members() else {
        return Ok(MemberSearch::NotComposite);
    };
    let local_member_type = local
        .btf
        .type_by_id(local_accessor.type_id)?
        .members()
        .and_then(|members| members.get(local_accessor.index as usize))
        .map(|member| member.type_id)
        .ok_or(MatchError::LocalMember {
            id: local_accessor.type_id,
            index: local_accessor.index,
        })?;
    let mut outcome = MemberSearch::Missing;
    for (index, member) in members.enumerate() {
        spec.push_raw(index as u32)
            .map_err(|_| MatchError::TooDeep)?;
        spec.bit_offset += u64::from(member.bit_offset);
        let member_name = target.str_at(member.name_offset)?;
        if member_name.is_empty() {
            // An anonymous struct or union: its members belong to this one.
            match match_member(local, local_accessor, name, target, member.type_id, spec)? {
                MemberSearch::Found(found) => return Ok(MemberSearch::Found(found)),
                MemberSearch::Incompatible => outcome = MemberSearch::Incompatible,
                MemberSearch::Missing | MemberSearch::NotComposite => {}
            }
        } else if member_name == name {
            if !fields_are_compatible(local.btf, local_member_type, target, member.type_id)? {
                // Names are unique in a struct: an incompatible namesake ends the search.
                // (libbpf leaves this member in the raw spec here; we undo it.)
                spec.bit_offset -= u64::from(member.bit_offset);
                spec.raw.pop();
                return Ok(MemberSearch::Incompatible);
            }
            spec.accessors.push(Accessor {
                type_id: target_id,
                index: index as u32,
                name: Some(member_name),
            });
            return Ok(MemberSearch::Found(member.type_id));
        }
        spec.bit_offset -= u64::from(member.bit_offset);
        spec.raw.pop();
    }
    Ok(outcome)
}
