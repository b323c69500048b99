//! The text summary after a command's output: modules parsed and why, bytes, warnings. On
//! stderr, so stdout holds only the relocations (or the load results).

use core_reloc_loader::Report;

/// Prints the modules parsed, the BTF bytes and the warnings on stderr.
pub fn print(report: &Report) {
    for module in &report.modules {
        let reason = module
            .reason
            .as_ref()
            .map_or("?".to_string(), ToString::to_string);
        match &module.error {
            None => eprintln!("module {} parsed ({reason})", module.name),
            Some(error) => eprintln!("module {} failed ({reason}): {error}", module.name),
        }
    }
    eprintln!(
        "BTF bytes: {} mapped, {} read, {} in memory",
        report.bytes_mapped, report.bytes_read, report.bytes_in_memory
    );
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
}
