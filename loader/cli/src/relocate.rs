//! `core-reloc relocate`: write the relocated object.

use crate::args::RelocateArgs;
use crate::error::CliError;
use crate::{summary, target};

/// Relocates the object and writes it to `--output`.
pub fn run(args: &RelocateArgs) -> Result<(), CliError> {
    let loader = target::loader(&args.target)?;
    let bytes = target::read(&args.object)?;
    let relocated = loader.relocate(&bytes)?;
    std::fs::write(&args.output, &relocated.bytes).map_err(|source| CliError::Write {
        path: args.output.clone(),
        source,
    })?;
    summary::print(&relocated.report);
    eprintln!(
        "{} relocations applied, written to {}",
        relocated.report.fixups.len(),
        args.output.display()
    );
    Ok(())
}
