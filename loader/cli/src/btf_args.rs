//! `core-reloc btf ...`: the BTF subcommands' command line.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `btf`: inspect, relocate and distill BTF files (raw BTF, or an ELF such as a `.ko`).
#[derive(Debug, Args)]
pub struct BtfArgs {
    #[command(subcommand)]
    pub command: BtfCommand,
}

/// The BTF subcommands.
#[derive(Debug, Subcommand)]
pub enum BtfCommand {
    /// One line per type, like `bpftool btf dump file FILE format raw`.
    Dump(DumpArgs),
    /// Relocate split BTF from its distilled base onto vmlinux (libbpf's btf__relocate).
    Relocate(RelocateBtfArgs),
    /// Distill module BTF into a distilled base and a split on it (libbpf's btf__distill_base).
    Distill(DistillArgs),
}

/// `btf dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Raw BTF or an ELF carrying .BTF.
    pub file: PathBuf,
    /// The base FILE is split on (raw BTF or ELF, e.g. vmlinux); default: FILE is base BTF,
    /// or, for an ELF with .BTF.base, that distilled base.
    #[arg(long, value_name = "FILE")]
    pub base: Option<PathBuf>,
}

/// `btf relocate`.
#[derive(Debug, Args)]
pub struct RelocateBtfArgs {
    /// Split BTF on a distilled base: a `.ko` with .BTF and .BTF.base, or raw BTF with
    /// --distilled-base.
    pub file: PathBuf,
    /// The distilled base FILE is split on (raw BTF or ELF), when FILE carries none.
    #[arg(long, value_name = "FILE")]
    pub distilled_base: Option<PathBuf>,
    /// vmlinux BTF to relocate onto (raw BTF or the vmlinux ELF).
    #[arg(long, value_name = "VMLINUX")]
    pub base: PathBuf,
    /// Where to write the relocated split BTF (raw).
    #[arg(short, value_name = "OUT")]
    pub output: PathBuf,
}

/// `btf distill`.
#[derive(Debug, Args)]
pub struct DistillArgs {
    /// Module BTF split on VMLINUX (raw BTF or a `.ko`).
    pub file: PathBuf,
    /// The vmlinux BTF FILE is split on (raw BTF or the vmlinux ELF).
    #[arg(long, value_name = "VMLINUX")]
    pub base: PathBuf,
    /// Where to write the new split BTF (raw; a module's .BTF).
    #[arg(long, value_name = "OUT")]
    pub out_split: PathBuf,
    /// Where to write the distilled base (raw; a module's .BTF.base).
    #[arg(long, value_name = "OUT")]
    pub out_base: PathBuf,
}
