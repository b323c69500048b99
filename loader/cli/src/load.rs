//! `core-reloc load`: relocate, load every program the kernel can take without attach
//! information, and the BTF-typed programs on module functions or calling module kfuncs
//! (attaching the tracing ones), report each and where it attached, then unload.

use aya::programs::{
    BtfTracePoint, FEntry, FExit, KProbe, PerfEvent, Program, RawTracePoint, SchedClassifier,
    SocketFilter, TracePoint, Xdp,
};
use core_reloc_loader::{BtfProgram, LoadError, Loader, ModuleEbpf, Report};

use crate::args::LoadArgs;
use crate::error::{CliError, chain};
use crate::{out, summary, target};

/// Loads the object's programs into the running kernel and unloads them.
pub fn run(args: &LoadArgs) -> Result<(), CliError> {
    let loader = target::loader(&args.target)?;
    let bytes = target::read(&args.object)?;
    let mut loaded = loader.load_module_aware(&bytes, &mut aya::EbpfLoader::new())?;
    summary::print(&loaded.report);
    out::line(format_args!(
        "{} relocations applied",
        loaded.report.fixups.len()
    ))?;
    let names: Vec<String> = loaded
        .ebpf
        .programs()
        .map(|(name, _)| name.to_string())
        .collect();
    let mut failed = 0;
    for attachment in loaded.attachments.clone() {
        match attach(&mut loaded, &attachment.program) {
            Ok(true) => out::line(format_args!("program {attachment}: loaded, attached"))?,
            Ok(false) => out::line(format_args!("program {attachment}: loaded"))?,
            Err(error) => {
                failed += 1;
                out::line(format_args!(
                    "program {attachment}: loaded, attach failed: {}",
                    chain(&error)
                ))?;
            }
        }
    }
    // aya's copies of the programs loaded above are not loaded again.
    let here: Vec<String> = loaded
        .attachments
        .iter()
        .map(|attachment| attachment.program.clone())
        .collect();
    let ModuleEbpf {
        mut ebpf, report, ..
    } = loaded;
    for name in names.iter().filter(|name| !here.contains(name)) {
        match load_program(&mut ebpf, &report, name) {
            Ok(Some(kind)) => out::line(format_args!("program {name} ({kind}): loaded"))?,
            Ok(None) => out::line(format_args!(
                "program {name}: not loaded here (it needs attach information)"
            ))?,
            Err(error) => {
                failed += 1;
                out::line(format_args!("program {name}: {}", chain(&error)))?;
            }
        }
    }
    drop(ebpf);
    out::line("unloaded")?;
    if failed > 0 {
        return Err(CliError::ProgramsFailed {
            failed,
            programs: names.len(),
        });
    }
    Ok(())
}

/// Attaches a tracing program the loader loaded on a module function (true); xdp and tc
/// programs need an interface and are only loaded (false).
fn attach(loaded: &mut ModuleEbpf, name: &str) -> Result<bool, aya::programs::ProgramError> {
    let Some(program) = loaded.program_mut(name) else {
        return Ok(false);
    };
    match program {
        BtfProgram::FEntry(program) => attach_link(FEntry::attach(program)),
        BtfProgram::FExit(program) | BtfProgram::FModRet(program) => {
            attach_link(FExit::attach(program))
        }
        BtfProgram::BtfTracePoint(program) => attach_link(BtfTracePoint::attach(program)),
        _ => Ok(false),
    }
}

fn attach_link<T>(
    result: Result<T, aya::programs::ProgramError>,
) -> Result<bool, aya::programs::ProgramError> {
    result.map(|_| true)
}

/// Loads a program whose type needs nothing but its bytes; `None` for types that need attach
/// information (BTF ids, cgroups, ...), which only the user's program has.
fn load_program(
    ebpf: &mut aya::Ebpf,
    report: &Report,
    name: &str,
) -> Result<Option<&'static str>, LoadError> {
    let kind = match ebpf.program(name) {
        Some(Program::KProbe(_)) => "kprobe",
        Some(Program::TracePoint(_)) => "tracepoint",
        Some(Program::RawTracePoint(_)) => "raw tracepoint",
        Some(Program::SocketFilter(_)) => "socket filter",
        Some(Program::Xdp(_)) => "xdp",
        Some(Program::SchedClassifier(_)) => "tc classifier",
        Some(Program::PerfEvent(_)) => "perf event",
        _ => return Ok(None),
    };
    match kind {
        "kprobe" => Loader::load_program(ebpf, report, name, |p: &mut KProbe| p.load()),
        "tracepoint" => Loader::load_program(ebpf, report, name, |p: &mut TracePoint| p.load()),
        "raw tracepoint" => {
            Loader::load_program(ebpf, report, name, |p: &mut RawTracePoint| p.load())
        }
        "socket filter" => {
            Loader::load_program(ebpf, report, name, |p: &mut SocketFilter| p.load())
        }
        "xdp" => Loader::load_program(ebpf, report, name, |p: &mut Xdp| p.load()),
        "tc classifier" => {
            Loader::load_program(ebpf, report, name, |p: &mut SchedClassifier| p.load())
        }
        _ => Loader::load_program(ebpf, report, name, |p: &mut PerfEvent| p.load()),
    }?;
    Ok(Some(kind))
}
