//! The `Loader` the target options describe.

use std::path::Path;
use std::sync::Arc;

use core_reloc::composite::CompositeBtf;
use core_reloc_loader::{KallsymsSource, KernelBtf, Loader};

use crate::args::TargetArgs;
use crate::error::CliError;

/// A loader for the kernel the options name: the running one by default, or offline BTF.
pub fn loader(target: &TargetArgs) -> Result<Loader, CliError> {
    let mut loader = Loader::new();
    loader
        .module_search(target.module_search.into())
        .strict(target.strict);
    if let Some(dir) = &target.btf_dir {
        loader.btf_directory(dir);
    } else if let (Some(vmlinux), Some(tree)) = (&target.btf, &target.module_tree) {
        if let Some(module) = target.modules.iter().find(|module| module.path.is_some()) {
            return Err(CliError::Usage {
                message: format!(
                    "--module {}=PATH and --module-tree exclude each other",
                    module.name
                ),
            });
        }
        let composite =
            CompositeBtf::from_module_tree(vmlinux, tree).map_err(CliError::Composite)?;
        loader.kernel_btf(KernelBtf::Shared(Arc::new(composite)));
    } else if let Some(vmlinux) = &target.btf {
        let mut modules = Vec::new();
        for module in &target.modules {
            let path = module.path.as_ref().ok_or_else(|| CliError::Usage {
                message: format!("--module {} needs =PATH when --btf is given", module.name),
            })?;
            modules.push((module.name.clone(), path.clone()));
        }
        // Opened here rather than by the loader, so that an unreadable file is an input
        // error of the command line. Every file is detected by content (raw BTF, ELF with
        // .BTF, xz, zstd).
        let composite = CompositeBtf::from_files(vmlinux, modules).map_err(CliError::Composite)?;
        loader.kernel_btf(KernelBtf::Shared(Arc::new(composite)));
    } else if let Some(module) = target.modules.iter().find(|module| module.path.is_some()) {
        return Err(CliError::Usage {
            message: format!(
                "--module {}=PATH needs --btf (the vmlinux that module's BTF splits on)",
                module.name
            ),
        });
    }
    for module in &target.modules {
        loader.with_module_btf(&module.name);
    }
    if target.btf.is_some() || target.btf_dir.is_some() {
        // Offline BTF: the running kernel's symbols say nothing about it.
        loader.kallsyms(KallsymsSource::None);
    }
    Ok(loader)
}

/// Reads a file named on the command line.
pub fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })
}
