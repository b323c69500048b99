//! One object, end to end: records -> resolutions -> fixups -> relocated ELF.
//!
//! This ties the pieces together without deciding where target BTF comes from: the caller
//! passes searched [`Targets`] (vmlinux plus whichever modules its policy chose).

use crate::btf::{Btf, BtfError};
use crate::ext::CoreRelo;
use crate::fixup::{Fixup, RelocationSite};
use crate::object::{BpfObject, ObjectError, Relocated};
use crate::relo::{Engine, EngineOptions, ReloError, Resolution, Targets, want_record_types};

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
/// let local = core_reloc::relocate::local_btf(&object)?;
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

/// Declares every record's local type to `targets` (see [`want_record_types`]).
pub fn want_object_types(object: &BpfObject<'_>, local: &Btf<'_>, targets: &mut Targets<'_>) {
    want_record_types(local, object.records().map(|record| &record.relo), targets);
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
) -> Result<Relocated, ApplyError> {
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
