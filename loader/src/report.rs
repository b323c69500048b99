//! What the loader did: every fixup with its origin, modules parsed and why, bytes read, and
//! warnings. The `core-reloc` tool (package `core-reloc-cli`) prints exactly this.

use std::fmt;

use core_reloc::composite::{CompositeStats, ModuleError, ParseReason};
use core_reloc::engine::{AccessPath, CandidateReport, RawSpec, ReloError, TypeName};
use core_reloc::ext::CoreReloKind;
use core_reloc::pipeline::RecordFailure;
use core_reloc::target::TargetRef;

use crate::with_causes;

/// One CO-RE relocation as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixupReport {
    /// Index of the record among all of the object's records.
    pub record_index: usize,
    /// The section holding the instruction, e.g. `kprobe/btrfs_getattr` or `.text`.
    pub section: String,
    /// The program whose binding decided it (its entry section).
    pub program: String,
    /// Instruction index in that section.
    pub insn: usize,
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// For a named relocation (an extern `core_reloc:` symbol, see [`core_reloc::named`]):
    /// the symbol; `None` for a `.BTF.ext` record.
    pub symbol: Option<String>,
    /// The local root type, e.g. `struct btrfs_inode`.
    pub local_type: TypeName,
    /// The access string, e.g. `0:3:1`; empty for a named relocation (see `symbol`).
    pub spec: RawSpec,
    /// The access, e.g. `struct btrfs_inode.vfs_inode.i_ino`.
    pub access: AccessPath,
    /// The target type and where it was found; `None` when nothing matched.
    pub target: Option<TargetRef>,
    /// The value the instruction held.
    pub old: u64,
    /// The value written; `None` when the instruction was poisoned.
    pub new: Option<u64>,
    /// The candidates of the tier that took part, with origin, score and why each did not
    /// match this record.
    pub candidates: Vec<CandidateReport>,
    /// When nothing was found: modules whose BTF has the type but were not searched.
    pub unsearched_modules: Vec<String>,
}

impl FixupReport {
    /// True when the instruction was replaced by the poison call.
    pub fn poisoned(&self) -> bool {
        self.new.is_none()
    }
}

impl fmt::Display for FixupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} insn {}: {} {} (",
            self.record_index, self.section, self.insn, self.kind, self.access
        )?;
        match &self.symbol {
            Some(symbol) => write!(f, "{symbol})")?,
            None => write!(f, "{})", self.spec)?,
        }
        match (&self.target, self.new) {
            (Some(target), Some(new)) => write!(f, " -> {target}: {} => {new}", self.old)?,
            (None, Some(new)) => write!(f, " -> no target: {} => {new}", self.old)?,
            (_, None) => write!(f, " -> poisoned (was {})", self.old)?,
        }
        // Explain what did not resolve; a resolved relocation speaks for itself.
        if self.target.is_none() || self.poisoned() {
            for candidate in &self.candidates {
                write!(f, "\n    candidate {}", candidate.target)?;
                match &candidate.rejected {
                    None => write!(f, " matched")?,
                    Some(why) => write!(f, " rejected: {why}")?,
                }
                if candidate.chosen {
                    write!(f, " (bound, {} record(s) unmatched)", candidate.misses)?;
                }
            }
            if self.candidates.is_empty() {
                write!(
                    f,
                    "\n    no candidate named like {} in the searched BTF",
                    self.local_type
                )?;
            }
            if !self.unsearched_modules.is_empty() {
                write!(
                    f,
                    "\n    the type exists in module(s) {}, which were not searched",
                    self.unsearched_modules.join(", ")
                )?;
            }
        }
        Ok(())
    }
}

/// A relocation that could not be resolved: the engine's typed error with its program and
/// section.
///
/// ```
/// use core_reloc::engine::{ErrorAccess, ReloError, ReloErrorKind};
/// use core_reloc::ext::CoreReloKind;
/// use core_reloc::fixup::RelocationSite;
/// let failure = core_reloc_loader::Failure {
///     section: ".text".into(),
///     program: "kprobe/btrfs_getattr".into(),
///     error: ReloError {
///         site: RelocationSite { record_index: 2, section_index: 2, insn_index: 9 },
///         kind: CoreReloKind::FieldByteOffset,
///         access: ErrorAccess::Raw("0:1".into()),
///         reason: Box::new(ReloErrorKind::AnonymousType),
///     },
/// };
/// assert!(matches!(*failure.error.reason, ReloErrorKind::AnonymousType));
/// assert!(failure.to_string().starts_with(".text (called by kprobe/btrfs_getattr): relocation #2"));
/// ```
#[derive(Debug, Clone)]
pub struct Failure {
    /// The section holding the instruction.
    pub section: String,
    /// The program whose binding decided it (its entry section).
    pub program: String,
    /// What the engine says, with the record, kind, access and reason; an ambiguity names
    /// the local type, the tied candidates and where they disagree.
    pub error: ReloError,
}

impl From<RecordFailure> for Failure {
    fn from(failure: RecordFailure) -> Self {
        Failure {
            section: failure.section,
            program: failure.program,
            error: failure.error,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.program == self.section {
            write!(f, "{}: {}", self.section, self.error)
        } else {
            write!(
                f,
                "{} (called by {}): {}",
                self.section, self.program, self.error
            )
        }
    }
}

/// A relocation poisoned because nothing matched, for verifier-error diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoisonedSite {
    /// Program section.
    pub section: String,
    /// Instruction index in that section.
    pub insn: usize,
    /// Record index.
    pub record_index: usize,
    /// The kind.
    pub kind: CoreReloKind,
    /// The access.
    pub access: AccessPath,
    /// Modules whose BTF has the type but were not searched.
    pub unsearched_modules: Vec<String>,
}

impl fmt::Display for PoisonedSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CO-RE relocation #{} ({} of `{}`, {} insn {}) found no match in the kernel's BTF",
            self.record_index, self.kind, self.access, self.section, self.insn
        )?;
        if !self.unsearched_modules.is_empty() {
            write!(
                f,
                "; the type exists in module(s) {}, which were not searched",
                self.unsearched_modules.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Something the user should know; an error in strict mode.
#[derive(Debug, Clone)]
pub enum Warning {
    /// A relocation evaluated "does not exist" (or was poisoned) for a type that a module not
    /// searched has.
    TypeInUnsearchedModule {
        /// Record index.
        record_index: usize,
        /// The kind.
        kind: CoreReloKind,
        /// The access.
        access: AccessPath,
        /// The type's name.
        type_name: String,
        /// Modules whose BTF strings have the name.
        modules: Vec<String>,
    },
    /// A module selected for search could not be used.
    ModuleFailed {
        /// The module.
        module: String,
        /// Why, as the composite reported it (printed with its causes).
        error: ModuleError,
    },
    /// An attach target's owner module has no BTF.
    AttachModuleWithoutBtf {
        /// The program section.
        section: String,
        /// The module.
        module: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::TypeInUnsearchedModule {
                record_index,
                kind,
                access,
                type_name,
                modules,
            } => write!(
                f,
                "relocation #{record_index} ({kind} of `{access}`) found no `{type_name}`, \
                 but module(s) {} have it and were not searched: use with_module_btf(\"{}\") \
                 or module search",
                modules.join(", "),
                modules.first().map_or("", String::as_str)
            ),
            Warning::ModuleFailed { module, error } => {
                write!(
                    f,
                    "module {module} could not be searched: {}",
                    with_causes(error)
                )
            }
            Warning::AttachModuleWithoutBtf { section, module } => write!(
                f,
                "{section} attaches to module {module}, which has no BTF in the source"
            ),
        }
    }
}

/// A module that was parsed, and why.
#[derive(Debug, Clone)]
pub struct ModuleReport {
    /// The module.
    pub name: String,
    /// Why it was parsed.
    pub reason: Option<ParseReason>,
    /// `None` when it parsed; the error otherwise.
    pub error: Option<ModuleError>,
}

/// Everything the loader did for one object.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every CO-RE relocation, in record order.
    pub fixups: Vec<FixupReport>,
    /// Modules parsed (or attempted), in name order.
    pub modules: Vec<ModuleReport>,
    /// Bytes of BTF memory-mapped.
    pub bytes_mapped: u64,
    /// Bytes of BTF read (files and probes).
    pub bytes_read: u64,
    /// Bytes of BTF given in memory.
    pub bytes_in_memory: u64,
    /// Warnings (errors in strict mode).
    pub warnings: Vec<Warning>,
    /// Poisoned relocations, for verifier diagnostics.
    pub poisoned: Vec<PoisonedSite>,
    /// Programs (by the names aya gives them) and their ELF sections.
    pub programs: Vec<(String, String)>,
}

impl Report {
    pub(crate) fn record_stats(&mut self, stats: &CompositeStats) {
        self.bytes_mapped = stats.bytes_mapped;
        self.bytes_read = stats.bytes_read;
        self.bytes_in_memory = stats.bytes_in_memory;
        self.modules = stats
            .attempted
            .iter()
            .map(|module| ModuleReport {
                name: module.name.to_string(),
                reason: module.reason.clone(),
                error: match &module.state {
                    core_reloc::composite::ModuleState::Failed(error) => Some(error.clone()),
                    _ => None,
                },
            })
            .collect();
    }

    /// Names of the modules whose BTF was parsed successfully.
    ///
    /// ```
    /// let report = core_reloc_loader::Report::default();
    /// assert!(report.parsed_modules().is_empty());
    /// ```
    pub fn parsed_modules(&self) -> Vec<&str> {
        self.modules
            .iter()
            .filter(|module| module.error.is_none())
            .map(|module| module.name.as_str())
            .collect()
    }

    /// The ELF section of the program aya calls `name`.
    ///
    /// ```
    /// let report = core_reloc_loader::Report::default();
    /// assert_eq!(report.program_section("probe"), None);
    /// ```
    pub fn program_section(&self, name: &str) -> Option<&str> {
        self.programs
            .iter()
            .find(|(program, _)| program == name)
            .map(|(_, section)| section.as_str())
    }

    /// The poisoned relocations a verifier log points at: the log's failing instruction is
    /// `N: (85) call unknown#195896080`, and `N` is matched against poisoned instructions
    /// of `section` (when given) or of any section.
    ///
    /// ```
    /// let report = core_reloc_loader::Report::default();
    /// assert!(report.poisoned_sites_in_log("12: (85) call unknown#195896080\n", None).is_empty());
    /// ```
    pub fn poisoned_sites_in_log(&self, log: &str, section: Option<&str>) -> Vec<&PoisonedSite> {
        let Some(insn) = poisoned_insn_in_log(log) else {
            return Vec::new();
        };
        self.poisoned
            .iter()
            .filter(|site| {
                site.insn == insn && section.is_none_or(|section| site.section == section)
            })
            .collect()
    }
}

/// The instruction index at which a verifier log shows the poison call.
pub(crate) fn poisoned_insn_in_log(log: &str) -> Option<usize> {
    const POISON_CALL: &str = "call unknown#195896080";
    log.lines().rev().find_map(|line| {
        let (index, rest) = line.trim_start().split_once(": ")?;
        (rest.contains(POISON_CALL)).then(|| index.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_poisoned_instruction_in_a_verifier_log() {
        let log = "func#0 @0\n0: R1=ctx() R10=fp0\n; x = ...\n11: (b7) r1 = 0\n12: (85) call unknown#195896080\ninvalid func unknown#195896080\n";
        assert_eq!(poisoned_insn_in_log(log), Some(12));
        assert_eq!(poisoned_insn_in_log("invalid func unknown#195896080"), None);
        assert_eq!(poisoned_insn_in_log("12: (85) call bpf_probe_read#4"), None);
    }
}
