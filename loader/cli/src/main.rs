//! `core-reloc`: explain, apply or load the CO-RE relocations of an eBPF object.
//!
//! It runs exactly the relocation the `core-reloc-loader` library performs, so what it prints
//! is what a program loaded with `Loader` gets. Exit status: 0 success, 1 a relocation or a
//! load was refused, 2 a usage error or an unreadable input.

mod args;
mod btf_args;
mod btf_cmd;
mod error;
mod explain;
mod json;
mod load;
mod out;
mod relocate;
mod summary;
mod target;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::error::{CliError, chain};

fn main() -> ExitCode {
    // clap prints --help and --version on stdout (exit 0) and usage errors on stderr (exit 2).
    let cli = Cli::parse();
    init_logger(cli.verbose);
    let json = matches!(&cli.command, Command::Explain(args) if args.json);
    let result = match &cli.command {
        Command::Explain(args) => explain::run(args),
        Command::Relocate(args) => relocate::run(args),
        Command::Load(args) => load::run(args),
        Command::Btf(args) => btf_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): what it wanted was printed.
        Err(error) if error.is_closed_pipe() => ExitCode::SUCCESS,
        Err(error) => {
            report_error(&error, json);
            ExitCode::from(error.exit_code())
        }
    }
}

/// Library and aya messages go to stderr: warnings by default, more with -v, or as RUST_LOG says.
fn init_logger(verbose: u8) {
    let level = match verbose {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Info,
        2 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    env_logger::Builder::new()
        .filter_level(level)
        .parse_default_env()
        .format_timestamp(None)
        .init();
}

/// The error on stderr; with `--json`, also the JSON error object on stdout.
fn report_error(error: &CliError, json: bool) {
    if json {
        // If stdout is gone, stderr below still says what failed.
        let _ = json::print_line(&json::ErrorJson::from(error));
    }
    eprintln!("core-reloc: {}", chain(error));
}
