//! Lines on stdout. A closed pipe (`core-reloc explain ... | head`) ends the command quietly
//! instead of panicking as `println!` does.

use std::io::Write;

use crate::error::CliError;

/// Writes one line on stdout.
pub fn line(text: impl std::fmt::Display) -> Result<(), CliError> {
    writeln!(std::io::stdout().lock(), "{text}").map_err(|source| CliError::Stdout { source })
}
