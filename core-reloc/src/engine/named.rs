//! Resolution of named relocations ([`crate::named`]): the same candidates, values and
//! explanations as `.BTF.ext` records, with the local side a name path instead of a local
//! BTF type.
//!
//! Candidates come from the same [`Targets`] search (same essential name and kind, vmlinux
//! first, modules only for names vmlinux lacks). The path is followed by member names through
//! anonymous members, and the value computed by the same code as for `.BTF.ext` records.
//!
//! Binding follows the `.BTF.ext` program model ([`super::ProgramRecords`]): a program is an
//! entry section plus the `.text` subprograms it reaches ([`NamedProgram`]), and all named
//! relocations of one program with the same root type (kind and essential name) bind to
//! **one** kernel type. Each candidate is evaluated against all of them; the candidate that
//! leaves the fewest poisoned or absent wins; candidates tied at the best score must give the
//! same value for every relocation, else every relocation of that type fails as ambiguous. A relocation whose field the winning type lacks is absent
//! (`field_exists` 0, `field_byte_offset` poisoned), even if another candidate has the field.
//! A site in a subprogram that several programs reach gets one value: if their bindings give
//! it different fixups it fails with [`ReloErrorKind::ProgramsDisagree`] naming both programs,
//! as a shared `.BTF.ext` record does.

use std::collections::BTreeMap;

use crate::btf::{Btf, BtfError, Kind, TypeId};
use crate::fixup::{Fixup, PoisonReason};
use crate::named::elf::NamedSite;
use crate::named::{NamedReloc, Step};

use super::candidates::TieredCandidate;
use super::error::{ErrorAccess, ReloError, ReloErrorKind, SpecError};
use super::explain::{
    AccessPath, AccessStep, Ambiguity, CandidateResult, RawSpec, Rejection, TypeKeyword, TypeName,
};
use super::name::essential_name;
use super::spec::{Accessor, Spec};
use super::value::{self, Value, ValueError};
use super::{CandidateReport, Resolution, Targets, merge_shared_result};
use crate::BtfOrigin;
use crate::target::TargetRef;

/// Declares every named relocation's root type to `targets`, before [`Targets::search`].
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};
/// use core_reloc::engine::{Targets, want_named_types};
/// use core_reloc::target::TargetBtf;
/// use core_reloc::named::NamedReloc;
/// use core_reloc::BtfOrigin;
/// let mut kernel = BtfBuilder::new();
/// let int = kernel.add_int("int", 4, IntEncoding::SIGNED);
/// kernel.add_struct("task_struct", 8, &[MemberSpec::new("pid", int, 32)]);
/// let kernel = Btf::parse(kernel.build())?;
/// let reloc = NamedReloc::parse("core_reloc:v1:field_byte_offset:struct:task_struct:pid")?.unwrap();
/// let mut targets = Targets::new(TargetBtf { origin: &BtfOrigin::Vmlinux, btf: &kernel });
/// want_named_types([&reloc], &mut targets);
/// targets.search();
/// assert_eq!(targets.candidate_count("task_struct", core_reloc::btf::Kind::Struct), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn want_named_types<'r>(
    relocs: impl IntoIterator<Item = &'r NamedReloc>,
    targets: &mut Targets<'_>,
) {
    for reloc in relocs {
        targets.want(&reloc.type_name, reloc.type_kind);
    }
}

/// What one candidate gives one named relocation.
enum Eval<'t> {
    /// It has the field, type or enumerator: the target spec and value (`None`: poison).
    Matched(Spec<'t>, Option<Value>),
    /// It does not, and why.
    Rejected(Rejection),
}

/// One program's named relocations: its name (for explanations and errors), the modules
/// that own its attach target (their candidates come right after vmlinux's) and which sites
/// it contains (its entry section's and those of the `.text` subprograms it reaches, as for
/// [`ProgramRecords`](super::ProgramRecords)).
///
/// ```
/// use core_reloc::engine::NamedProgram;
/// use core_reloc::BtfOrigin;
/// let program = NamedProgram {
///     name: "kprobe/btrfs_getattr".into(),
///     attach_modules: vec![BtfOrigin::module("btrfs")],
///     sites: vec![0, 2],
/// };
/// assert_eq!(program.sites.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedProgram {
    /// The program's name in errors (its entry section).
    pub name: String,
    /// Modules owning its attach target.
    pub attach_modules: Vec<BtfOrigin>,
    /// Positions (into the sites given to [`resolve_named`]) of the sites it contains; a
    /// shared subprogram's sites are listed by every program that reaches it.
    pub sites: Vec<usize>,
}

/// The outcome of one named relocation over every program that contains it.
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};
/// use core_reloc::engine::{NamedOutcome, Targets, resolve_named, want_named_types};
/// use core_reloc::target::TargetBtf;
/// use core_reloc::BtfOrigin;
/// # fn demo(object: &core_reloc::object::BpfObject<'_>, kernel: &Btf<'_>) {
/// let sites = object.named_relocations();
/// let mut targets = Targets::new(TargetBtf { origin: &BtfOrigin::Vmlinux, btf: kernel });
/// want_named_types(sites.iter().map(|site| &site.reloc), &mut targets);
/// targets.search();
/// // No programs given: every site is unlisted and bound as one group.
/// let outcomes: Vec<NamedOutcome> = resolve_named(sites, &targets, &[]);
/// assert!(outcomes.iter().all(|outcome| outcome.programs.is_empty()));
/// # }
/// ```
#[derive(Debug)]
pub struct NamedOutcome {
    /// Indices (into the programs given) of the programs that contain it, in order; empty
    /// for a site no program lists.
    pub programs: Vec<usize>,
    /// The fixup and its explanation, or why there is none.
    pub result: Result<Resolution, ReloError>,
}

/// Resolves every named relocation of `sites` against searched `targets`, one program at a
/// time, as [`Engine::resolve_programs`](super::Engine::resolve_programs) does for `.BTF.ext`
/// records; the outcome at `i` belongs to `sites[i]`. Within each program, the sites with one
/// root type (kind and essential name) bind to one kernel type. A site that several programs
/// contain must get the same fixup in each, else it fails with
/// [`ReloErrorKind::ProgramsDisagree`]. Sites no program lists are bound together as one more
/// program with no name and no attach-target module.
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};
/// use core_reloc::engine::{Targets, resolve_named, want_named_types};
/// use core_reloc::target::TargetBtf;
/// use core_reloc::BtfOrigin;
/// # let object_bytes: Vec<u8> = Vec::new();
/// # fn demo(object: &core_reloc::object::BpfObject<'_>, kernel: &Btf<'_>) {
/// let sites = object.named_relocations();
/// let mut targets = Targets::new(TargetBtf { origin: &BtfOrigin::Vmlinux, btf: kernel });
/// want_named_types(sites.iter().map(|site| &site.reloc), &mut targets);
/// targets.search();
/// for outcome in resolve_named(sites, &targets, &[]) {
///     match outcome.result {
///         Ok(resolution) => println!("{} => {}", resolution.access, resolution.fixup.new_val),
///         Err(error) => println!("{error}"),
///     }
/// }
/// # }
/// ```
pub fn resolve_named(
    sites: &[NamedSite],
    targets: &Targets<'_>,
    programs: &[NamedProgram],
) -> Vec<NamedOutcome> {
    let mut outcomes: Vec<Option<NamedOutcome>> = sites.iter().map(|_| None).collect();
    for (index, program) in programs.iter().enumerate() {
        let members = program
            .sites
            .iter()
            .copied()
            .filter(|&position| position < sites.len());
        for (position, result) in bind_program(sites, members, targets, program) {
            let Some(existing) = &mut outcomes[position] else {
                outcomes[position] = Some(NamedOutcome {
                    programs: vec![index],
                    result,
                });
                continue;
            };
            if existing.programs.contains(&index) {
                continue;
            }
            let named = &sites[position];
            merge_shared_result(
                &mut existing.result,
                result,
                (named.site, named.reloc.kind),
                &programs[existing.programs[0]].name,
                &program.name,
            );
            existing.programs.push(index);
        }
    }
    let unlisted: Vec<usize> = (0..sites.len())
        .filter(|&position| outcomes[position].is_none())
        .collect();
    if !unlisted.is_empty() {
        let program = NamedProgram {
            name: String::new(),
            attach_modules: Vec::new(),
            sites: Vec::new(),
        };
        for (position, result) in bind_program(sites, unlisted.into_iter(), targets, &program) {
            outcomes[position] = Some(NamedOutcome {
                programs: Vec::new(),
                result,
            });
        }
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every site is bound by a program or as unlisted"))
        .collect()
}

/// Binds the sites at `members` as one program: one kernel type per root type. Returns each
/// member's position with its result.
fn bind_program(
    sites: &[NamedSite],
    members: impl Iterator<Item = usize>,
    targets: &Targets<'_>,
    program: &NamedProgram,
) -> Vec<(usize, Result<Resolution, ReloError>)> {
    // (kind key, essential name) -> site positions: one binding each.
    let mut groups: BTreeMap<(u8, &str), Vec<usize>> = BTreeMap::new();
    for position in members {
        let named = &sites[position];
        let kind_key = if named.reloc.type_kind.is_enum() {
            Kind::Enum.raw()
        } else {
            named.reloc.type_kind.raw()
        };
        let group = groups
            .entry((kind_key, essential_name(&named.reloc.type_name)))
            .or_default();
        if !group.contains(&position) {
            group.push(position);
        }
    }
    let mut results = Vec::new();
    for members in groups.values_mut() {
        // Site order, not listing order, keeps the binding independent of how it was listed.
        members.sort_by_key(|&position| (sites[position].site.record_index, position));
        results.extend(bind_group(sites, members, targets, program));
    }
    results
}

/// Binds one root type's sites of one program to one candidate.
fn bind_group(
    sites: &[NamedSite],
    members: &[usize],
    targets: &Targets<'_>,
    program: &NamedProgram,
) -> Vec<(usize, Result<Resolution, ReloError>)> {
    let first = &sites[members[0]].reloc;
    let candidates = targets.first_tier(&first.type_name, first.type_kind, &program.attach_modules);
    // evals[c][m]: candidate c on member m.
    let mut evals: Vec<Vec<Result<Eval<'_>, ReloErrorKind>>> = candidates
        .iter()
        .map(|candidate| {
            members
                .iter()
                .map(|&m| {
                    evaluate(
                        &sites[m].reloc,
                        candidate.btf,
                        candidate.id,
                        &candidate.target,
                    )
                })
                .collect()
        })
        .collect();
    // A relocation the candidate cannot give a value is poisoned or absent.
    let missing =
        |eval: &Result<Eval<'_>, ReloErrorKind>| !matches!(eval, Ok(Eval::Matched(_, Some(_))));
    let scores: Vec<usize> = evals
        .iter()
        .map(|row| row.iter().filter(|eval| missing(eval)).count())
        .collect();
    let best = scores.iter().copied().min();
    let tied: Vec<usize> = (0..scores.len())
        .filter(|&c| Some(scores[c]) == best)
        .collect();
    let ambiguity = members.iter().enumerate().find_map(|(m, &position)| {
        let named = &sites[position];
        let kind = named.reloc.kind;
        let results: Vec<CandidateResult> = tied
            .iter()
            .map(|&c| candidate_result(&evals[c][m], kind))
            .collect();
        let values: Vec<Option<u64>> = tied
            .iter()
            .map(|&c| final_value(&evals[c][m], kind))
            .collect();
        values
            .iter()
            .any(|value| *value != values[0])
            .then(|| Ambiguity {
                local_type: local_type(&named.reloc),
                program: program.name.clone(),
                candidates: tied.iter().map(|&c| candidates[c].target.clone()).collect(),
                misses: best.unwrap_or(0),
                record_index: named.site.record_index,
                kind,
                access: access_path(&named.reloc),
                results,
            })
    });
    let winner = tied.first().copied();
    members
        .iter()
        .enumerate()
        .map(|(m, &position)| {
            let named = &sites[position];
            let fail = |reason: ReloErrorKind| ReloError {
                site: named.site,
                kind: named.reloc.kind,
                access: ErrorAccess::Path(access_path(&named.reloc)),
                reason: Box::new(reason),
            };
            let result = match &ambiguity {
                Some(ambiguity) => Err(fail(ReloErrorKind::Ambiguous(Box::new(ambiguity.clone())))),
                None => {
                    resolution(named, winner, &mut evals, &candidates, &scores, m).map_err(fail)
                }
            };
            (position, result)
        })
        .collect()
}

/// The root type of a named relocation, as its symbol names it (it has no local BTF id).
fn local_type(reloc: &NamedReloc) -> TypeName {
    let keyword = match reloc.type_kind {
        Kind::Struct => TypeKeyword::Struct,
        Kind::Union => TypeKeyword::Union,
        Kind::Enum | Kind::Enum64 => TypeKeyword::Enum,
        Kind::Typedef => TypeKeyword::Typedef,
        kind => TypeKeyword::Other(kind),
    };
    TypeName {
        id: TypeId::VOID,
        keyword,
        name: Some(reloc.type_name.clone()),
    }
}

/// A named relocation's access as a path.
fn access_path(reloc: &NamedReloc) -> AccessPath {
    let mut steps: Vec<AccessStep> = reloc
        .path
        .iter()
        .map(|step| match step {
            Step::Member(name) => AccessStep::Member { name: name.clone() },
            &Step::Index(index) => AccessStep::Index(index),
        })
        .collect();
    if let Some(name) = &reloc.enumerator {
        steps.push(AccessStep::Enumerator { name: name.clone() });
    }
    AccessPath {
        root: local_type(reloc),
        steps,
    }
}

/// What a tied candidate gives, for an ambiguity.
fn candidate_result(
    eval: &Result<Eval<'_>, ReloErrorKind>,
    kind: crate::ext::CoreReloKind,
) -> CandidateResult {
    match eval {
        Ok(Eval::Matched(spec, value)) => CandidateResult::Value {
            value: value.map_or(0, |value| value.value),
            bit_offset: kind.is_field_based().then_some(spec.bit_offset),
        },
        Ok(Eval::Rejected(why)) => CandidateResult::Unmatched(why.clone()),
        Err(_) => CandidateResult::Value {
            value: final_value(eval, kind).unwrap_or(0),
            bit_offset: None,
        },
    }
}

/// The value a relocation ends with under a candidate (`None`: poison), errors included as
/// "no value" for comparison.
fn final_value(
    eval: &Result<Eval<'_>, ReloErrorKind>,
    kind: crate::ext::CoreReloKind,
) -> Option<u64> {
    match eval {
        Ok(Eval::Matched(_, value)) => value.map(|value| value.value),
        Ok(Eval::Rejected(_)) | Err(_) => no_target(kind).map(|value| value.value),
    }
}

/// The value without any target: 0 for existence and type kinds, poison for the others.
fn no_target(kind: crate::ext::CoreReloKind) -> Option<Value> {
    // `compute` without a spec never reads BTF, so it cannot fail.
    value::compute(None, kind, crate::btf::Endianness::Little)
        .ok()
        .flatten()
}

fn resolution(
    named: &NamedSite,
    winner: Option<usize>,
    evals: &mut [Vec<Result<Eval<'_>, ReloErrorKind>>],
    candidates: &[TieredCandidate<'_>],
    scores: &[usize],
    member: usize,
) -> Result<Resolution, ReloErrorKind> {
    let kind = named.reloc.kind;
    let reports = evals
        .iter()
        .zip(candidates)
        .enumerate()
        .map(|(c, (row, candidate))| CandidateReport {
            target: candidate.target.clone(),
            tier: candidate.tier,
            rejected: match &row[member] {
                Ok(Eval::Rejected(why)) => Some(why.clone()),
                _ => None,
            },
            misses: scores[c],
            chosen: Some(c) == winner,
        })
        .collect();
    let access = access_path(&named.reloc);
    let mut resolution = Resolution {
        fixup: Fixup::poison(named.site, kind, 0, PoisonReason::NotFound),
        local_type: access.root.clone(),
        access,
        spec: RawSpec::default(),
        target: None,
        target_spec: None,
        candidates: reports,
    };
    let chosen = winner.map(|c| {
        let placeholder = Ok(Eval::Rejected(Rejection::NotAnArray {
            target: TypeName {
                id: TypeId::VOID,
                keyword: TypeKeyword::Invalid,
                name: None,
            },
        }));
        (c, std::mem::replace(&mut evals[c][member], placeholder))
    });
    let value = match chosen {
        // The winner's BTF is broken where this relocation needs it.
        Some((_, Err(error))) => return Err(error),
        Some((c, Ok(Eval::Matched(spec, value)))) => {
            resolution.target = Some(candidates[c].target.clone());
            resolution.target_spec = (!kind.is_type_based()).then(|| spec.raw_spec());
            value
        }
        Some((_, Ok(Eval::Rejected(_)))) | None => no_target(kind),
    };
    if let Some(value) = value {
        resolution.fixup = Fixup::rewrite(named.site, kind, 0, value.value);
    }
    Ok(resolution)
}

/// Follows `reloc` in candidate `id` of `btf`.
fn evaluate<'t>(
    reloc: &NamedReloc,
    btf: &'t Btf<'t>,
    id: TypeId,
    target: &TargetRef,
) -> Result<Eval<'t>, ReloErrorKind> {
    let btf_error = |error: BtfError| ReloErrorKind::Target {
        target: target.clone(),
        error: error.into(),
    };
    let walked = walk(reloc, btf, id).map_err(|error| match error {
        WalkError::Btf(error) => btf_error(error),
        WalkError::TooDeep => ReloErrorKind::Spec {
            error: SpecError::TooLong,
        },
    })?;
    let spec = match walked {
        Ok(spec) => spec,
        Err(why) => return Ok(Eval::Rejected(why)),
    };
    let value =
        value::compute(Some(&spec), reloc.kind, btf.endian()).map_err(|error| match error {
            ValueError::Btf(error) => btf_error(error),
            ValueError::Relo(reason) => reason,
        })?;
    Ok(Eval::Matched(spec, value))
}

enum WalkError {
    Btf(BtfError),
    TooDeep,
}

impl From<BtfError> for WalkError {
    fn from(error: BtfError) -> Self {
        WalkError::Btf(error)
    }
}

/// The target spec of `reloc` in candidate `candidate`, or why the candidate lacks it.
fn walk<'t>(
    reloc: &NamedReloc,
    btf: &'t Btf<'t>,
    candidate: TypeId,
) -> Result<Result<Spec<'t>, Rejection>, WalkError> {
    let mut spec = Spec::empty(btf, candidate);
    if reloc.kind.is_type_based() {
        return Ok(Ok(spec));
    }
    let root = btf.skip_mods_and_typedefs(candidate)?;
    if let Some(wanted) = &reloc.enumerator {
        let ty = btf.type_by_id(root)?;
        let Some(values) = ty.enum_values() else {
            return Ok(Err(Rejection::NotAnEnum {
                target: TypeName::of(btf, root),
            }));
        };
        for (index, value) in values.enumerate() {
            let name = btf.str_at(value.name_offset)?;
            if essential_name(name) == essential_name(wanted) {
                spec.raw.push(index as u32);
                spec.accessors.push(Accessor {
                    type_id: root,
                    index: index as u32,
                    name: Some(name),
                });
                return Ok(Ok(spec));
            }
        }
        return Ok(Err(Rejection::MissingEnumerator {
            target: TypeName::of(btf, root),
            name: wanted.clone(),
        }));
    }
    spec.raw.push(0);
    spec.accessors.push(Accessor {
        type_id: root,
        index: 0,
        name: None,
    });
    let mut id = root;
    for step in &reloc.path {
        id = btf.skip_mods_and_typedefs(id)?;
        match step {
            Step::Member(name) => match find_member(btf, id, name, &mut spec)? {
                Some(member_type) => id = member_type,
                None => {
                    return Ok(Err(Rejection::MissingMember {
                        holder: TypeName::of(btf, id),
                        member: name.clone(),
                    }));
                }
            },
            &Step::Index(index) => {
                let ty = btf.type_by_id(id)?;
                let Some(array) = ty.array() else {
                    return Ok(Err(Rejection::NotAnArray {
                        target: TypeName::of(btf, id),
                    }));
                };
                if !spec.index_in_bounds(array.nelems, index) {
                    return Ok(Err(Rejection::IndexOutOfBounds {
                        index,
                        nelems: array.nelems,
                    }));
                }
                id = btf.skip_mods_and_typedefs(array.elem_type)?;
                spec.push_raw(index).map_err(|_| WalkError::TooDeep)?;
                spec.push_element(id, index)?;
            }
        }
    }
    Ok(Ok(spec))
}

/// Finds member `name` of struct/union `holder`, looking through anonymous members, and
/// extends `spec` with the raw path to it; returns the member's type.
fn find_member<'t>(
    btf: &'t Btf<'t>,
    holder: TypeId,
    name: &str,
    spec: &mut Spec<'t>,
) -> Result<Option<TypeId>, WalkError> {
    let holder = btf.skip_mods_and_typedefs(holder)?;
    let ty = btf.type_by_id(holder)?;
    let Some(members) = ty.members() else {
        return Ok(None);
    };
    for (index, member) in members.enumerate() {
        spec.push_raw(index as u32)
            .map_err(|_| WalkError::TooDeep)?;
        spec.bit_offset += u64::from(member.bit_offset);
        let member_name = btf.str_at(member.name_offset)?;
        if member_name.is_empty() {
            if let Some(found) = find_member(btf, member.type_id, name, spec)? {
                return Ok(Some(found));
            }
        } else if member_name == name {
            spec.accessors.push(Accessor {
                type_id: holder,
                index: index as u32,
                name: Some(member_name),
            });
            return Ok(Some(member.type_id));
        }
        spec.bit_offset -= u64::from(member.bit_offset);
        spec.raw.pop();
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BtfOrigin;
    use crate::btf::{BtfBuilder, IntEncoding, MemberSpec};
    use crate::fixup::RelocationSite;
    use crate::target::TargetBtf;

    fn site(index: usize, section: usize) -> RelocationSite {
        RelocationSite {
            record_index: index,
            section_index: section,
            insn_index: index * 2,
        }
    }

    fn sites(symbols: &[&str]) -> Vec<NamedSite> {
        symbols
            .iter()
            .enumerate()
            .map(|(index, symbol)| NamedSite::for_test(site(index, 3), symbol))
            .collect()
    }

    /// Resolves `symbols` (all in one section) against `kernel`; the values (`None`: poison).
    fn resolve(kernel: &Btf<'_>, symbols: &[&str]) -> Vec<Result<Option<u64>, String>> {
        let sites = sites(symbols);
        let mut targets = Targets::new(TargetBtf {
            origin: &BtfOrigin::Vmlinux,
            btf: kernel,
        });
        want_named_types(sites.iter().map(|site| &site.reloc), &mut targets);
        targets.search();
        resolve_named(&sites, &targets, &[])
            .into_iter()
            .map(|outcome| {
                outcome
                    .result
                    .map(|resolution| {
                        (!resolution.fixup.is_poison()).then_some(resolution.fixup.new_val)
                    })
                    .map_err(|error| error.to_string())
            })
            .collect()
    }

    fn kernel() -> Vec<u8> {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let uint = b.add_int("unsigned int", 4, IntEncoding::default());
        let arr = b.add_array(int, int, 4);
        // struct task { int state; union { int x; struct { int y; }; }; int v[4]; unsigned f:3, g:5; }
        let inner = b.add_struct("", 4, &[MemberSpec::new("y", int, 0)]);
        let anon = b.add_union(
            "",
            4,
            &[MemberSpec::new("x", int, 0), MemberSpec::new("", inner, 0)],
        );
        b.add_struct(
            "task",
            28,
            &[
                MemberSpec::new("state", int, 0),
                MemberSpec::new("", anon, 32),
                MemberSpec::new("v", arr, 64),
                MemberSpec::bitfield("f", uint, 192, 3),
                MemberSpec::bitfield("g", int, 195, 5),
            ],
        );
        b.add_enum("mode", 4, false, &[("MODE_A", 7), ("MODE_B", 9)]);
        let task = b.add_struct("tiny", 4, &[MemberSpec::new("a", int, 0)]);
        b.add_typedef("tiny_t", task);
        b.build()
    }

    #[test]
    fn values_follow_names_through_anonymous_members_arrays_and_bitfields() {
        let bytes = kernel();
        let kernel = Btf::parse(&bytes[..]).unwrap();
        let got = resolve(
            &kernel,
            &[
                "core_reloc:v1:field_byte_offset:struct:task:x",
                "core_reloc:v1:field_byte_offset:struct:task:y",
                "core_reloc:v1:field_byte_offset:struct:task:v[2]",
                "core_reloc:v1:field_byte_size:struct:task:v",
                "core_reloc:v1:field_signed:struct:task:state",
                "core_reloc:v1:field_exists:struct:task:nope",
                "core_reloc:v1:field_byte_offset:struct:task:nope",
                "core_reloc:v1:field_lshift_u64:struct:task:g",
                "core_reloc:v1:field_rshift_u64:struct:task:g",
                "core_reloc:v1:field_signed:struct:task:f",
                "core_reloc:v1:type_size:struct:task",
                "core_reloc:v1:type_exists:struct:task___v2",
                "core_reloc:v1:type_exists:union:task",
                "core_reloc:v1:type_size:typedef:tiny_t",
                "core_reloc:v1:enumval_value:enum:mode:MODE_B",
                "core_reloc:v1:enumval_exists:enum:mode:MODE_C",
                "core_reloc:v1:enumval_value:enum:mode:MODE_C",
                "core_reloc:v1:field_exists:struct:task:v[4]",
            ],
        );
        let expected: Vec<Result<Option<u64>, String>> = vec![
            Ok(Some(4)),
            Ok(Some(4)),
            Ok(Some(16)),
            Ok(Some(16)),
            Ok(Some(1)),
            Ok(Some(0)),
            Ok(None),
            // g: bits 195..200 of a 4-byte load at byte 24: 64 - (195 + 5 - 192) = 56.
            Ok(Some(56)),
            Ok(Some(59)),
            Ok(Some(0)),
            Ok(Some(28)),
            Ok(Some(1)),
            Ok(Some(0)),
            Ok(Some(4)),
            Ok(Some(9)),
            Ok(Some(0)),
            Ok(None),
            Ok(Some(0)),
        ];
        assert_eq!(got, expected);
    }

    /// Two kernel types named `s`: x { a, b } and y { b, c }.
    fn two_candidates(x_first: bool) -> Vec<u8> {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let x = [MemberSpec::new("a", int, 0), MemberSpec::new("b", int, 32)];
        let y = [MemberSpec::new("b", int, 0), MemberSpec::new("c", int, 32)];
        if x_first {
            b.add_struct("s", 8, &x);
            b.add_struct("s", 8, &y);
        } else {
            b.add_struct("s", 8, &y);
            b.add_struct("s", 8, &x);
        }
        b.build()
    }

    #[test]
    fn one_kernel_type_per_root_type_whatever_the_order() {
        for x_first in [true, false] {
            let bytes = two_candidates(x_first);
            let kernel = Btf::parse(&bytes[..]).unwrap();
            for symbols in [
                [
                    "core_reloc:v1:field_byte_offset:struct:s:a",
                    "core_reloc:v1:field_byte_offset:struct:s:b",
                ],
                [
                    "core_reloc:v1:field_byte_offset:struct:s:b",
                    "core_reloc:v1:field_byte_offset:struct:s:a",
                ],
            ] {
                let got = resolve(&kernel, &symbols);
                let a = symbols.iter().position(|s| s.ends_with(":a")).unwrap();
                assert_eq!(got[a], Ok(Some(0)), "x_first {x_first}");
                assert_eq!(
                    got[1 - a],
                    Ok(Some(4)),
                    "b is x's, not y's 0: x_first {x_first}"
                );
            }
        }
    }

    #[test]
    fn tied_candidates_that_disagree_are_ambiguous() {
        let bytes = two_candidates(true);
        let kernel = Btf::parse(&bytes[..]).unwrap();
        // Both have `b`, at different offsets, and nothing else is asked.
        let got = resolve(&kernel, &["core_reloc:v1:field_byte_offset:struct:s:b"]);
        let error = got[0].as_ref().unwrap_err();
        assert!(error.contains("ambiguous"), "{error}");
        assert!(error.contains("struct s.b"), "{error}");
        // Existence agrees (both have it): not ambiguous.
        assert_eq!(
            resolve(&kernel, &["core_reloc:v1:field_exists:struct:s:b"]),
            [Ok(Some(1))]
        );
    }

    /// Searched targets over `kernel` for `sites`.
    fn targets_for<'t>(kernel: &'t Btf<'t>, sites: &[NamedSite]) -> Targets<'t> {
        let mut targets = Targets::new(TargetBtf {
            origin: &BtfOrigin::Vmlinux,
            btf: kernel,
        });
        want_named_types(sites.iter().map(|site| &site.reloc), &mut targets);
        targets.search();
        targets
    }

    fn program(name: &str, sites: &[usize]) -> NamedProgram {
        NamedProgram {
            name: name.into(),
            attach_modules: Vec::new(),
            sites: sites.to_vec(),
        }
    }

    #[test]
    fn programs_bind_independently() {
        let bytes = two_candidates(true);
        let kernel = Btf::parse(&bytes[..]).unwrap();
        let sites = sites(&[
            "core_reloc:v1:field_byte_offset:struct:s:a",
            "core_reloc:v1:field_byte_offset:struct:s:b",
            "core_reloc:v1:field_byte_offset:struct:s:c",
            "core_reloc:v1:field_byte_offset:struct:s:b",
        ]);
        let targets = targets_for(&kernel, &sites);
        let programs = [program("kprobe/x", &[0, 1]), program("kprobe/y", &[2, 3])];
        let outcomes = resolve_named(&sites, &targets, &programs);
        let values: Vec<u64> = outcomes
            .iter()
            .map(|outcome| outcome.result.as_ref().unwrap().fixup.new_val)
            .collect();
        // The first program binds x { a, b }; the second binds y { b, c }.
        assert_eq!(values, [0, 4, 4, 0]);
        let owners: Vec<&[usize]> = outcomes.iter().map(|o| o.programs.as_slice()).collect();
        assert_eq!(owners, [&[0][..], &[0], &[1], &[1]]);
    }

    /// A shared subprogram's site (position 0, in `.text`) reached by two programs, each with
    /// a site of its own in its entry section (positions 1 and 2).
    fn shared(first: &str, second: &str) -> (Vec<NamedSite>, [NamedProgram; 2]) {
        let mut sites = sites(&["core_reloc:v1:field_byte_offset:struct:s:b", first, second]);
        sites[0].site.section_index = 2;
        sites[2].site.section_index = 4;
        let programs = [program("kprobe/x", &[1, 0]), program("kprobe/y", &[0, 2])];
        (sites, programs)
    }

    #[test]
    fn a_shared_subprogram_site_gets_one_value_when_its_programs_agree() {
        let bytes = two_candidates(true);
        let kernel = Btf::parse(&bytes[..]).unwrap();
        // Both programs bind x { a, b } (they read `a`), so `b` is 4 in both.
        let (sites, programs) = shared(
            "core_reloc:v1:field_byte_offset:struct:s:a",
            "core_reloc:v1:field_exists:struct:s:a",
        );
        let targets = targets_for(&kernel, &sites);
        let outcomes = resolve_named(&sites, &targets, &programs);
        assert_eq!(outcomes.len(), 3);
        assert_eq!(outcomes[0].programs, [0, 1]);
        let shared = outcomes[0].result.as_ref().unwrap();
        assert_eq!(shared.fixup.new_val, 4);
        assert_eq!(shared.fixup.site, sites[0].site);
        assert_eq!(outcomes[1].result.as_ref().unwrap().fixup.new_val, 0);
        assert_eq!(outcomes[2].result.as_ref().unwrap().fixup.new_val, 1);
    }

    #[test]
    fn a_shared_subprogram_site_fails_when_its_programs_disagree() {
        let bytes = two_candidates(true);
        let kernel = Btf::parse(&bytes[..]).unwrap();
        // kprobe/x reads `a` and binds x { a, b } (b at 4); kprobe/y reads `c` and binds
        // y { b, c } (b at 0).
        let (sites, programs) = shared(
            "core_reloc:v1:field_byte_offset:struct:s:a",
            "core_reloc:v1:field_byte_offset:struct:s:c",
        );
        let targets = targets_for(&kernel, &sites);
        let outcomes = resolve_named(&sites, &targets, &programs);
        assert_eq!(outcomes[0].programs, [0, 1]);
        let error = outcomes[0].result.as_ref().unwrap_err();
        assert_eq!(error.site, sites[0].site);
        let ReloErrorKind::ProgramsDisagree { first, second } = &*error.reason else {
            panic!("{error}");
        };
        assert_eq!(
            (first.program.as_str(), first.fixup.new_val),
            ("kprobe/x", 4)
        );
        assert_eq!(
            (second.program.as_str(), second.fixup.new_val),
            ("kprobe/y", 0)
        );
        let message = error.to_string();
        assert!(
            message.contains("programs kprobe/x and kprobe/y share this record"),
            "{message}"
        );
        // Each program's own site keeps its program's binding.
        assert_eq!(outcomes[1].result.as_ref().unwrap().fixup.new_val, 0);
        assert_eq!(outcomes[2].result.as_ref().unwrap().fixup.new_val, 4);
    }

    #[test]
    fn entry_and_subprogram_sites_of_one_program_bind_to_one_candidate() {
        let bytes = two_candidates(true);
        let kernel = Btf::parse(&bytes[..]).unwrap();
        // Entry section reads `b`, its subprogram reads `c`: only y { b, c } has both, so `b`
        // is y's 0, not x's 4 (which a binding per section would pick for `b` alone, or call
        // ambiguous).
        let mut sites = sites(&[
            "core_reloc:v1:field_byte_offset:struct:s:b",
            "core_reloc:v1:field_byte_offset:struct:s:c",
        ]);
        sites[1].site.section_index = 2;
        let targets = targets_for(&kernel, &sites);
        let programs = [program("kprobe/y", &[0, 1])];
        let outcomes = resolve_named(&sites, &targets, &programs);
        let values: Vec<u64> = outcomes
            .iter()
            .map(|outcome| outcome.result.as_ref().unwrap().fixup.new_val)
            .collect();
        assert_eq!(values, [0, 4]);
        let targets: Vec<_> = outcomes
            .iter()
            .map(|outcome| outcome.result.as_ref().unwrap().target.clone().unwrap())
            .collect();
        assert_eq!(targets[0], targets[1]);
    }

    #[test]
    fn unlisted_sites_bind_together_as_one_more_program() {
        let bytes = two_candidates(true);
        let kernel = Btf::parse(&bytes[..]).unwrap();
        let sites = sites(&[
            "core_reloc:v1:field_byte_offset:struct:s:a",
            "core_reloc:v1:field_byte_offset:struct:s:c",
            "core_reloc:v1:field_byte_offset:struct:s:b",
        ]);
        let targets = targets_for(&kernel, &sites);
        // Program y has `c` alone; `a` and `b` are in no program: they bind x together.
        let outcomes = resolve_named(&sites, &targets, &[program("kprobe/y", &[1])]);
        let values: Vec<u64> = outcomes
            .iter()
            .map(|outcome| outcome.result.as_ref().unwrap().fixup.new_val)
            .collect();
        assert_eq!(values, [0, 4, 4]);
        assert!(outcomes[0].programs.is_empty() && outcomes[2].programs.is_empty());
        assert_eq!(outcomes[1].programs, [0]);
    }

    #[test]
    fn explanations_name_the_candidate_and_what_it_lacks() {
        let bytes = kernel();
        let kernel = Btf::parse(&bytes[..]).unwrap();
        let sites = sites(&["core_reloc:v1:field_byte_offset:struct:task:nope"]);
        let mut targets = Targets::new(TargetBtf {
            origin: &BtfOrigin::Vmlinux,
            btf: &kernel,
        });
        want_named_types(sites.iter().map(|site| &site.reloc), &mut targets);
        targets.search();
        let resolution = resolve_named(&sites, &targets, &[])
            .remove(0)
            .result
            .unwrap();
        assert!(resolution.fixup.is_poison());
        assert_eq!(resolution.access.to_string(), "struct task.nope");
        assert_eq!(resolution.spec, RawSpec::default());
        assert_eq!(resolution.candidates.len(), 1);
        let Some(Rejection::MissingMember { holder, member }) = &resolution.candidates[0].rejected
        else {
            panic!("{:?}", resolution.candidates);
        };
        assert_eq!(
            (holder.to_string().as_str(), member.as_str()),
            ("struct task", "nope")
        );
    }
}
