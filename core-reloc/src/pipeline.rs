//! One object, end to end: records -> resolutions -> fixups -> relocated ELF.
//!
//! This ties the pieces together without deciding where target BTF comes from: the caller
//! passes searched [`Targets`] (vmlinux plus whichever modules its policy chose).

use crate::btf::{Btf, BtfError};
use crate::composite::{CompositeBtf, ModuleError, ParseReason};
use crate::engine::{
    Engine, EngineOptions, ReloError, Resolution, Targets, resolve_named, want_named_types,
    want_record_types,
};
use crate::ext::CoreRelo;
use crate::fixup::{Fixup, RelocationSite};
use crate::named::elf::NamedSite;
use crate::object::{BpfObject, ObjectError, PatchedObject};
use crate::patch::Patched;

/// The resolution of one record, with where it applies.
#[derive(Debug)]
pub struct RecordResolution<'o> {
    /// The program section (`kprobe/btrfs_getattr`, `.text`, ...).
    pub section: &'o str,
    /// Record index, ELF section index and instruction index.
    pub site: RelocationSite,
    /// The record as stored in `.BTF.ext`.
    pub record: CoreRelo,
    /// The fixup and its explanation, or why there is none.
    pub result: Result<Resolution, ReloError>,
}

/// An object's local BTF, parsed from its `.BTF` section.
///
/// ```no_run
/// use core_reloc::object::BpfObject;
/// let bytes = std::fs::read("probe.bpf.o")?;
/// let object = BpfObject::parse(&bytes)?;
/// let local = core_reloc::pipeline::local_btf(&object)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn local_btf<'o>(object: &BpfObject<'o>) -> Result<Btf<'o>, LocalBtfError> {
    let bytes = object.btf().ok_or(LocalBtfError::Missing)?;
    Btf::parse(bytes).map_err(LocalBtfError::Parse)
}

/// The object's own BTF is missing or unreadable.
#[derive(Debug, thiserror::Error)]
pub enum LocalBtfError {
    /// CO-RE needs the object's `.BTF` to know what the program was compiled against.
    #[error("the object has CO-RE records but no .BTF section")]
    Missing,
    /// `.BTF` is malformed.
    #[error("the object's .BTF: {0}")]
    Parse(#[source] BtfError),
}

/// Declares every record's local type, and every named relocation's root type, to `targets`
/// (see [`want_record_types`], [`want_named_types`]).
pub fn want_object_types(object: &BpfObject<'_>, local: &Btf<'_>, targets: &mut Targets<'_>) {
    want_record_types(local, object.records().map(|record| &record.relo), targets);
    want_named_types(
        object.named_relocations().iter().map(|named| &named.reloc),
        targets,
    );
}

/// The resolution of one named relocation ([`crate::named`]).
#[derive(Debug)]
pub struct NamedResolution<'o> {
    /// The program section.
    pub section: &'o str,
    /// The relocation as found in the object.
    pub named: NamedSite,
    /// The fixup and its explanation, or why there is none.
    pub result: Result<Resolution, ReloError>,
}

/// Resolves every named relocation of `object`, in object order, with the same targets as
/// its `.BTF.ext` records (see [`resolve_named`] for the binding rule).
///
/// ```no_run
/// use core_reloc::composite::CompositeBtf;
/// use core_reloc::object::BpfObject;
/// use core_reloc::pipeline::{self, ModulePolicy};
/// let composite = CompositeBtf::from_sys()?;
/// let bytes = std::fs::read("probe.o")?;
/// let object = BpfObject::parse(&bytes)?;
/// let local = pipeline::local_btf(&object)?;
/// let selection = pipeline::select_targets(&composite, &object, &local, &ModulePolicy::default());
/// let records = pipeline::resolve_object(&object, &local, &selection.targets, Default::default());
/// let named = pipeline::resolve_named_object(&object, &selection.targets);
/// let mut relocated = pipeline::apply(&object, &records)?;
/// pipeline::apply_named(&object, &mut relocated.bytes, &named)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve_named_object<'o>(
    object: &BpfObject<'o>,
    targets: &Targets<'_>,
) -> Vec<NamedResolution<'o>> {
    let sites = object.named_relocations();
    resolve_named(sites, targets)
        .into_iter()
        .zip(sites)
        .map(|(result, named)| NamedResolution {
            section: object
                .program_section(named.site.section_index)
                .map_or("?", |program| program.name),
            named: named.clone(),
            result,
        })
        .collect()
}

/// Writes the named relocations' values into `bytes` (the output of [`apply`]) and removes
/// their relocation entries, when every one resolved; otherwise the failures.
pub fn apply_named(
    object: &BpfObject<'_>,
    bytes: &mut [u8],
    resolutions: &[NamedResolution<'_>],
) -> Result<Vec<(RelocationSite, Patched)>, ApplyError> {
    let failures: Vec<String> = resolutions
        .iter()
        .filter_map(|resolution| {
            let error = resolution.result.as_ref().err()?;
            Some(format!("{}: {error}", resolution.section))
        })
        .collect();
    if !failures.is_empty() {
        return Err(ApplyError::Unresolved(failures));
    }
    let fixups: Vec<Fixup> = resolutions
        .iter()
        .filter_map(|resolution| resolution.result.as_ref().ok())
        .map(|resolution| resolution.fixup)
        .collect();
    crate::named::elf::apply(object, bytes, &fixups)
        .map_err(|error| ApplyError::Object(ObjectError::Named(error)))
}

/// Resolves every record of `object`, in file order. Resolution never stops at the first
/// error, so a caller can report all of them.
pub fn resolve_object<'o>(
    object: &BpfObject<'o>,
    local: &Btf<'_>,
    targets: &Targets<'_>,
    options: EngineOptions,
) -> Vec<RecordResolution<'o>> {
    let engine = Engine::new(local, targets, options);
    object
        .core_relocations()
        .iter()
        .flat_map(|group| {
            let engine = &engine;
            group.records.iter().map(move |record| RecordResolution {
                section: group.section_name,
                site: record.site,
                record: record.relo,
                result: engine.resolve(record.site, &record.relo),
            })
        })
        .collect()
}

/// The relocated copy of `object`, when every record resolved; otherwise the failures.
pub fn apply(
    object: &BpfObject<'_>,
    resolutions: &[RecordResolution<'_>],
) -> Result<PatchedObject, ApplyError> {
    let failures: Vec<String> = resolutions
        .iter()
        .filter_map(|resolution| resolution.result.as_ref().err())
        .map(|error| format!("{}: {error}", section_of(resolutions, error.site)))
        .collect();
    if !failures.is_empty() {
        return Err(ApplyError::Unresolved(failures));
    }
    let fixups: Vec<Fixup> = resolutions
        .iter()
        .filter_map(|resolution| resolution.result.as_ref().ok())
        .map(|resolution| resolution.fixup)
        .collect();
    object.relocate(&fixups).map_err(ApplyError::Object)
}

fn section_of<'o>(resolutions: &[RecordResolution<'o>], site: RelocationSite) -> &'o str {
    resolutions
        .iter()
        .find(|resolution| resolution.site == site)
        .map_or("?", |resolution| resolution.section)
}

/// Why an object could not be relocated.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Some records have no fixup; each line names one.
    #[error("{} CO-RE relocation(s) failed:\n  {}", .0.len(), .0.join("\n  "))]
    Unresolved(Vec<String>),
    /// Patching the instructions failed.
    #[error(transparent)]
    Object(ObjectError),
}

/// Which module BTFs, beyond vmlinux, are searched for candidates.
///
/// vmlinux always comes first and wins: a module is searched only for local type names that
/// have no candidate in vmlinux (libbpf's rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulePolicy {
    /// Modules to search, each with why (explicitly named, owner of an attach target, ...).
    pub modules: Vec<(String, ParseReason)>,
    /// For local type names vmlinux lacks, probe every module's strings and search those
    /// that have the name.
    pub search_on_miss: bool,
    /// Search every module (parses them all: slow, for users who ask for it).
    pub all_modules: bool,
}

/// The targets a policy selected, and what went wrong on the way.
#[derive(Debug)]
pub struct Selection<'c> {
    /// vmlinux and the selected modules, searched for every local type of the object.
    pub targets: Targets<'c>,
    /// Modules that were selected but could not be used: each failed alone.
    pub module_failures: Vec<ModuleError>,
}

/// Chooses target BTFs for `object` from `composite` by `policy`, parsing only the modules
/// the policy needs.
///
/// ```no_run
/// use core_reloc::composite::{CompositeBtf, ParseReason};
/// use core_reloc::object::BpfObject;
/// use core_reloc::pipeline::{self, ModulePolicy};
/// let composite = CompositeBtf::from_sys()?;
/// let bytes = std::fs::read("probe.bpf.o")?;
/// let object = BpfObject::parse(&bytes)?;
/// let local = pipeline::local_btf(&object)?;
/// let policy = ModulePolicy {
///     modules: vec![("btrfs".into(), ParseReason::Requested)],
///     search_on_miss: true,
///     all_modules: false,
/// };
/// let selection = pipeline::select_targets(&composite, &object, &local, &policy);
/// assert!(selection.module_failures.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn select_targets<'c>(
    composite: &'c CompositeBtf,
    object: &BpfObject<'_>,
    local: &Btf<'_>,
    policy: &ModulePolicy,
) -> Selection<'c> {
    let mut targets = Targets::new(composite.vmlinux_target());
    want_object_types(object, local, &mut targets);
    let mut failures = Vec::new();
    let mut added: Vec<String> = Vec::new();
    let mut add = |targets: &mut Targets<'c>,
                   name: &str,
                   reason: ParseReason,
                   failures: &mut Vec<ModuleError>| {
        if added.iter().any(|done| done == name) {
            return;
        }
        added.push(name.to_string());
        match composite.module_target_for(name, reason) {
            Ok(target) => targets.add_module(target),
            Err(error) => {
                log::warn!("{error}");
                failures.push(error);
            }
        }
    };
    for (name, reason) in &policy.modules {
        add(&mut targets, name, reason.clone(), &mut failures);
    }
    if policy.all_modules {
        let names: Vec<String> = composite.module_names().map(str::to_string).collect();
        for name in names {
            add(
                &mut targets,
                &name,
                ParseReason::Other("all modules".into()),
                &mut failures,
            );
        }
    }
    targets.search();
    if policy.search_on_miss {
        let missing: Vec<String> = targets.unresolved_names().map(str::to_string).collect();
        if !missing.is_empty() {
            // One read of each module's strings answers every missing name.
            let probe = composite.probe_many(&missing);
            failures.extend(probe.errors);
            for (type_name, modules) in probe.candidates {
                for module in modules {
                    let reason = ParseReason::TypeSearch {
                        type_name: type_name.clone(),
                    };
                    add(&mut targets, &module, reason, &mut failures);
                }
            }
            targets.search();
        }
    }
    Selection {
        targets,
        module_failures: failures,
    }
}
