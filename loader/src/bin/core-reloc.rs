//! `core-reloc`: explain, apply or load the CO-RE relocations of an eBPF object.
//!
//! It runs exactly the relocation the `loader` library performs, so what it prints is what
//! a program loaded with `Loader` gets.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use core_reloc::composite::CompositeBtf;
use core_reloc_loader::{BtfSource, FixupReport, Loader, ModuleSearch, Report};

const USAGE: &str = "\
usage: core-reloc [OPTIONS] <COMMAND>

commands:
  explain OBJ [--json]     one line per CO-RE relocation (JSON objects with --json)
  relocate OBJ -o OUT      write the relocated object
  load OBJ                 load into the running kernel, report, then unload

options:
  --btf PATH               vmlinux BTF (default /sys/kernel/btf/vmlinux, modules on demand
                           from /sys/kernel/btf); with a custom vmlinux, modules come only
                           from --module NAME=PATH
  --btf-dir DIR            a directory laid out like /sys/kernel/btf
  --module NAME[=PATH]     search this module's BTF (repeatable)
  --module-search MODE     default | attach-targets | misses | off | all
  --strict                 warnings are errors
";

struct Options {
    command: String,
    object: PathBuf,
    output: Option<PathBuf>,
    json: bool,
    btf: Option<PathBuf>,
    btf_dir: Option<PathBuf>,
    modules: Vec<(String, Option<PathBuf>)>,
    search: ModuleSearch,
    strict: bool,
}

fn parse_args(args: Vec<String>) -> Result<Options, String> {
    let mut args = args.into_iter();
    let mut positional = Vec::new();
    let mut options = Options {
        command: String::new(),
        object: PathBuf::new(),
        output: None,
        json: false,
        btf: None,
        btf_dir: None,
        modules: Vec::new(),
        search: ModuleSearch::default(),
        strict: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--json" => options.json = true,
            "--strict" => options.strict = true,
            "-o" | "--output" => options.output = Some(value("-o")?.into()),
            "--btf" => options.btf = Some(value("--btf")?.into()),
            "--btf-dir" => options.btf_dir = Some(value("--btf-dir")?.into()),
            "--module" => {
                let module = value("--module")?;
                options.modules.push(match module.split_once('=') {
                    Some((name, path)) => (name.to_string(), Some(path.into())),
                    None => (module, None),
                });
            }
            "--module-search" => {
                options.search = match value("--module-search")?.as_str() {
                    "default" => ModuleSearch::AttachTargetsAndMisses,
                    "attach-targets" => ModuleSearch::AttachTargets,
                    "misses" => ModuleSearch::Misses,
                    "off" => ModuleSearch::Off,
                    "all" => ModuleSearch::All,
                    other => return Err(format!("unknown module search mode {other:?}")),
                }
            }
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    options.command = positional.next().ok_or("missing command")?;
    options.object = positional.next().ok_or("missing object file")?.into();
    if let Some(extra) = positional.next() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    if options.command == "relocate" && options.output.is_none() {
        return Err("relocate needs -o OUT".into());
    }
    if options.btf.is_some() && options.btf_dir.is_some() {
        return Err("--btf and --btf-dir exclude each other".into());
    }
    Ok(options)
}

fn loader(options: &Options) -> Result<Loader, String> {
    let mut loader = Loader::new()
        .module_search(options.search)
        .strict(options.strict);
    if let Some(dir) = &options.btf_dir {
        loader = loader.btf_directory(dir);
    } else if let Some(vmlinux) = &options.btf {
        let read =
            |path: &PathBuf| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
        let mut modules = Vec::new();
        for (name, path) in &options.modules {
            let path = path
                .as_ref()
                .ok_or_else(|| format!("--module {name} needs =PATH when --btf is given"))?;
            modules.push((name.clone(), read(path)?));
        }
        let composite = CompositeBtf::from_blobs(read(vmlinux)?, modules).map_err(|e| chain(&e))?;
        loader = loader.btf_source(BtfSource::Composite(Arc::new(composite)));
    } else if options.modules.iter().any(|(_, path)| path.is_some()) {
        return Err("--module NAME=PATH needs --btf (the vmlinux those modules split on)".into());
    }
    for (name, _) in &options.modules {
        loader = loader.with_module_btf(name);
    }
    if options.btf.is_some() || options.btf_dir.is_some() {
        // Offline BTF: the running kernel's symbols say nothing about it.
        loader = loader.kallsyms(core_reloc_loader::KallsymsSource::None);
    }
    Ok(loader)
}

/// An error and its sources, `outer: inner: innermost`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn fixup_json(fixup: &FixupReport) -> String {
    let target = match &fixup.target {
        Some(target) => format!(
            "{{\"btf\":{},\"id\":{}}}",
            json_string(target.origin.name()),
            target.id.0
        ),
        None => "null".into(),
    };
    let new = fixup.new.map_or("null".to_string(), |new| new.to_string());
    format!(
        "{{\"section\":{},\"insn\":{},\"kind\":{},\"local_type\":{},\"spec\":{},\"access\":{},\"target\":{},\"old\":{},\"new\":{},\"poisoned\":{}}}",
        json_string(&fixup.section),
        fixup.insn,
        json_string(fixup.kind.name()),
        json_string(&fixup.local_type.to_string()),
        json_string(&fixup.spec.to_string()),
        json_string(&fixup.access.to_string()),
        target,
        fixup.old,
        new,
        fixup.poisoned()
    )
}

fn print_summary(report: &Report) {
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

fn run(options: Options) -> Result<(), String> {
    let loader = loader(&options)?;
    let bytes =
        std::fs::read(&options.object).map_err(|e| format!("{}: {e}", options.object.display()))?;
    match options.command.as_str() {
        "explain" => {
            let relocated = loader.relocate(&bytes).map_err(|e| chain(&e))?;
            for fixup in &relocated.report.fixups {
                if options.json {
                    println!("{}", fixup_json(fixup));
                } else {
                    println!("{fixup}");
                }
            }
            if !options.json {
                print_summary(&relocated.report);
            }
            Ok(())
        }
        "relocate" => {
            let relocated = loader.relocate(&bytes).map_err(|e| chain(&e))?;
            let output = options.output.as_ref().expect("checked by parse_args");
            std::fs::write(output, &relocated.bytes)
                .map_err(|e| format!("{}: {e}", output.display()))?;
            print_summary(&relocated.report);
            eprintln!(
                "{} relocations applied, written to {}",
                relocated.report.fixups.len(),
                output.display()
            );
            Ok(())
        }
        "load" => {
            let (mut ebpf, report) = loader
                .load_with(&bytes, &mut aya::EbpfLoader::new())
                .map_err(|e| chain(&e))?;
            print_summary(&report);
            println!("{} relocations applied", report.fixups.len());
            let names: Vec<String> = ebpf.programs().map(|(name, _)| name.to_string()).collect();
            let mut failures = 0;
            for name in names {
                match load_program(&mut ebpf, &report, &name) {
                    Ok(Some(kind)) => println!("program {name} ({kind}): loaded"),
                    Ok(None) => {
                        println!("program {name}: not loaded here (it needs attach information)")
                    }
                    Err(error) => {
                        failures += 1;
                        println!("program {name}: {}", chain(&error));
                    }
                }
            }
            drop(ebpf);
            println!("unloaded");
            if failures > 0 {
                return Err(format!("{failures} program(s) failed to load"));
            }
            Ok(())
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Loads a program whose type needs nothing but its bytes; `None` for types that need attach
/// information (BTF ids, cgroups, ...), which only the user's program has.
fn load_program(
    ebpf: &mut aya::Ebpf,
    report: &Report,
    name: &str,
) -> Result<Option<&'static str>, core_reloc_loader::LoadError> {
    use aya::programs::{
        KProbe, PerfEvent, Program, RawTracePoint, SchedClassifier, SocketFilter, TracePoint, Xdp,
    };
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

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1).collect()) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("core-reloc: {message}");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("core-reloc: {message}");
            ExitCode::FAILURE
        }
    }
}
