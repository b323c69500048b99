//! The command line, declared with clap: each subcommand owns the options that apply to it, so
//! an option given to a subcommand that does not use it is a usage error.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use core_reloc_loader::ModuleSearch;

/// Explain, apply or load the CO-RE relocations of an eBPF object, searching kernel modules'
/// BTF as well as vmlinux.
///
/// Exit status: 0 success; 1 a relocation or a load was refused; 2 a usage error or an input
/// that could not be read (object, BTF, kallsyms).
#[derive(Debug, Parser)]
#[command(name = "core-reloc", version, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every CO-RE relocation of OBJECT as the loader resolves it.
    Explain(ExplainArgs),
    /// Write OBJECT relocated for the target kernel, ready for any loader.
    Relocate(RelocateArgs),
    /// Relocate OBJECT, load its programs into the running kernel, report, then unload.
    Load(LoadArgs),
    /// Dump, relocate (onto vmlinux) and distill (.BTF.base) BTF files.
    Btf(crate::btf_args::BtfArgs),
}

/// `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The eBPF object (ELF with .BTF and .BTF.ext).
    pub object: PathBuf,
    /// One JSON object per relocation on stdout, then a summary object (an error object on
    /// failure).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `relocate`.
#[derive(Debug, Args)]
pub struct RelocateArgs {
    /// The eBPF object (ELF with .BTF and .BTF.ext).
    pub object: PathBuf,
    /// Where to write the relocated object.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The eBPF object (ELF with .BTF and .BTF.ext).
    pub object: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Where the target kernel's BTF comes from and which modules are searched.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Target kernel BTF")]
pub struct TargetArgs {
    /// vmlinux BTF file: raw BTF or the vmlinux ELF (default: /sys/kernel/btf/vmlinux,
    /// modules on demand from /sys/kernel/btf); modules then come only from --module
    /// NAME=PATH or --module-tree.
    #[arg(long, value_name = "PATH", conflicts_with = "btf_dir")]
    pub btf: Option<PathBuf>,
    /// A directory laid out like /sys/kernel/btf: vmlinux (raw BTF or ELF) plus one file per
    /// module (raw BTF, NAME.ko, NAME.ko.xz or NAME.ko.zst).
    #[arg(long, value_name = "DIR")]
    pub btf_dir: Option<PathBuf>,
    /// With --btf: the modules of a /lib/modules/RELEASE tree (*.ko, *.ko.xz, *.ko.zst).
    #[arg(long, value_name = "DIR", requires = "btf")]
    pub module_tree: Option<PathBuf>,
    /// Search this module's BTF (repeatable); =PATH gives its file (raw BTF, .ko, .ko.xz,
    /// .ko.zst), with --btf.
    #[arg(long = "module", value_name = "NAME[=PATH]", value_parser = parse_module)]
    pub modules: Vec<ModuleArg>,
    /// Which other modules are searched.
    #[arg(long, value_enum, default_value_t = SearchMode::Default)]
    pub module_search: SearchMode,
    /// Warnings are errors (a type only in an unsearched module, a module that failed).
    #[arg(long)]
    pub strict: bool,
}

/// `--module NAME[=PATH]`.
#[derive(Debug, Clone)]
pub struct ModuleArg {
    /// The module's name, as in /sys/kernel/btf.
    pub name: String,
    /// Its BTF file, when not taken from the BTF directory.
    pub path: Option<PathBuf>,
}

fn parse_module(value: &str) -> Result<ModuleArg, String> {
    let (name, path) = match value.split_once('=') {
        Some((name, path)) => (name, Some(PathBuf::from(path))),
        None => (value, None),
    };
    if name.is_empty() {
        return Err("the module name is empty".into());
    }
    Ok(ModuleArg {
        name: name.to_string(),
        path,
    })
}

/// `--module-search`, the loader's [`ModuleSearch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchMode {
    /// Owners of attach targets, and modules that have a type vmlinux lacks.
    Default,
    /// Owners of attach targets only.
    AttachTargets,
    /// Modules that have a type vmlinux lacks, only.
    Misses,
    /// Only the modules named with --module.
    Off,
    /// Every module.
    All,
}

impl From<SearchMode> for ModuleSearch {
    fn from(mode: SearchMode) -> ModuleSearch {
        match mode {
            SearchMode::Default => ModuleSearch::AttachTargetsAndMisses,
            SearchMode::AttachTargets => ModuleSearch::AttachTargets,
            SearchMode::Misses => ModuleSearch::Misses,
            SearchMode::Off => ModuleSearch::Off,
            SearchMode::All => ModuleSearch::All,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_belong_to_their_subcommand() {
        assert!(Cli::try_parse_from(["core-reloc", "explain", "x.o", "--json"]).is_ok());
        let misplaced = Cli::try_parse_from(["core-reloc", "relocate", "x.o", "-o", "y", "--json"])
            .unwrap_err();
        assert_eq!(misplaced.kind(), clap::error::ErrorKind::UnknownArgument);
        let misplaced =
            Cli::try_parse_from(["core-reloc", "explain", "x.o", "-o", "y"]).unwrap_err();
        assert_eq!(misplaced.kind(), clap::error::ErrorKind::UnknownArgument);
        let both = Cli::try_parse_from([
            "core-reloc",
            "explain",
            "x.o",
            "--btf",
            "a",
            "--btf-dir",
            "b",
        ])
        .unwrap_err();
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn module_names_and_paths() {
        let module = parse_module("btrfs=/tmp/btrfs").unwrap();
        assert_eq!(module.name, "btrfs");
        assert_eq!(
            module.path.as_deref(),
            Some(std::path::Path::new("/tmp/btrfs"))
        );
        assert!(parse_module("btrfs").unwrap().path.is_none());
        assert!(parse_module("=x").is_err());
    }
}
