//! The CO-RE relocation engine: records + local BTF + target BTFs in, [`Fixup`] values out.
//!
//! The engine is pure: it reads BTF it is given and does no I/O, so it runs the same in
//! tests, in the `core-reloc` tool and in the loader. Applying fixups to instructions is a
//! separate step ([`crate::patch`], [`crate::object`]).
//!
//! Semantics follow libbpf's `relo_core.c`, with these deliberate differences:
//! - every relocation is decided on its own, against all candidates of its type: libbpf prunes
//!   a shared candidate list as it goes, so its answer can depend on record order;
//! - `target_type_id` of a module type names the module ([`Resolution::target`]), and
//!   [`EngineOptions::strict_module_type_ids`] turns it into an error;
//! - a 32-bit enumerator widens by the enum's signedness, where libbpf sign-extends all.

mod candidates;
mod compat;
mod error;
mod matching;
mod name;
mod named;
mod spec;
mod value;

use crate::btf::{Btf, Endianness, TypeId};
use crate::ext::{CoreRelo, CoreReloKind};
use crate::fixup::{Fixup, MemSize, PoisonReason, RelocationSite};
use crate::target::TargetRef;

pub use candidates::Targets;
pub use compat::types_are_compatible;
pub use error::{ReloError, ReloErrorKind, SpecError};
pub use name::essential_name;
pub use named::{resolve_named, want_named_types};
pub use spec::MAX_SPEC_LEN;

use matching::{Match, MatchError, match_candidate};
use spec::{Spec, describe_spec, describe_type, parse_local_spec};
use value::{Value, ValueError};

/// Choices the caller makes about the engine's behaviour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// Fail `target_type_id` relocations that resolve to a module type instead of writing the
    /// module-numbered id (which, like libbpf's, is only meaningful with the module's BTF fd).
    pub strict_module_type_ids: bool,
}

/// A candidate the engine looked at and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateReport {
    /// The candidate type.
    pub target: TargetRef,
    /// `None` when it matched; otherwise why not.
    pub rejected: Option<String>,
}

/// A resolved relocation: the fixup and the facts behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The value to apply.
    pub fixup: Fixup,
    /// The local root type in words, e.g. `struct btrfs_inode`.
    pub local_type: String,
    /// The access in words, e.g. `struct btrfs_inode.vfs_inode.i_ino`.
    pub access: String,
    /// The record's access string, e.g. `0:3:1`.
    pub spec: String,
    /// The chosen target (the first matching candidate); `None` when nothing matched or the
    /// kind needs no target (`local_type_id`).
    pub target: Option<TargetRef>,
    /// The target's raw access path (includes anonymous members), when matched.
    pub target_spec: Option<String>,
    /// Every candidate considered, in search order (vmlinux first).
    pub candidates: Vec<CandidateReport>,
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

/// Resolves CO-RE records of one object against searched [`Targets`].
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
/// assert_eq!(resolution.access, "struct task_struct.pid");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Engine<'l, 't> {
    local: &'l Btf<'l>,
    targets: &'t Targets<'t>,
    options: EngineOptions,
    endian: Endianness,
}

/// A matching candidate's computed outcome, kept to detect ambiguity.
struct Outcome<'t> {
    target: TargetRef,
    spec: Spec<'t>,
    value: Option<Value>,
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

    /// Resolves one record. `site` identifies it in errors and in the fixup.
    pub fn resolve(
        &self,
        site: RelocationSite,
        record: &CoreRelo,
    ) -> Result<Resolution, ReloError> {
        let kind = record.kind;
        let root = TypeId(record.type_id);
        let raw_access = self
            .local
            .str_at(record.access_str_off)
            .map(str::to_string)
            .unwrap_or_else(|_| format!("<string at {}>", record.access_str_off));
        let fail = |access: &str, reason| ReloError {
            site,
            kind,
            access: access.to_string(),
            reason: Box::new(reason),
        };

        let local_root = self
            .local
            .type_by_id(root)
            .map_err(|e| fail(&raw_access, ReloErrorKind::LocalType(e)))?;
        let local_spec = parse_local_spec(self.local, root, kind, &raw_access)
            .map_err(|e| fail(&raw_access, ReloErrorKind::Spec(e)))?;
        let access = describe_spec(&local_spec, kind);
        let local_value = value::compute(Some(&local_spec), kind, self.endian)
            .map_err(|e| fail(&access, self.local_value_error(e)))?
            .ok_or_else(|| {
                fail(
                    &access,
                    ReloErrorKind::InconsistentSpec { id: root, index: 0 },
                )
            })?;
        let mut resolution = Resolution {
            fixup: Fixup::rewrite(site, kind, local_value.value, local_value.value),
            local_type: describe_type(self.local, root),
            access: access.clone(),
            spec: raw_access.clone(),
            target: None,
            target_spec: None,
            candidates: Vec::new(),
        };

        if kind == CoreReloKind::TypeIdLocal {
            resolution.fixup = resolution.fixup.without_validation();
            return Ok(resolution);
        }
        let local_name = self.local.name(&local_root).unwrap_or("");
        if local_name.is_empty() {
            return Err(fail(&access, ReloErrorKind::AnonymousType));
        }

        let mut chosen: Option<Outcome<'t>> = None;
        for candidate in self.targets.candidates(local_name, local_root.kind()) {
            let target = self.targets.target(candidate.target);
            let target_ref = TargetRef {
                origin: target.origin.clone(),
                id: candidate.id,
            };
            let matched =
                match_candidate(&local_spec, kind, target.btf, candidate.id).map_err(|e| {
                    let reason = match e {
                        MatchError::Btf(source) => ReloErrorKind::Target {
                            target: target_ref.clone(),
                            source,
                        },
                        MatchError::TooDeep => ReloErrorKind::Spec(SpecError::TooLong),
                        MatchError::LocalMember { id, index } => {
                            ReloErrorKind::InconsistentSpec { id, index }
                        }
                    };
                    fail(&access, reason)
                })?;
            let target_spec = match matched {
                Match::Matched(spec) => spec,
                Match::Rejected(why) => {
                    resolution.candidates.push(CandidateReport {
                        target: target_ref,
                        rejected: Some(why),
                    });
                    continue;
                }
            };
            resolution.candidates.push(CandidateReport {
                target: target_ref.clone(),
                rejected: None,
            });
            let value = value::compute(Some(&target_spec), kind, self.endian).map_err(|e| {
                let reason = match e {
                    ValueError::Btf(source) => ReloErrorKind::Target {
                        target: target_ref.clone(),
                        source,
                    },
                    ValueError::Relo(reason) => reason,
                };
                fail(&access, reason)
            })?;
            let outcome = Outcome {
                target: target_ref,
                spec: target_spec,
                value,
            };
            match &chosen {
                None => chosen = Some(outcome),
                Some(first) => {
                    if let Some(reason) = ambiguity(first, &outcome, kind) {
                        return Err(fail(&access, reason));
                    }
                }
            }
        }

        let (value, target) = match chosen {
            Some(outcome) => {
                resolution.target_spec = (!kind.is_type_based()).then(|| outcome.spec.raw_string());
                (outcome.value, Some(outcome.target))
            }
            None => (
                value::compute(None, kind, self.endian)
                    .map_err(|e| fail(&access, self.local_value_error(e)))?,
                None,
            ),
        };
        if kind == CoreReloKind::TypeIdTarget
            && self.options.strict_module_type_ids
            && let Some(target) = target.as_ref().filter(|t| t.origin.is_module())
        {
            return Err(fail(
                &access,
                ReloErrorKind::ModuleTypeId {
                    target: target.clone(),
                },
            ));
        }
        resolution.target = target;
        resolution.fixup = combine(site, kind, local_value, value);
        Ok(resolution)
    }

    fn local_value_error(&self, error: ValueError) -> ReloErrorKind {
        match error {
            ValueError::Btf(source) => ReloErrorKind::LocalType(source),
            ValueError::Relo(reason) => reason,
        }
    }
}

/// Two matching candidates must agree on the field's position and on the value, or the
/// relocation is ambiguous.
fn ambiguity(
    first: &Outcome<'_>,
    other: &Outcome<'_>,
    kind: CoreReloKind,
) -> Option<ReloErrorKind> {
    let describe = |outcome: &Outcome<'_>| match outcome.value {
        None => "no value (poison)".to_string(),
        Some(value) if kind.is_field_based() => {
            format!("{} (bit offset {})", value.value, outcome.spec.bit_offset)
        }
        Some(value) => value.value.to_string(),
    };
    let same_offset = first.spec.bit_offset == other.spec.bit_offset;
    let same_value = first.value.map(|v| v.value) == other.value.map(|v| v.value);
    (!same_offset || !same_value).then(|| ReloErrorKind::Ambiguous {
        first: first.target.clone(),
        first_result: describe(first),
        second: other.target.clone(),
        second_result: describe(other),
    })
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
