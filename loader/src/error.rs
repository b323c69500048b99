//! Typed errors of the loader; each keeps its cause and names the module, type or field.
//! A message never repeats its `source()`: print the chain (as the `core-reloc` tool does) for
//! the whole story.

use core_reloc::composite::{CompositeError, ModuleError};
use core_reloc::kallsyms::KallsymsError;
use core_reloc::object::ObjectError;
use core_reloc::pipeline::{ApplyError, LocalBtfError, ResolveError};

use crate::report::{Failure, PoisonedSite, Warning};

/// Why relocating or loading an object failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The object file could not be read.
    #[error("reading {path}")]
    ReadObject {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The ELF object is malformed.
    #[error("the object is malformed")]
    Object(#[from] ObjectError),
    /// The object's own BTF is missing or malformed.
    #[error(transparent)]
    LocalBtf(#[from] LocalBtfError),
    /// The kernel's BTF (vmlinux) could not be opened.
    #[error("the kernel's BTF could not be opened")]
    KernelBtf(#[from] CompositeError),
    /// A module named with `with_module_btf` has no usable BTF.
    #[error("module {} (named with with_module_btf) cannot be used", .0.module())]
    Module(#[source] ModuleError),
    /// `/proc/kallsyms` could not be read.
    #[error("reading {path}")]
    Kallsyms {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A kallsyms line is malformed.
    #[error(transparent)]
    KallsymsLine(#[from] KallsymsError),
    /// CO-RE relocations failed; each keeps the engine's error with its program and section.
    #[error("{} CO-RE relocation(s) failed:{}", failures.len(), list(failures))]
    Relocation {
        /// The failed relocations, in record order.
        failures: Vec<Failure>,
    },
    /// Which code belongs to which program could not be worked out.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// Patching the relocated object failed.
    #[error(transparent)]
    Apply(ApplyError),
    /// In strict mode, a warning is an error.
    #[error("strict mode: {0}")]
    Strict(Box<Warning>),
    /// aya refused the relocated object.
    #[error("aya: {0}")]
    Aya(#[from] aya::EbpfError),
    /// The verifier rejected a program at an instruction poisoned because a CO-RE relocation
    /// found nothing in the target kernel.
    #[error("program {program}: the verifier reached instruction #{insn}, poisoned because {site}")]
    PoisonedRelocation {
        /// The program's name.
        program: String,
        /// The instruction index in the verifier's log.
        insn: usize,
        /// The relocation that was poisoned there.
        site: Box<PoisonedSite>,
        /// The verifier's error.
        #[source]
        source: aya::programs::ProgramError,
    },
    /// A program bound to module BTF (module attach target, module kfunc) could not be loaded.
    #[error(transparent)]
    ModuleLoad(#[from] crate::ModuleLoadError),
    /// Loading a program failed for another reason.
    #[error("program {program} failed to load")]
    Program {
        /// The program's name.
        program: String,
        /// aya's error, with the verifier log.
        #[source]
        source: aya::programs::ProgramError,
    },
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|item| format!("\n  {item}")).collect()
}
