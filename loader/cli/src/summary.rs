//! The text summary after a command's output: modules parsed and why, and BTF bytes. On
//! stderr, so stdout holds only the relocations (or the load results). The report's warnings
//! are not repeated here: the loader logs each one (`[WARN  core_reloc_loader] ...`).

use core_reloc_loader::Report;

use crate::error::chain;

/// Prints the modules parsed and the BTF bytes on stderr.
pub fn print(report: &Report) {
    for module in &report.modules {
        let reason = module
            .reason
            .as_ref()
            .map_or("?".to_string(), ToString::to_string);
        match &module.error {
            None => eprintln!("module {} parsed ({reason})", module.name),
            Some(error) => eprintln!("module {} failed ({reason}): {}", module.name, chain(error)),
        }
    }
    eprintln!(
        "BTF bytes: {} mapped, {} read, {} in memory",
        report.bytes_mapped, report.bytes_read, report.bytes_in_memory
    );
}
