//! `core-reloc explain`: every relocation as the loader resolves it, in text or JSON.

use crate::args::ExplainArgs;
use crate::error::CliError;
use crate::json::{RelocationJson, SummaryJson, print_line};
use crate::{out, summary, target};

/// Relocates the object and prints each relocation (and, in JSON, a summary object).
pub fn run(args: &ExplainArgs) -> Result<(), CliError> {
    let loader = target::loader(&args.target)?;
    let bytes = target::read(&args.object)?;
    let relocated = loader.relocate(&bytes)?;
    let report = &relocated.report;
    if args.json {
        for fixup in &report.fixups {
            print_line(&RelocationJson::from(fixup))?;
        }
        print_line(&SummaryJson::from(report))?;
    } else {
        for fixup in &report.fixups {
            out::line(fixup)?;
        }
        summary::print(report);
    }
    Ok(())
}
