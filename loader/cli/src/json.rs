//! The JSON `explain --json` prints, one object per line. These are the tool's own types,
//! built from the loader's typed report, so the library does not depend on serde and the
//! field names stay stable while the library evolves. Every object has `"line"`:
//! `"relocation"`, `"summary"` or `"error"`. The fields are documented in the README
//! ("JSON output").

use core_reloc::engine::{CandidateReport, ReloErrorKind};
use core_reloc::target::TargetRef;
use core_reloc_loader::{Failure, FixupReport, LoadError, ModuleReport, Report, Warning};
use serde::Serialize;

use crate::error::{CliError, chain};

/// A type in the target kernel's BTF: which BTF (`vmlinux` or the module) and its id there.
#[derive(Debug, Serialize)]
pub struct TargetJson {
    /// `vmlinux` or the module's name.
    pub btf: String,
    /// The type id, numbered as in that BTF.
    pub id: u32,
}

impl From<&TargetRef> for TargetJson {
    fn from(target: &TargetRef) -> TargetJson {
        TargetJson {
            btf: target.origin.name().to_string(),
            id: target.id.0,
        }
    }
}

/// A candidate the engine considered for a relocation.
#[derive(Debug, Serialize)]
pub struct CandidateJson {
    /// `vmlinux` or the module's name.
    pub btf: String,
    /// The type id there.
    pub id: u32,
    /// True when it matched.
    pub matched: bool,
    /// Why it did not match; `null` when it did.
    pub rejected: Option<String>,
    /// The reason as a stable code (`missing_member`, `incompatible_type`, ...; see
    /// `core_reloc::engine::Rejection::code`); `null` when it matched.
    pub rejection: Option<&'static str>,
}

impl From<&CandidateReport> for CandidateJson {
    fn from(candidate: &CandidateReport) -> CandidateJson {
        CandidateJson {
            btf: candidate.target.origin.name().to_string(),
            id: candidate.target.id.0,
            matched: candidate.rejected.is_none(),
            rejected: candidate.rejected.as_ref().map(ToString::to_string),
            rejection: candidate.rejected.as_ref().map(|why| why.code()),
        }
    }
}

/// One CO-RE relocation as applied: every fact the text line shows.
#[derive(Debug, Serialize)]
pub struct RelocationJson {
    /// Always `"relocation"`.
    pub line: &'static str,
    /// Index of the record among all of the object's records (`#N` in the text).
    pub record_index: usize,
    /// The program section.
    pub section: String,
    /// The instruction index in that section.
    pub insn: usize,
    /// The relocation kind, as libbpf names it (`byte_off`, `field_exists`, ...).
    pub kind: &'static str,
    /// For a named relocation (CO-RE from Rust): the extern symbol, e.g.
    /// `core_reloc:v1:field_byte_offset:struct:btrfs_inode:vfs_inode`; `null` for a
    /// `.BTF.ext` record.
    pub symbol: Option<String>,
    /// The local root type, e.g. `struct btrfs_inode`.
    pub local_type: String,
    /// The access string, e.g. `0:3:0`; for a named relocation, the symbol.
    pub spec: String,
    /// The access in words, e.g. `struct btrfs_inode.vfs_inode.i_ino`.
    pub access: String,
    /// The target type and its BTF; `null` when nothing matched.
    pub target: Option<TargetJson>,
    /// The value the instruction held.
    pub old: u64,
    /// The value written; `null` when the instruction was poisoned.
    pub new: Option<u64>,
    /// True when the instruction was replaced by the poison call.
    pub poisoned: bool,
    /// Every candidate considered, and why each was rejected.
    pub candidates: Vec<CandidateJson>,
    /// When nothing was found: modules whose BTF has the type but were not searched.
    pub unsearched_modules: Vec<String>,
}

impl From<&FixupReport> for RelocationJson {
    fn from(fixup: &FixupReport) -> RelocationJson {
        RelocationJson {
            line: "relocation",
            record_index: fixup.record_index,
            section: fixup.section.clone(),
            insn: fixup.insn,
            kind: fixup.kind.name(),
            symbol: fixup.symbol.clone(),
            local_type: fixup.local_type.to_string(),
            // A named relocation has no access string: its symbol says the access.
            spec: fixup
                .symbol
                .clone()
                .unwrap_or_else(|| fixup.spec.to_string()),
            access: fixup.access.to_string(),
            target: fixup.target.as_ref().map(TargetJson::from),
            old: fixup.old,
            new: fixup.new,
            poisoned: fixup.poisoned(),
            candidates: fixup.candidates.iter().map(CandidateJson::from).collect(),
            unsearched_modules: fixup.unsearched_modules.clone(),
        }
    }
}

/// A module whose BTF was parsed (or attempted), and why.
#[derive(Debug, Serialize)]
pub struct ModuleJson {
    /// The module.
    pub name: String,
    /// Why it was parsed, in words (`requested`, `attach target btrfs_getattr`, ...).
    pub reason: Option<String>,
    /// True when it parsed.
    pub parsed: bool,
    /// Why it failed; `null` when it parsed.
    pub error: Option<String>,
}

impl From<&ModuleReport> for ModuleJson {
    fn from(module: &ModuleReport) -> ModuleJson {
        ModuleJson {
            name: module.name.clone(),
            reason: module.reason.as_ref().map(ToString::to_string),
            parsed: module.error.is_none(),
            error: module.error.as_ref().map(|error| chain(error)),
        }
    }
}

/// A warning (an error under `--strict`), with its typed fields and its text.
#[derive(Debug, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum WarningJson {
    /// A relocation found nothing while a module that was not searched has the type.
    TypeInUnsearchedModule {
        /// The record index.
        record_index: usize,
        /// The relocation kind.
        kind: &'static str,
        /// The access in words.
        access: String,
        /// The type's name.
        type_name: String,
        /// Modules whose BTF has it.
        modules: Vec<String>,
        /// The warning in words.
        message: String,
    },
    /// A module selected for search could not be used.
    ModuleFailed {
        /// The module.
        module: String,
        /// Why.
        error: String,
        /// The warning in words.
        message: String,
    },
    /// A program's attach target is in a module that has no BTF.
    AttachModuleWithoutBtf {
        /// The program section.
        section: String,
        /// The module.
        module: String,
        /// The warning in words.
        message: String,
    },
}

impl From<&Warning> for WarningJson {
    fn from(warning: &Warning) -> WarningJson {
        let message = warning.to_string();
        match warning {
            Warning::TypeInUnsearchedModule {
                record_index,
                kind,
                access,
                type_name,
                modules,
            } => WarningJson::TypeInUnsearchedModule {
                record_index: *record_index,
                kind: kind.name(),
                access: access.to_string(),
                type_name: type_name.clone(),
                modules: modules.clone(),
                message,
            },
            Warning::ModuleFailed { module, error } => WarningJson::ModuleFailed {
                module: module.clone(),
                error: chain(error),
                message,
            },
            Warning::AttachModuleWithoutBtf { section, module } => {
                WarningJson::AttachModuleWithoutBtf {
                    section: section.clone(),
                    module: module.clone(),
                    message,
                }
            }
        }
    }
}

/// The last line of a successful `explain --json`.
#[derive(Debug, Serialize)]
pub struct SummaryJson {
    /// Always `"summary"`.
    pub line: &'static str,
    /// How many relocations were printed.
    pub relocations: usize,
    /// How many of them were poisoned.
    pub poisoned: usize,
    /// Modules parsed (or attempted), in name order.
    pub modules: Vec<ModuleJson>,
    /// Bytes of BTF memory-mapped.
    pub bytes_mapped: u64,
    /// Bytes of BTF read (files and probes).
    pub bytes_read: u64,
    /// Bytes of BTF given in memory.
    pub bytes_in_memory: u64,
    /// Warnings.
    pub warnings: Vec<WarningJson>,
}

impl From<&Report> for SummaryJson {
    fn from(report: &Report) -> SummaryJson {
        SummaryJson {
            line: "summary",
            relocations: report.fixups.len(),
            poisoned: report.fixups.iter().filter(|f| f.poisoned()).count(),
            modules: report.modules.iter().map(ModuleJson::from).collect(),
            bytes_mapped: report.bytes_mapped,
            bytes_read: report.bytes_read,
            bytes_in_memory: report.bytes_in_memory,
            warnings: report.warnings.iter().map(WarningJson::from).collect(),
        }
    }
}

/// A relocation that could not be resolved.
#[derive(Debug, Serialize)]
pub struct FailureJson {
    /// The section holding the instruction.
    pub section: String,
    /// The program whose binding decided it (its entry section).
    pub program: String,
    /// The record index.
    pub record_index: usize,
    /// The instruction index in the section.
    pub insn: usize,
    /// The relocation kind.
    pub kind: &'static str,
    /// The access in words (or the raw access string when it did not resolve).
    pub access: String,
    /// Why it failed, in words.
    pub reason: String,
    /// The target types the reason is about (the tied candidates of an ambiguity, a candidate
    /// whose BTF is broken, a module type id).
    pub targets: Vec<TargetJson>,
    /// The whole explanation on one line: record, instruction, kind, access, reason.
    pub message: String,
}

impl From<&Failure> for FailureJson {
    fn from(failure: &Failure) -> FailureJson {
        let error = &failure.error;
        let targets = match error.reason.as_ref() {
            ReloErrorKind::Ambiguous(ambiguity) => ambiguity.candidates.clone(),
            ReloErrorKind::Target { target, .. } | ReloErrorKind::ModuleTypeId { target } => {
                vec![target.clone()]
            }
            _ => Vec::new(),
        };
        FailureJson {
            section: failure.section.clone(),
            program: failure.program.clone(),
            record_index: error.site.record_index,
            insn: error.site.insn_index,
            kind: error.kind.name(),
            access: error.access.to_string(),
            reason: error.reason.to_string(),
            targets: targets.iter().map(TargetJson::from).collect(),
            message: error.to_string(),
        }
    }
}

/// A poisoned relocation the verifier reached (`load`).
#[derive(Debug, Serialize)]
pub struct PoisonedJson {
    /// The program's name.
    pub program: String,
    /// The program section.
    pub section: String,
    /// The instruction index.
    pub insn: usize,
    /// The record index.
    pub record_index: usize,
    /// The relocation kind.
    pub kind: &'static str,
    /// The access in words.
    pub access: String,
    /// Modules whose BTF has the type but were not searched.
    pub unsearched_modules: Vec<String>,
}

/// The one line a failed `explain --json` prints.
#[derive(Debug, Serialize)]
pub struct ErrorJson {
    /// Always `"error"`.
    pub line: &'static str,
    /// What failed, a stable name: `relocation`, `strict`, `object`, `read`, ...
    pub error: &'static str,
    /// The process exit status that follows.
    pub exit_code: u8,
    /// The error and its causes in words.
    pub message: String,
    /// For `relocation`: each relocation that failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<FailureJson>,
    /// For `strict`: the warning that became an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<WarningJson>,
    /// For `poisoned_relocation`: the relocation the verifier reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poisoned: Option<PoisonedJson>,
}

impl From<&CliError> for ErrorJson {
    fn from(error: &CliError) -> ErrorJson {
        let mut json = ErrorJson {
            line: "error",
            error: error.kind(),
            exit_code: error.exit_code(),
            message: chain(error),
            failures: Vec::new(),
            warning: None,
            poisoned: None,
        };
        match error {
            CliError::Load(LoadError::Relocation { failures }) => {
                json.failures = failures.iter().map(FailureJson::from).collect();
            }
            CliError::Load(LoadError::Strict(warning)) => {
                json.warning = Some(WarningJson::from(warning.as_ref()));
            }
            CliError::Load(LoadError::PoisonedRelocation { program, site, .. }) => {
                json.poisoned = Some(PoisonedJson {
                    program: program.clone(),
                    section: site.section.clone(),
                    insn: site.insn,
                    record_index: site.record_index,
                    kind: site.kind.name(),
                    access: site.access.to_string(),
                    unsearched_modules: site.unsearched_modules.clone(),
                });
            }
            _ => {}
        }
        json
    }
}

/// Prints one JSON object on its own line.
pub fn print_line(value: &impl Serialize) -> Result<(), CliError> {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no I/O.
    crate::out::line(serde_json::to_string(value).unwrap_or_default())
}
