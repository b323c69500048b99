//! The CO-RE relocation engine: records + local BTF + target BTFs in, [`Fixup`] values out.
//!
//! The engine is pure: it reads BTF it is given and does no I/O, so it runs the same in
//! tests, in the `core-reloc` tool and in the loader. Applying fixups to instructions is a
//! separate step ([`crate::patch`], [`crate::object`]).
//!
//! # One local type binds to one kernel type
//!
//! Records are resolved per program ([`ProgramRecords`]: an entry section and the `.text`
//! subprograms it calls). Within a program, all records of one local root type are bound to
//! one candidate, independently of record order:
//!
//! 1. candidates come in precedence tiers ([`CandidateTier`]): vmlinux, then the module that
//!    owns the program's attach target, then modules named explicitly, then modules found by
//!    the on-miss search; only the first tier that has any candidate takes part;
//! 2. every candidate of that tier is evaluated against every record of the type; the one
//!    that leaves the fewest records poisoned or absent (existence kinds giving 0) wins;
//! 3. candidates tied at the best score must agree on every fixup, otherwise every record of
//!    the type fails with [`ReloErrorKind::Ambiguous`], naming the type, the tied candidates
//!    and the first record where they disagree;
//! 4. with no candidate at all, existence and type-based kinds give 0 and the others poison.
//!
//! A subprogram record reached by several programs must get the same fixup in each, or it
//! fails with [`ReloErrorKind::ProgramsDisagree`] naming both programs.
//!
//! # Where we differ from libbpf on purpose
//! - libbpf prunes one candidate list per local type as it walks records in file order, so
//!   its answer can depend on which field the program reads first (local `{a, b}` against
//!   `x {a, b}` and `y {b, c}`: libbpf binds `b` to `y` when `b` is read first, then fails on
//!   `a`); cilium/ebpf scores candidates as we do;
//! - libbpf searches every module on a vmlinux miss, in one pool; we take modules in the
//!   precedence tiers above, so the module a program attaches to beats another module that
//!   defines a type of the same name (e1000 vs e1000e);
//! - `target_type_id` of a module type names the module ([`Resolution::target`]), and
//!   [`EngineOptions::strict_module_type_ids`] turns it into an error;
//! - a 32-bit enumerator widens by the enum's signedness, where libbpf sign-extends all.

mod candidates;
mod compat;
mod error;
mod explain;
mod matching;
mod name;
mod named;
mod spec;
mod value;

use std::collections::BTreeMap;

use crate::BtfOrigin;
use crate::btf::{Btf, Endianness, TypeId};
use crate::ext::{CoreRelo, CoreReloKind};
use crate::fixup::{Fixup, MemSize, PoisonReason, RelocationSite};
use crate::target::TargetRef;

pub use candidates::{CandidateTier, ModuleRole, Targets};
pub use compat::types_are_compatible;
pub use error::{ErrorAccess, ReloError, ReloErrorKind, SpecError};
pub use explain::{
    AccessPath, AccessStep, Ambiguity, CandidateResult, ProgramBinding, RawSpec, Rejection,
    TypeKeyword, TypeName,
};
pub use name::essential_name;
pub use named::{NamedOutcome, NamedProgram, resolve_named, want_named_types};
pub use spec::MAX_SPEC_LEN;

use candidates::TieredCandidate;
use matching::{Match, MatchError, match_candidate};
use spec::{Spec, access_path, parse_local_spec};
use value::{Value, ValueError};

/// Choices the caller makes about the engine's behaviour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// Fail `target_type_id` relocations that resolve to a module type instead of writing the
    /// module-numbered id (which, like libbpf's, is only meaningful with the module's BTF fd).
    pub strict_module_type_ids: bool,
}

/// A candidate the engine looked at for one record and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateReport {
    /// The candidate type.
    pub target: TargetRef,
    /// Its precedence tier for this program.
    pub tier: CandidateTier,
    /// `None` when it matched this record; otherwise why not.
    pub rejected: Option<Rejection>,
    /// How many of the local type's records in the program it leaves poisoned or absent
    /// (its score: the fewest wins).
    pub misses: usize,
    /// Whether the local type was bound to it.
    pub chosen: bool,
}

/// A resolved relocation: the fixup and the facts behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The value to apply.
    pub fixup: Fixup,
    /// The local root type, e.g. `struct btrfs_inode`.
    pub local_type: TypeName,
    /// The access, e.g. `struct btrfs_inode.vfs_inode.i_ino`.
    pub access: AccessPath,
    /// The record's access string, e.g. `0:3:1`.
    pub spec: RawSpec,
    /// The candidate the local type is bound to, when it has what this record accesses;
    /// `None` when nothing matched or the kind needs no target (`local_type_id`).
    pub target: Option<TargetRef>,
    /// The target's raw access path (includes anonymous members), when matched.
    pub target_spec: Option<RawSpec>,
    /// The candidates of the tier that took part, in search order (empty when there were
    /// none).
    pub candidates: Vec<CandidateReport>,
}

/// One program's records: those of its entry section and of every subprogram it calls.
///
/// ```
/// use core_reloc::engine::ProgramRecords;
/// use core_reloc::BtfOrigin;
/// let program = ProgramRecords {
///     name: "kprobe/btrfs_getattr".into(),
///     attach_modules: vec![BtfOrigin::module("btrfs")],
///     records: Vec::new(),
/// };
/// assert!(program.records.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramRecords {
    /// The program's name in errors (its entry section).
    pub name: String,
    /// Modules that own the program's attach target: their candidates come right after
    /// vmlinux's.
    pub attach_modules: Vec<BtfOrigin>,
    /// The records, each with its site (a shared subprogram's records carry the same sites in
    /// every program that calls it).
    pub records: Vec<(RelocationSite, CoreRelo)>,
}

/// The outcome of one record over every program that contains it.
#[derive(Debug)]
pub struct RecordOutcome {
    /// Where the record applies.
    pub site: RelocationSite,
    /// The record.
    pub record: CoreRelo,
    /// Indices (into the programs given) of the programs that contain it, in order.
    pub programs: Vec<usize>,
    /// The fixup and its explanation, or why there is none.
    pub result: Result<Resolution, ReloError>,
}

/// Declares to `targets` every local type that `records` will look up, so one search pass
/// per target BTF serves them all. Records with invalid type ids are skipped here and
/// reported by [`Engine::resolve`].
pub fn want_record_types<'r>(
    local: &Btf<'_>,
    records: impl IntoIterator<Item = &'r CoreRelo>,
    targets: &mut Targets<'_>,
) {
    for record in records {
        if record.kind == CoreReloKind::TypeIdLocal {
            continue;
        }
        let Ok(ty) = local.type_by_id(TypeId(record.type_id)) else {
            continue;
        };
        if let Ok(name) = local.name(&ty)
            && !name.is_empty()
        {
            targets.want(name, ty.kind());
        }
    }
}

/// Resolves CO-RE records of one object against searched [`Targets`], one program at a time.
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};
/// use core_reloc::ext::{CoreRelo, CoreReloKind};
/// use core_reloc::fixup::RelocationSite;
/// use core_reloc::engine::{want_record_types, Engine, EngineOptions, Targets};
/// use core_reloc::target::TargetBtf;
/// use core_reloc::BtfOrigin;
///
/// // The program was compiled against `struct task_struct { int pid; }`...
/// let mut local = BtfBuilder::new();
/// let int = local.add_int("int", 4, IntEncoding::SIGNED);
/// let task = local.add_struct("task_struct", 4, &[MemberSpec::new("pid", int, 0)]);
/// let access = local.add_string("0:0");
/// let local = Btf::parse(local.build())?;
/// // ...and runs on a kernel where `pid` sits at byte 16.
/// let mut kernel = BtfBuilder::new();
/// let int = kernel.add_int("int", 4, IntEncoding::SIGNED);
/// kernel.add_struct("task_struct", 24, &[MemberSpec::new("state", int, 0), MemberSpec::new("pid", int, 128)]);
/// let kernel = Btf::parse(kernel.build())?;
///
/// let record = CoreRelo { insn_off: 0, type_id: task.0, access_str_off: access, kind: CoreReloKind::FieldByteOffset };
/// let mut targets = Targets::new(TargetBtf { origin: &BtfOrigin::Vmlinux, btf: &kernel });
/// want_record_types(&local, [&record], &mut targets);
/// targets.search();
/// let engine = Engine::new(&local, &targets, EngineOptions::default());
/// let site = RelocationSite { record_index: 0, section_index: 1, insn_index: 0 };
/// let resolution = engine.resolve(site, &record)?;
/// assert_eq!((resolution.fixup.orig_val, resolution.fixup.new_val), (0, 16));
/// assert_eq!(resolution.access.to_string(), "struct task_struct.pid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Engine<'l, 't> {
    local: &'l Btf<'l>,
    targets: &'t Targets<'t>,
    options: EngineOptions,
    endian: Endianness,
}

/// A record whose local side is known: what the engine needs to score candidates.
struct Prepared<'l> {
    position: usize,
    site: RelocationSite,
    kind: CoreReloKind,
    spec: Spec<'l>,
    local_value: Value,
    resolution: Resolution,
}

/// What a matching candidate computes for one record.
#[derive(Clone)]
struct Computed {
    value: Option<Value>,
    bit_offset: u64,
    target_spec: RawSpec,
}

/// One candidate's outcome for one record.
#[derive(Clone)]
enum Evaluation {
    Matched(Computed),
    Rejected(Rejection),
    Failed(ReloErrorKind),
}

impl Evaluation {
    fn is_miss(&self) -> bool {
        !matches!(self, Evaluation::Matched(_))
    }
}

impl<'l, 't> Engine<'l, 't> {
    /// An engine for one object's local BTF.
    pub fn new(local: &'l Btf<'l>, targets: &'t Targets<'t>, options: EngineOptions) -> Self {
        Engine {
            local,
            targets,
            options,
            endian: local.endian(),
        }
    }

    /// Resolves one record as a program of its own (no attach-target module). `site`
    /// identifies it in errors and in the fixup.
    pub fn resolve(
        &self,
        site: RelocationSite,
        record: &CoreRelo,
    ) -> Result<Resolution, ReloError> {
        let program = ProgramRecords {
            name: String::new(),
            attach_modules: Vec::new(),
            records: vec![(site, *record)],
        };
        self.resolve_program(&program)
            .pop()
            .expect("one result per record")
    }

    /// Resolves every program's records and merges records that several programs share:
    /// one outcome per distinct record, in record order.
    pub fn resolve_programs(&self, programs: &[ProgramRecords]) -> Vec<RecordOutcome> {
        let mut merged: BTreeMap<usize, RecordOutcome> = BTreeMap::new();
        for (index, program) in programs.iter().enumerate() {
            let results = self.resolve_program(program);
            for ((site, record), result) in program.records.iter().zip(results) {
                let Some(existing) = merged.get_mut(&site.record_index) else {
                    merged.insert(
                        site.record_index,
                        RecordOutcome {
                            site: *site,
                            record: *record,
                            programs: vec![index],
                            result,
                        },
                    );
                    continue;
                };
                let first_program = &programs[existing.programs[0]].name;
                merge_shared_result(
                    &mut existing.result,
                    result,
                    (*site, record.kind),
                    first_program,
                    &program.name,
                );
                existing.programs.push(index);
            }
        }
        merged.into_values().collect()
    }

    /// Resolves one program's records, binding each local root type to one candidate. The
    /// results are in the order of `program.records`.
    pub fn resolve_program(&self, program: &ProgramRecords) -> Vec<Result<Resolution, ReloError>> {
        let mut results: Vec<Option<Result<Resolution, ReloError>>> =
            (0..program.records.len()).map(|_| None).collect();
        // Records grouped by local root type; BTreeMap and record order keep it deterministic.
        let mut groups: BTreeMap<TypeId, Vec<Prepared<'l>>> = BTreeMap::new();
        for (position, (site, record)) in program.records.iter().enumerate() {
            match self.prepare(position, *site, record) {
                Ok(prepared) => groups
                    .entry(TypeId(record.type_id))
                    .or_default()
                    .push(prepared),
                Err(result) => results[position] = Some(result),
            }
        }
        for (root, mut group) in groups {
            group.sort_by_key(|prepared| prepared.site.record_index);
            for (position, result) in self.bind(program, root, group) {
                results[position] = Some(result);
            }
        }
        results
            .into_iter()
            .map(|result| result.expect("every record is prepared or bound"))
            .collect()
    }

    /// The local side of a record that needs a target; `Err` carries a result that is already
    /// final (an error, or `local_type_id`'s value).
    #[allow(clippy::result_large_err)]
    fn prepare(
        &self,
        position: usize,
        site: RelocationSite,
        record: &CoreRelo,
    ) -> Result<Prepared<'l>, Result<Resolution, ReloError>> {
        let kind = record.kind;
        let root = TypeId(record.type_id);
        let raw_access = self
            .local
            .str_at(record.access_str_off)
            .map(str::to_string)
            .unwrap_or_else(|_| format!("<string at {}>", record.access_str_off));
        let fail = |access: ErrorAccess, reason| {
            Err(Err(ReloError {
                site,
                kind,
                access,
                reason: Box::new(reason),
            }))
        };
        let raw = || ErrorAccess::Raw(raw_access.clone());
        let local_root = match self.local.type_by_id(root) {
            Ok(ty) => ty,
            Err(error) => {
                return fail(
                    raw(),
                    ReloErrorKind::LocalType {
                        error: error.into(),
                    },
                );
            }
        };
        let spec = match parse_local_spec(self.local, root, kind, &raw_access) {
            Ok(spec) => spec,
            Err(error) => return fail(raw(), ReloErrorKind::Spec { error }),
        };
        let access = access_path(&spec, kind);
        let path = || ErrorAccess::Path(access.clone());
        let local_value = match value::compute(Some(&spec), kind, self.endian) {
            Ok(Some(value)) => value,
            Ok(None) => {
                return fail(
                    path(),
                    ReloErrorKind::InconsistentSpec { id: root, index: 0 },
                );
            }
            Err(error) => return fail(path(), local_value_error(error)),
        };
        let resolution = Resolution {
            fixup: Fixup::rewrite(site, kind, local_value.value, local_value.value),
            local_type: access.root.clone(),
            access: access.clone(),
            spec: spec.raw_spec(),
            target: None,
            target_spec: None,
            candidates: Vec::new(),
        };
        if kind == CoreReloKind::TypeIdLocal {
            let mut resolution = resolution;
            resolution.fixup = resolution.fixup.without_validation();
            return Err(Ok(resolution));
        }
        if self.local.name(&local_root).unwrap_or("").is_empty() {
            return fail(path(), ReloErrorKind::AnonymousType);
        }
        Ok(Prepared {
            position,
            site,
            kind,
            spec,
            local_value,
            resolution,
        })
    }

    /// Binds the local type `root` of `program` to one candidate and resolves its records.
    fn bind(
        &self,
        program: &ProgramRecords,
        root: TypeId,
        group: Vec<Prepared<'l>>,
    ) -> Vec<(usize, Result<Resolution, ReloError>)> {
        let local_root = self
            .local
            .type_by_id(root)
            .expect("prepare checked the root type");
        let local_name = self.local.name(&local_root).unwrap_or("");
        // Only the first tier with any candidate takes part.
        let candidates =
            self.targets
                .first_tier(local_name, local_root.kind(), &program.attach_modules);

        // evaluations[candidate][record]
        let evaluations: Vec<Vec<Evaluation>> = candidates
            .iter()
            .map(|candidate| {
                group
                    .iter()
                    .map(|prepared| {
                        self.evaluate(prepared, &candidate.target, candidate.btf, candidate.id)
                    })
                    .collect()
            })
            .collect();
        let misses: Vec<usize> = evaluations
            .iter()
            .map(|row| row.iter().filter(|e| e.is_miss()).count())
            .collect();
        let best = misses.iter().copied().min();
        let tied: Vec<usize> = (0..candidates.len())
            .filter(|&c| Some(misses[c]) == best)
            .collect();

        if tied.len() > 1
            && let Some(ambiguity) = self.disagreement(
                program,
                &group,
                &candidates,
                &evaluations,
                &tied,
                misses[tied[0]],
            )
        {
            return group
                .into_iter()
                .map(|prepared| {
                    let error = ReloError {
                        site: prepared.site,
                        kind: prepared.kind,
                        access: ErrorAccess::Path(prepared.resolution.access.clone()),
                        reason: Box::new(ReloErrorKind::Ambiguous(Box::new(ambiguity.clone()))),
                    };
                    (prepared.position, Err(error))
                })
                .collect();
        }

        let chosen = tied.first().copied();
        group
            .into_iter()
            .enumerate()
            .map(|(r, prepared)| {
                let position = prepared.position;
                let reports = candidates
                    .iter()
                    .enumerate()
                    .map(|(c, candidate)| CandidateReport {
                        target: candidate.target.clone(),
                        tier: candidate.tier,
                        rejected: match &evaluations[c][r] {
                            Evaluation::Rejected(why) => Some(why.clone()),
                            _ => None,
                        },
                        misses: misses[c],
                        chosen: Some(c) == chosen,
                    })
                    .collect();
                let evaluation = chosen.map(|c| (candidates[c].target.clone(), &evaluations[c][r]));
                (position, self.finish(prepared, reports, evaluation))
            })
            .collect()
    }

    /// One candidate against one record.
    fn evaluate(
        &self,
        prepared: &Prepared<'l>,
        target_ref: &TargetRef,
        btf: &'t Btf<'t>,
        id: TypeId,
    ) -> Evaluation {
        let kind = prepared.kind;
        let target_spec = match match_candidate(&prepared.spec, kind, btf, id) {
            Ok(Match::Matched(spec)) => spec,
            Ok(Match::Rejected(why)) => return Evaluation::Rejected(why),
            Err(error) => {
                return Evaluation::Failed(match error {
                    MatchError::Btf(error) => ReloErrorKind::Target {
                        target: target_ref.clone(),
                        error: error.into(),
                    },
                    MatchError::TooDeep => ReloErrorKind::Spec {
                        error: SpecError::TooLong,
                    },
                    MatchError::LocalMember { id, index } => {
                        ReloErrorKind::InconsistentSpec { id, index }
                    }
                });
            }
        };
        match value::compute(Some(&target_spec), kind, self.endian) {
            Ok(value) => Evaluation::Matched(Computed {
                value,
                bit_offset: target_spec.bit_offset,
                target_spec: target_spec.raw_spec(),
            }),
            Err(ValueError::Btf(error)) => Evaluation::Failed(ReloErrorKind::Target {
                target: target_ref.clone(),
                error: error.into(),
            }),
            Err(ValueError::Relo(reason)) => Evaluation::Failed(reason),
        }
    }

    /// The first record (in record order) where tied candidates give different fixups, as an
    /// ambiguity; records where a tied candidate fails are left to that failure.
    fn disagreement(
        &self,
        program: &ProgramRecords,
        group: &[Prepared<'l>],
        candidates: &[TieredCandidate<'t>],
        evaluations: &[Vec<Evaluation>],
        tied: &[usize],
        misses: usize,
    ) -> Option<Ambiguity> {
        for (r, prepared) in group.iter().enumerate() {
            let field = prepared.kind.is_field_based();
            let result = |c: usize| -> Option<(CandidateResult, Option<MemSizeKey>)> {
                match &evaluations[c][r] {
                    Evaluation::Matched(computed) => Some((
                        CandidateResult::Value {
                            value: computed.value.map_or(0, |v| v.value),
                            bit_offset: field.then_some(computed.bit_offset),
                        },
                        computed.value.and_then(|v| v.access).map(MemSizeKey::from),
                    )),
                    Evaluation::Rejected(why) => {
                        Some((CandidateResult::Unmatched(why.clone()), None))
                    }
                    Evaluation::Failed(_) => None,
                }
            };
            let Some(results) = tied.iter().map(|&c| result(c)).collect::<Option<Vec<_>>>() else {
                continue;
            };
            if results.iter().all(|result| *result == results[0]) {
                continue;
            }
            return Some(Ambiguity {
                local_type: prepared.resolution.local_type.clone(),
                program: program.name.clone(),
                candidates: tied.iter().map(|&c| candidates[c].target.clone()).collect(),
                misses,
                record_index: prepared.site.record_index,
                kind: prepared.kind,
                access: prepared.resolution.access.clone(),
                results: results.into_iter().map(|(result, _)| result).collect(),
            });
        }
        None
    }

    /// A record's result under the chosen candidate (or none).
    fn finish(
        &self,
        prepared: Prepared<'l>,
        candidates: Vec<CandidateReport>,
        chosen: Option<(TargetRef, &Evaluation)>,
    ) -> Result<Resolution, ReloError> {
        let Prepared {
            site,
            kind,
            local_value,
            mut resolution,
            ..
        } = prepared;
        let fail = |reason: ReloErrorKind, access: &AccessPath| ReloError {
            site,
            kind,
            access: ErrorAccess::Path(access.clone()),
            reason: Box::new(reason),
        };
        resolution.candidates = candidates;
        let (value, target) = match chosen {
            Some((target, Evaluation::Matched(computed))) => {
                if !kind.is_type_based() {
                    resolution.target_spec = Some(computed.target_spec.clone());
                }
                (computed.value, Some(target))
            }
            Some((_, Evaluation::Failed(reason))) => {
                return Err(fail(reason.clone(), &resolution.access));
            }
            Some((_, Evaluation::Rejected(_))) | None => {
                let value = value::compute(None, kind, self.endian)
                    .map_err(|error| fail(local_value_error(error), &resolution.access))?;
                (value, None)
            }
        };
        if kind == CoreReloKind::TypeIdTarget
            && self.options.strict_module_type_ids
            && let Some(target) = target.as_ref().filter(|t| t.origin.is_module())
        {
            return Err(fail(
                ReloErrorKind::ModuleTypeId {
                    target: target.clone(),
                },
                &resolution.access,
            ));
        }
        resolution.target = target;
        resolution.fixup = combine(site, kind, local_value, value);
        Ok(resolution)
    }
}

/// Folds what a further program gives a site that several programs share into what is kept:
/// an error stays, an error replaces a value, and two values must be the same fixup, else the
/// programs disagree (the error names both).
pub(crate) fn merge_shared_result(
    kept: &mut Result<Resolution, ReloError>,
    incoming: Result<Resolution, ReloError>,
    (site, kind): (RelocationSite, CoreReloKind),
    first_program: &str,
    program: &str,
) {
    let disagreement = match (&*kept, &incoming) {
        (Err(_), _) => None,
        (Ok(_), Err(_)) => {
            *kept = incoming;
            None
        }
        (Ok(first), Ok(second)) => (first.fixup != second.fixup).then(|| {
            let binding = |program: &str, resolved: &Resolution| {
                Box::new(ProgramBinding {
                    program: program.to_string(),
                    target: resolved.target.clone(),
                    fixup: resolved.fixup,
                })
            };
            ReloError {
                site,
                kind,
                access: ErrorAccess::Path(first.access.clone()),
                reason: Box::new(ReloErrorKind::ProgramsDisagree {
                    first: binding(first_program, first),
                    second: binding(program, second),
                }),
            }
        }),
    };
    if let Some(error) = disagreement {
        *kept = Err(error);
    }
}

/// The access size a matched field gives, compared between tied candidates (a different
/// size is a different fixup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MemSizeKey(u32);

impl From<crate::fixup::FieldAccess> for MemSizeKey {
    fn from(access: crate::fixup::FieldAccess) -> Self {
        MemSizeKey(access.size)
    }
}

fn local_value_error(error: ValueError) -> ReloErrorKind {
    match error {
        ValueError::Btf(error) => ReloErrorKind::LocalType {
            error: error.into(),
        },
        ValueError::Relo(reason) => reason,
    }
}

/// The fixup from the local value and the target value (`None`: poison).
fn combine(site: RelocationSite, kind: CoreReloKind, local: Value, target: Option<Value>) -> Fixup {
    let Some(target) = target else {
        let fixup = Fixup::poison(site, kind, local.value, PoisonReason::NotFound);
        return if local.validate {
            fixup
        } else {
            fixup.without_validation()
        };
    };
    let mut fixup = Fixup::rewrite(site, kind, local.value, target.value);
    if !local.validate {
        fixup = fixup.without_validation();
    }
    if let (Some(local_access), Some(target_access)) = (local.access, target.access) {
        fixup = fixup.with_mem_size(MemSize {
            local: local_access,
            target: target_access,
        });
    }
    fixup
}

#[cfg(test)]
mod tests;
