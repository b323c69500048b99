//! One object, end to end: records -> programs -> resolutions -> fixups -> patched ELF.
//!
//! This ties the pieces together: it groups the object's records by program (entry section
//! plus the `.text` subprograms it calls, see [`crate::callgraph`]), chooses target BTFs from
//! a [`CompositeBtf`] by a [`ModulePolicy`], runs the [`Engine`] and patches a copy of the
//! object.

use crate::BtfOrigin;
use crate::btf::{Btf, BtfError};
use crate::callgraph::{self, CallGraphError, ProgramCode, TEXT_SECTION};
use crate::composite::{CompositeBtf, ModuleError, ParseReason};
use crate::engine::{
    Engine, EngineOptions, ModuleRole, NamedProgram, ProgramRecords, ReloError, Resolution,
    Targets, essential_name, resolve_named, want_named_types, want_record_types,
};
use crate::ext::{CoreRelo, CoreReloKind};
use crate::fixup::{Fixup, RelocationSite};
use crate::named::elf::NamedSite;
use crate::object::{BpfObject, ObjectError, PatchedObject};
use crate::patch::Patched;

/// The resolution of one record, with where it applies.
#[derive(Debug)]
pub struct RecordResolution<'o> {
    /// The ELF section holding the instruction (`kprobe/btrfs_getattr`, `.text`, ...).
    pub section: &'o str,
    /// The program whose binding decided it (its entry section); for a `.text` record no
    /// program calls, `.text`.
    pub program: &'o str,
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
    Btf::parse(bytes).map_err(|source| LocalBtfError::Parse { source })
}

/// The object's own BTF is missing or unreadable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalBtfError {
    /// CO-RE needs the object's `.BTF` to know what the program was compiled against.
    #[error("the object has CO-RE records but no .BTF section")]
    Missing,
    /// `.BTF` is malformed.
    #[error("the object's .BTF is malformed")]
    Parse {
        /// What the BTF reader says.
        source: BtfError,
    },
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
    /// The ELF section holding the instruction (`kprobe/btrfs_getattr`, `.text`, ...).
    pub section: &'o str,
    /// The program whose binding decided it (its entry section); for a `.text` site no
    /// program calls, `.text`.
    pub program: &'o str,
    /// The relocation as found in the object.
    pub named: NamedSite,
    /// The fixup and its explanation, or why there is none.
    pub result: Result<Resolution, ReloError>,
}

/// Resolves every named relocation of `object`, in object order, with the same targets and
/// the same programs as its `.BTF.ext` records (an entry section plus the `.text`
/// subprograms it reaches; see [`resolve_named`] for the binding rule). `attach` names the
/// modules owning programs' attach targets.
///
/// ```no_run
/// use core_reloc::composite::CompositeBtf;
/// use core_reloc::object::BpfObject;
/// use core_reloc::pipeline::{self, ModulePolicy};
/// let composite = CompositeBtf::from_sys()?;
/// let bytes = std::fs::read("probe.o")?;
/// let object = BpfObject::parse(&bytes)?;
/// let local = pipeline::local_btf(&object)?;
/// let selection = pipeline::select_targets(&composite, &object, &local, &ModulePolicy::default())?;
/// let records =
///     pipeline::resolve_object(&object, &local, &selection.targets, &[], Default::default())?;
/// let named = pipeline::resolve_named_object(&object, &selection.targets, &[])?;
/// let mut relocated = pipeline::apply(&object, &records)?;
/// pipeline::apply_named(&object, &mut relocated.bytes, &named)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve_named_object<'o>(
    object: &BpfObject<'o>,
    targets: &Targets<'_>,
    attach: &[AttachModule],
) -> Result<Vec<NamedResolution<'o>>, ResolveError> {
    let sites = object.named_relocations();
    let (code, programs) =
        named_programs(object, attach).map_err(|source| ResolveError::CallGraph { source })?;
    Ok(resolve_named(sites, targets, &programs)
        .into_iter()
        .zip(sites)
        .map(|(outcome, named)| NamedResolution {
            section: object
                .program_section(named.site.section_index)
                .map_or("?", |section| section.name),
            program: outcome
                .programs
                .first()
                .and_then(|&index| code.get(index))
                .map_or(TEXT_SECTION, |program| program.section),
            named: named.clone(),
            result: outcome.result,
        })
        .collect())
}

/// One entry per program, with the named relocation sites it contains (sites in `.text`
/// subprograms no program calls form one more group, named `.text`), as [`program_records`]
/// does for `.BTF.ext` records.
fn named_programs<'o>(
    object: &BpfObject<'o>,
    attach: &[AttachModule],
) -> Result<(Vec<ProgramCode<'o>>, Vec<NamedProgram>), CallGraphError> {
    let code = callgraph::programs(object)?;
    let sites = object.named_relocations();
    let programs = group_by_program(
        &code,
        attach,
        sites,
        |named| named.site,
        |position, _| position,
    )
    .into_iter()
    .map(|(name, attach_modules, sites)| NamedProgram {
        name,
        attach_modules,
        sites,
    })
    .collect();
    Ok((code, programs))
}

/// Groups `items` by the program whose code holds each one's site: one group per program
/// (named by its entry section, with its attach-target modules), then one `.text` group for
/// the items no program reaches, if any. `keep` maps an item (and its position) to what the
/// group holds.
fn group_by_program<T, K>(
    code: &[ProgramCode<'_>],
    attach: &[AttachModule],
    items: &[T],
    site: impl Fn(&T) -> RelocationSite,
    keep: impl Fn(usize, &T) -> K,
) -> Vec<(String, Vec<BtfOrigin>, Vec<K>)> {
    let contained = |program: &ProgramCode<'_>, item: &T| {
        let site = site(item);
        program.contains(site.section_index, site.insn_index)
    };
    let mut groups: Vec<(String, Vec<BtfOrigin>, Vec<K>)> = code
        .iter()
        .map(|program| {
            let kept = (items.iter().enumerate())
                .filter(|(_, item)| contained(program, item))
                .map(|(position, item)| keep(position, item))
                .collect();
            let modules = attach_modules(attach, program.section);
            (program.section.to_string(), modules, kept)
        })
        .collect();
    let uncalled: Vec<K> = (items.iter().enumerate())
        .filter(|(_, item)| !code.iter().any(|program| contained(program, item)))
        .map(|(position, item)| keep(position, item))
        .collect();
    if !uncalled.is_empty() {
        groups.push((TEXT_SECTION.to_string(), Vec::new(), uncalled));
    }
    groups
}

/// The modules owning the attach target of the program in `section`.
fn attach_modules(attach: &[AttachModule], section: &str) -> Vec<BtfOrigin> {
    attach
        .iter()
        .filter(|attach| attach.section == section)
        .map(|attach| BtfOrigin::module(&attach.module))
        .collect()
}

/// Writes the named relocations' values into `bytes` (the output of [`apply`]) and removes
/// their relocation entries, when every one resolved; otherwise the failures.
pub fn apply_named(
    object: &BpfObject<'_>,
    bytes: &mut [u8],
    resolutions: &[NamedResolution<'_>],
) -> Result<Vec<(RelocationSite, Patched)>, ApplyError> {
    let fixups = all_fixups(
        resolutions
            .iter()
            .map(|resolution| (resolution.section, resolution.program, &resolution.result)),
    )?;
    crate::named::elf::apply(object, bytes, &fixups).map_err(|error| ApplyError::Object {
        source: ObjectError::Named(error),
    })
}

/// The module that owns a program's attach target (from kallsyms): its candidates come right
/// after vmlinux's for that program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachModule {
    /// The program's entry section, e.g. `kprobe/btrfs_getattr`.
    pub section: String,
    /// The module, e.g. `btrfs`.
    pub module: String,
    /// The attach target's symbol, e.g. `btrfs_getattr`.
    pub symbol: String,
}

/// One entry per program, with the records it contains (records of `.text` subprograms no
/// program calls form one more group, named `.text`).
fn program_records<'o>(
    object: &BpfObject<'o>,
    attach: &[AttachModule],
) -> Result<(Vec<ProgramCode<'o>>, Vec<ProgramRecords>), CallGraphError> {
    let code = callgraph::programs(object)?;
    let records: Vec<_> = object.records().collect();
    let programs = group_by_program(
        &code,
        attach,
        &records,
        |record| record.site,
        |_, record| (record.site, record.relo),
    )
    .into_iter()
    .map(|(name, attach_modules, records)| ProgramRecords {
        name,
        attach_modules,
        records,
    })
    .collect();
    Ok((code, programs))
}

/// Why an object's records could not be resolved at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// Which code belongs to which program could not be worked out.
    #[error("the object's call graph is malformed")]
    CallGraph {
        /// What is wrong.
        source: CallGraphError,
    },
}

/// Resolves every record of `object`, in file order, binding each local type once per
/// program (see [`crate::engine`]). `attach` names the modules owning programs' attach
/// targets. Resolution never stops at the first failed record, so a caller can report all.
///
/// ```no_run
/// use core_reloc::btf::Btf;
/// use core_reloc::engine::{EngineOptions, Targets};
/// use core_reloc::object::BpfObject;
/// use core_reloc::target::TargetBtf;
/// use core_reloc::{BtfOrigin, pipeline};
/// let bytes = std::fs::read("probe.bpf.o")?;
/// let object = BpfObject::parse(&bytes)?;
/// let local = pipeline::local_btf(&object)?;
/// let vmlinux = Btf::from_file("/sys/kernel/btf/vmlinux")?;
/// let mut targets = Targets::new(TargetBtf { origin: &BtfOrigin::Vmlinux, btf: &vmlinux });
/// pipeline::want_object_types(&object, &local, &mut targets);
/// targets.search();
/// let resolutions = pipeline::resolve_object(&object, &local, &targets, &[], EngineOptions::default())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve_object<'o>(
    object: &BpfObject<'o>,
    local: &Btf<'_>,
    targets: &Targets<'_>,
    attach: &[AttachModule],
    options: EngineOptions,
) -> Result<Vec<RecordResolution<'o>>, ResolveError> {
    let (code, programs) =
        program_records(object, attach).map_err(|source| ResolveError::CallGraph { source })?;
    let engine = Engine::new(local, targets, options);
    let outcomes = engine.resolve_programs(&programs);
    Ok(outcomes
        .into_iter()
        .map(|outcome| {
            let section = object
                .program_section(outcome.site.section_index)
                .map_or(TEXT_SECTION, |section| section.name);
            let program = outcome
                .programs
                .first()
                .and_then(|&index| code.get(index))
                .map_or(TEXT_SECTION, |program| program.section);
            RecordResolution {
                section,
                program,
                site: outcome.site,
                record: outcome.record,
                result: outcome.result,
            }
        })
        .collect())
}

/// A record that has no fixup, with where it is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{section}: {error}")]
pub struct RecordFailure {
    /// The ELF section holding the instruction.
    pub section: String,
    /// The program whose binding decided it.
    pub program: String,
    /// The engine's error.
    pub error: ReloError,
}

/// The patched copy of `object`, when every record resolved; otherwise the failures.
pub fn apply(
    object: &BpfObject<'_>,
    resolutions: &[RecordResolution<'_>],
) -> Result<PatchedObject, ApplyError> {
    let fixups = all_fixups(record_results(resolutions))?;
    object
        .relocate(&fixups)
        .map_err(|source| ApplyError::Object { source })
}

/// Every failed record of `resolutions`, in record order.
pub fn failures(resolutions: &[RecordResolution<'_>]) -> Vec<RecordFailure> {
    failures_of(record_results(resolutions))
}

/// `(section, program, result)` of each record, the shape [`all_fixups`] takes.
fn record_results<'r>(
    resolutions: &'r [RecordResolution<'_>],
) -> impl Iterator<Item = (&'r str, &'r str, &'r Result<Resolution, ReloError>)> + Clone {
    resolutions
        .iter()
        .map(|resolution| (resolution.section, resolution.program, &resolution.result))
}

/// The failures among `(section, program, result)` triples, in their order.
fn failures_of<'r>(
    results: impl Iterator<Item = (&'r str, &'r str, &'r Result<Resolution, ReloError>)>,
) -> Vec<RecordFailure> {
    results
        .filter_map(|(section, program, result)| {
            Some(RecordFailure {
                section: section.to_string(),
                program: program.to_string(),
                error: result.as_ref().err()?.clone(),
            })
        })
        .collect()
}

/// The fixups of `(section, program, result)` triples when every one resolved (`.BTF.ext`
/// records and named relocations alike); otherwise the failures.
fn all_fixups<'r>(
    results: impl Iterator<Item = (&'r str, &'r str, &'r Result<Resolution, ReloError>)> + Clone,
) -> Result<Vec<Fixup>, ApplyError> {
    let failures = failures_of(results.clone());
    if !failures.is_empty() {
        return Err(ApplyError::Unresolved { failures });
    }
    Ok(results
        .filter_map(|(_, _, result)| result.as_ref().ok())
        .map(|resolution| resolution.fixup)
        .collect())
}

/// Why an object could not be patched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Some records have no fixup; each failure names one.
    #[error("{} CO-RE relocation(s) failed:{}", failures.len(), list(failures))]
    Unresolved {
        /// The failed records.
        failures: Vec<RecordFailure>,
    },
    /// Patching the instructions failed.
    #[error("patching the object failed")]
    Object {
        /// Why.
        source: ObjectError,
    },
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|item| format!("\n  {item}")).collect()
}

/// Which module BTFs, beyond vmlinux, are searched for candidates, and in which role.
///
/// For each program, candidates come in tiers and only the first tier that has any
/// candidate for a type takes part: vmlinux; the module owning the program's attach target
/// (`attach_targets`); modules named in `explicit`; modules found by the on-miss search
/// (`search_on_miss`) or, with `all_modules`, every module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulePolicy {
    /// Modules the user named.
    pub explicit: Vec<String>,
    /// Modules owning programs' attach targets.
    pub attach_targets: Vec<AttachModule>,
    /// For local types with no candidate in a program's earlier tiers, probe every module's
    /// strings and search those that have the name.
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
/// use core_reloc::composite::CompositeBtf;
/// use core_reloc::object::BpfObject;
/// use core_reloc::pipeline::{self, ModulePolicy};
/// let composite = CompositeBtf::from_sys()?;
/// let bytes = std::fs::read("probe.bpf.o")?;
/// let object = BpfObject::parse(&bytes)?;
/// let local = pipeline::local_btf(&object)?;
/// let policy = ModulePolicy {
///     explicit: vec!["btrfs".into()],
///     search_on_miss: true,
///     ..ModulePolicy::default()
/// };
/// let selection = pipeline::select_targets(&composite, &object, &local, &policy)?;
/// assert!(selection.module_failures.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn select_targets<'c>(
    composite: &'c CompositeBtf,
    object: &BpfObject<'_>,
    local: &Btf<'_>,
    policy: &ModulePolicy,
) -> Result<Selection<'c>, ResolveError> {
    let mut targets = Targets::new(composite.vmlinux_target());
    want_object_types(object, local, &mut targets);
    let mut failures = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    let mut add = |targets: &mut Targets<'c>,
                   name: &str,
                   role: ModuleRole,
                   reason: ParseReason,
                   failures: &mut Vec<ModuleError>| {
        if failed.iter().any(|done| done == name) {
            return;
        }
        match composite.module_target_for(name, reason) {
            Ok(target) => targets.add_module(target, role),
            Err(error) => {
                log::warn!("{error}");
                failed.push(name.to_string());
                failures.push(error);
            }
        }
    };
    for attach in &policy.attach_targets {
        let reason = ParseReason::AttachTarget {
            symbol: attach.symbol.clone(),
        };
        add(
            &mut targets,
            &attach.module,
            ModuleRole::AttachTarget,
            reason,
            &mut failures,
        );
    }
    for name in &policy.explicit {
        add(
            &mut targets,
            name,
            ModuleRole::Explicit,
            ParseReason::Requested,
            &mut failures,
        );
    }
    if policy.all_modules {
        let names: Vec<String> = composite.module_names().map(str::to_string).collect();
        for name in names {
            let reason = ParseReason::Other("all modules".into());
            add(
                &mut targets,
                &name,
                ModuleRole::Searched,
                reason,
                &mut failures,
            );
        }
    }
    targets.search();
    if policy.search_on_miss {
        let missing = missing_names(object, local, &targets, &policy.attach_targets)?;
        if !missing.is_empty() {
            // One read of each module's strings answers every missing name.
            let probe = composite.probe_many(&missing);
            failures.extend(probe.errors);
            for (type_name, modules) in probe.candidates {
                for module in modules {
                    let reason = ParseReason::TypeSearch {
                        type_name: type_name.clone(),
                    };
                    add(
                        &mut targets,
                        &module,
                        ModuleRole::Searched,
                        reason,
                        &mut failures,
                    );
                }
            }
            targets.search();
        }
    }
    Ok(Selection {
        targets,
        module_failures: failures,
    })
}

/// Local type names that some program has no candidate for in vmlinux, its attach-target
/// module or the explicit modules: what the on-miss search looks for.
fn missing_names(
    object: &BpfObject<'_>,
    local: &Btf<'_>,
    targets: &Targets<'_>,
    attach: &[AttachModule],
) -> Result<Vec<String>, ResolveError> {
    let (_, programs) =
        program_records(object, attach).map_err(|source| ResolveError::CallGraph { source })?;
    let mut missing: Vec<String> = Vec::new();
    for program in &programs {
        for (_, record) in &program.records {
            if record.kind == CoreReloKind::TypeIdLocal {
                continue;
            }
            let Ok(ty) = local.type_by_id(crate::btf::TypeId(record.type_id)) else {
                continue;
            };
            let Ok(name) = local.name(&ty) else { continue };
            if name.is_empty()
                || targets.has_unsearched_candidate(name, ty.kind(), &program.attach_modules)
            {
                continue;
            }
            missing.push(essential_name(name).to_string());
        }
    }
    let (_, named_programs) =
        named_programs(object, attach).map_err(|source| ResolveError::CallGraph { source })?;
    let sites = object.named_relocations();
    for program in &named_programs {
        for reloc in program.sites.iter().map(|&position| &sites[position].reloc) {
            if !targets.has_unsearched_candidate(
                &reloc.type_name,
                reloc.type_kind,
                &program.attach_modules,
            ) {
                missing.push(essential_name(&reloc.type_name).to_string());
            }
        }
    }
    missing.sort();
    missing.dedup();
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use object::write::{Object as ElfWriter, Symbol, SymbolId, SymbolSection};
    use object::{
        Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
        elf,
    };

    use super::*;
    use crate::btf::{BtfBuilder, IntEncoding, MemberSpec};
    use crate::engine::ReloErrorKind;
    use crate::target::TargetBtf;
    use crate::test_elf::{insn, relocate};

    const CALL: u8 = 0x85;
    const LD_IMM64: u8 = 0x18;
    const EXIT: u8 = 0x95;

    fn symbol(writer: &mut ElfWriter<'_>, name: &str, section: SymbolSection) -> SymbolId {
        let defined = matches!(section, SymbolSection::Section(_));
        writer.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: 0,
            size: if defined { 24 } else { 0 },
            kind: if defined {
                SymbolKind::Text
            } else {
                SymbolKind::Unknown
            },
            scope: SymbolScope::Linkage,
            weak: false,
            section,
            flags: SymbolFlags::None,
        })
    }

    /// `.text` holds `shared` (reads `s.b`, called by both programs) and `lonely` (reads
    /// `s.c` by existence, called by none); `kprobe/x` and `kprobe/y` each call `shared` and
    /// read `x_reads` and `y_reads` themselves.
    fn object(x_reads: &str, y_reads: &str) -> Vec<u8> {
        let mut writer = ElfWriter::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);
        let text = writer.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
        let mut code = Vec::new();
        for _ in 0..2 {
            code.extend(insn(LD_IMM64, 0, 0));
            code.extend([0; 8]);
            code.extend(insn(EXIT, 0, 0));
        }
        writer.append_section_data(text, &code, 8);
        let shared = symbol(&mut writer, "shared", SymbolSection::Section(text));
        let lonely = symbol(&mut writer, "lonely", SymbolSection::Section(text));
        writer.symbol_mut(lonely).value = 24;
        let b = symbol(
            &mut writer,
            "core_reloc:v1:field_byte_offset:struct:s:b",
            SymbolSection::Undefined,
        );
        let c = symbol(
            &mut writer,
            "core_reloc:v1:field_exists:struct:s:c",
            SymbolSection::Undefined,
        );
        relocate(&mut writer, text, 0, b, elf::R_BPF_64_64);
        relocate(&mut writer, text, 24, c, elf::R_BPF_64_64);
        for (name, reads) in [("kprobe/x", x_reads), ("kprobe/y", y_reads)] {
            let program =
                writer.add_section(Vec::new(), name.as_bytes().to_vec(), SectionKind::Text);
            let mut code = Vec::new();
            code.extend(insn(CALL, 1, -1));
            code.extend(insn(LD_IMM64, 0, 0));
            code.extend([0; 8]);
            code.extend(insn(EXIT, 0, 0));
            writer.append_section_data(program, &code, 8);
            relocate(&mut writer, program, 0, shared, elf::R_BPF_64_32);
            let read = symbol(&mut writer, reads, SymbolSection::Undefined);
            relocate(&mut writer, program, 8, read, elf::R_BPF_64_64);
        }
        writer.write().unwrap()
    }

    /// Two kernel types named `s`: x { a, b } and y { b, c }.
    fn kernel() -> Vec<u8> {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_struct(
            "s",
            8,
            &[MemberSpec::new("a", int, 0), MemberSpec::new("b", int, 32)],
        );
        b.add_struct(
            "s",
            8,
            &[MemberSpec::new("b", int, 0), MemberSpec::new("c", int, 32)],
        );
        b.build()
    }

    /// The object's named relocations resolved against [`kernel`]: per site, its section, its
    /// program and its value or error.
    fn resolve(x_reads: &str, y_reads: &str) -> Vec<(String, String, Result<u64, ReloError>)> {
        let bytes = object(x_reads, y_reads);
        let object = BpfObject::parse(&bytes).unwrap();
        let kernel = kernel();
        let kernel = Btf::parse(&kernel[..]).unwrap();
        let mut targets = Targets::new(TargetBtf {
            origin: &BtfOrigin::Vmlinux,
            btf: &kernel,
        });
        want_named_types(
            object.named_relocations().iter().map(|named| &named.reloc),
            &mut targets,
        );
        targets.search();
        let named = resolve_named_object(&object, &targets, &[]).unwrap();
        assert_eq!(named.len(), 4);
        named
            .into_iter()
            .map(|resolution| {
                (
                    resolution.section.to_string(),
                    resolution.program.to_string(),
                    resolution.result.map(|resolved| resolved.fixup.new_val),
                )
            })
            .collect()
    }

    /// The value at the site in `section` of `program` (exactly one).
    fn at<'r>(
        resolved: &'r [(String, String, Result<u64, ReloError>)],
        section: &str,
        program: &str,
    ) -> &'r Result<u64, ReloError> {
        let mut found = resolved
            .iter()
            .filter(|(s, p, _)| s == section && p == program)
            .map(|(_, _, result)| result);
        let result = found.next().expect("a site there");
        assert!(found.next().is_none());
        result
    }

    #[test]
    fn named_sites_in_a_shared_subprogram_follow_their_programs_bindings() {
        // Both programs read `a`: both bind x { a, b }, so the shared `b` is 4.
        let resolved = resolve(
            "core_reloc:v1:field_byte_offset:struct:s:a",
            "core_reloc:v1:field_exists:struct:s:a",
        );
        assert_eq!(at(&resolved, ".text", "kprobe/x").as_ref().unwrap(), &4);
        assert_eq!(at(&resolved, "kprobe/x", "kprobe/x").as_ref().unwrap(), &0);
        assert_eq!(at(&resolved, "kprobe/y", "kprobe/y").as_ref().unwrap(), &1);
        // The uncalled subprogram is a program of its own, named `.text`.
        assert_eq!(at(&resolved, ".text", ".text").as_ref().unwrap(), &1);
    }

    #[test]
    fn named_sites_in_a_shared_subprogram_fail_when_the_programs_disagree() {
        // kprobe/x binds x { a, b } (b at 4), kprobe/y binds y { b, c } (b at 0).
        let resolved = resolve(
            "core_reloc:v1:field_byte_offset:struct:s:a",
            "core_reloc:v1:field_byte_offset:struct:s:c",
        );
        let error = at(&resolved, ".text", "kprobe/x").as_ref().unwrap_err();
        let ReloErrorKind::ProgramsDisagree { first, second } = &*error.reason else {
            panic!("{error}");
        };
        assert_eq!(
            (first.program.as_str(), second.program.as_str()),
            ("kprobe/x", "kprobe/y")
        );
        assert_eq!((first.fixup.new_val, second.fixup.new_val), (4, 0));
        assert_eq!(at(&resolved, "kprobe/y", "kprobe/y").as_ref().unwrap(), &4);
    }
}
