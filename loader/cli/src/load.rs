//! `core-reloc load`: relocate, load every program the kernel can take without attach
//! information, report each, then unload.

use aya::programs::{
    KProbe, PerfEvent, Program, RawTracePoint, SchedClassifier, SocketFilter, TracePoint, Xdp,
};
use core_reloc_loader::{LoadError, Loader, Report};

use crate::args::LoadArgs;
use crate::error::{CliError, chain};
use crate::{out, summary, target};

/// Loads the object's programs into the running kernel and unloads them.
pub fn run(args: &LoadArgs) -> Result<(), CliError> {
    let loader = target::loader(&args.target)?;
    let bytes = target::read(&args.object)?;
    let (mut ebpf, report) = loader.load_with(&bytes, &mut aya::EbpfLoader::new())?;
    summary::print(&report);
    out::line(format_args!("{} relocations applied", report.fixups.len()))?;
    let names: Vec<String> = ebpf.programs().map(|(name, _)| name.to_string()).collect();
    let mut failed = 0;
    for name in &names {
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
