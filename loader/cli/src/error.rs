//! What can go wrong in the tool, and the exit status each failure maps to.

use std::path::PathBuf;

use core_reloc_loader::LoadError;

/// Exit status of a relocation or load the kernel's BTF, the loader or the verifier refused.
pub const EXIT_REFUSED: u8 = 1;
/// Exit status of a usage error or an input that could not be read.
pub const EXIT_USAGE_OR_INPUT: u8 = 2;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The options do not make sense together (beyond what clap checks).
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
    },
    /// A file named on the command line could not be read.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The output file could not be written.
    #[error("writing {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The BTF files given with --btf and --module do not form a kernel's BTF.
    #[error("the BTF given with --btf and --module")]
    Composite(#[source] core_reloc::composite::CompositeError),
    /// Stdout could not be written (a closed pipe ends the command quietly).
    #[error("writing to stdout")]
    Stdout {
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The loader refused the object.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A BTF file named on the command line holds no usable BTF (the error names it).
    #[error(transparent)]
    BtfFile(core_reloc::btf_file::BtfFileError),
    /// A BTF file could not be parsed.
    #[error("parsing the BTF of {}", path.display())]
    Btf {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: core_reloc::btf::BtfError,
    },
    /// A BTF file could not be dumped.
    #[error("dumping the BTF of {}", path.display())]
    Dump {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: core_reloc::btf_dump::DumpError,
    },
    /// Relocating split BTF onto vmlinux was refused.
    #[error("relocating the split BTF")]
    Relocate(#[source] core_reloc::split_base::RelocateError),
    /// Distilling module BTF was refused.
    #[error("distilling the module BTF")]
    Distill(#[source] core_reloc::split_base::DistillError),
    /// Some programs of a loaded object did not pass the verifier.
    #[error("{failed} of {programs} program(s) failed to load")]
    ProgramsFailed {
        /// How many failed.
        failed: usize,
        /// How many were tried.
        programs: usize,
    },
}

impl CliError {
    /// The process exit status: 1 when a relocation or a load was refused, 2 when the command
    /// line or an input is at fault.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage { .. }
            | CliError::Read { .. }
            | CliError::Write { .. }
            | CliError::Stdout { .. }
            | CliError::Composite(_)
            | CliError::BtfFile(_)
            | CliError::Btf { .. }
            | CliError::Dump { .. } => EXIT_USAGE_OR_INPUT,
            CliError::ProgramsFailed { .. } | CliError::Relocate(_) | CliError::Distill(_) => {
                EXIT_REFUSED
            }
            CliError::Load(error) => match error {
                LoadError::ReadObject { .. }
                | LoadError::Object(_)
                | LoadError::LocalBtf(_)
                | LoadError::KernelBtf(_)
                | LoadError::Module(_)
                | LoadError::Kallsyms { .. }
                | LoadError::KallsymsLine(_)
                | LoadError::Resolve(_) => EXIT_USAGE_OR_INPUT,
                LoadError::Relocation { .. }
                | LoadError::Apply(_)
                | LoadError::Strict(_)
                | LoadError::Aya(_)
                | LoadError::PoisonedRelocation { .. }
                | LoadError::ModuleLoad(_)
                | LoadError::Program { .. } => EXIT_REFUSED,
            },
        }
    }

    /// A short stable name of the failure, the `error` field of the JSON error object.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Usage { .. } => "usage",
            CliError::Read { .. } => "read",
            CliError::Write { .. } | CliError::Stdout { .. } => "write",
            CliError::Composite(_) => "kernel_btf",
            CliError::ProgramsFailed { .. } => "programs_failed",
            CliError::BtfFile(_) => "btf_file",
            CliError::Btf { .. } => "btf",
            CliError::Dump { .. } => "dump",
            CliError::Relocate(_) => "btf_relocate",
            CliError::Distill(_) => "btf_distill",
            CliError::Load(error) => match error {
                LoadError::ReadObject { .. } => "read",
                LoadError::Object(_) => "object",
                LoadError::LocalBtf(_) => "local_btf",
                LoadError::KernelBtf(_) => "kernel_btf",
                LoadError::Module(_) => "module",
                LoadError::Kallsyms { .. } | LoadError::KallsymsLine(_) => "kallsyms",
                LoadError::Resolve(_) => "call_graph",
                LoadError::Relocation { .. } => "relocation",
                LoadError::Apply(_) => "patch",
                LoadError::Strict(_) => "strict",
                LoadError::Aya(_) => "aya",
                LoadError::PoisonedRelocation { .. } => "poisoned_relocation",
                LoadError::ModuleLoad(_) => "module_attach",
                LoadError::Program { .. } => "program",
            },
        }
    }
}

impl CliError {
    /// True when stdout was closed by its reader (`| head`): not worth a message.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, CliError::Stdout { source } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// The error and its causes on one line, `a: b: c`, leaving out a cause whose text the message
/// already contains.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_split_refusals_from_bad_input() {
        let read = CliError::Read {
            path: "x.o".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(read.exit_code(), EXIT_USAGE_OR_INPUT);
        assert_eq!(chain(&read), "reading x.o: entity not found");
        let refused = CliError::Load(LoadError::Relocation {
            failures: Vec::new(),
        });
        assert_eq!(refused.exit_code(), EXIT_REFUSED);
        assert_eq!(refused.kind(), "relocation");
    }
}
