//! Loading the programs aya 0.16 cannot load: BTF-typed tracing programs whose target is a
//! module function, and programs that call module kfuncs or read typed `__ksym` variables of
//! modules.
//!
//! aya still does everything else: it parses the object, creates the maps and loads the other
//! programs ([`aya::Ebpf`]). For the programs listed here the loader repeats aya's link step
//! with aya-obj on the same relocated object (map fds taken from that `aya::Ebpf`, so maps are
//! shared), patches kfunc calls and ksym loads with module BTF ids, and issues `BPF_PROG_LOAD`
//! itself with `attach_btf_obj_fd` and `fd_array` ([`crate::sys`]). The loaded program is
//! handed back as aya's own type through `from_program_info`, attachable the usual way.

use std::collections::{BTreeSet, HashMap};
use std::ffi::CString;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use aya::programs::{BtfTracePoint, FEntry, FExit, ProgramInfo, SchedClassifier, Xdp};
use aya_obj::generated::{bpf_insn, bpf_prog_type};
use core_reloc::btf::Kind;
use core_reloc::composite::CompositeBtf;
use core_reloc::origin::BtfOrigin;
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionKind, SymbolSection};

use crate::btf_attach::{
    KernelBtfId, ResolveError, TracingKind, check_kfunc_prototype, resolve_kernel_symbol,
    resolve_tracing_target, tracing_target,
};
use crate::fmod_ret::disguise_as_fexit;
use crate::sys::{self, LoadFailure, ProgramBtf, ProgramLoad, SyscallError};

/// Why a module-attached or module-kfunc program could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleLoadError {
    /// A program's attach target has no BTF id (module not loaded, no BTF, no such function).
    #[error("section {section}: attach target: {source}")]
    Target {
        /// The program section.
        section: String,
        /// Why.
        #[source]
        source: ResolveError,
    },
    /// A kfunc or typed ksym the object uses has no BTF id, and the extern is not weak.
    #[error("kernel symbol {name}: {source}")]
    Symbol {
        /// The extern's name.
        name: String,
        /// Why.
        #[source]
        source: ResolveError,
    },
    /// The running kernel has no BTF object of that module (the BTF read was offline, or the
    /// module was unloaded since).
    #[error("the kernel has no BTF object named {module}")]
    NoKernelBtfObject {
        /// The module.
        module: String,
    },
    /// A bpf(2) command failed.
    #[error(transparent)]
    Syscall(#[from] SyscallError),
    /// aya-obj could not parse or link the relocated object.
    #[error("aya-obj {step}: {reason}")]
    Link {
        /// parse, map relocation, call relocation or BTF sanitizing.
        step: &'static str,
        /// aya-obj's error, printed.
        reason: String,
    },
    /// The program's BTF was refused by the kernel.
    #[error("program BTF: {0}")]
    Btf(#[source] LoadFailure),
    /// The verifier refused the program.
    #[error("program {program}: {source}")]
    Program {
        /// The program's name.
        program: String,
        /// The kernel's error and verifier log.
        #[source]
        source: LoadFailure,
    },
    /// The program type cannot be loaded through this path.
    #[error(
        "program {program} in {section}: only fentry, fexit, tp_btf, xdp and classifier programs can use module BTF"
    )]
    UnsupportedProgram {
        /// The program's name.
        program: String,
        /// Its section.
        section: String,
    },
    /// aya could not wrap the loaded program.
    #[error("program {program}: aya from_program_info: {source}")]
    Wrap {
        /// The program's name.
        program: String,
        /// aya's error.
        #[source]
        source: aya::programs::ProgramError,
    },
}

/// A program loaded by the loader itself, as the aya type it is.
///
/// ```no_run
/// # fn f(loaded: &mut core_reloc_loader::ModuleEbpf) -> Result<(), Box<dyn std::error::Error>> {
/// let fentry: &mut aya::programs::FEntry = loaded.program_mut("on_getattr").unwrap().try_into()?;
/// fentry.attach()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum BtfProgram {
    /// `fentry/`.
    FEntry(FEntry),
    /// `fexit/`.
    FExit(FExit),
    /// `fmod_ret/`, loaded with `BPF_MODIFY_RETURN`. aya 0.16 has no modify-return type; its
    /// `FExit` attaches this program as the kernel loaded it (`BPF_RAW_TRACEPOINT_OPEN` takes
    /// the attach type from the program), so `&mut FExit` converts from this variant too.
    FModRet(FExit),
    /// `tp_btf/`.
    BtfTracePoint(BtfTracePoint),
    /// `xdp` calling module kfuncs.
    Xdp(Xdp),
    /// `classifier` (tc) calling module kfuncs.
    SchedClassifier(SchedClassifier),
}

macro_rules! try_from_btf_program {
    ($($variant:ident),+) => {$(
        impl<'a> TryFrom<&'a mut BtfProgram> for &'a mut $variant {
            type Error = aya::programs::ProgramError;
            fn try_from(program: &'a mut BtfProgram) -> Result<Self, Self::Error> {
                match program {
                    BtfProgram::$variant(program) => Ok(program),
                    _ => Err(aya::programs::ProgramError::UnexpectedProgramType),
                }
            }
        }
    )+};
}
try_from_btf_program!(FEntry, BtfTracePoint, Xdp, SchedClassifier);

impl<'a> TryFrom<&'a mut BtfProgram> for &'a mut FExit {
    type Error = aya::programs::ProgramError;
    fn try_from(program: &'a mut BtfProgram) -> Result<Self, Self::Error> {
        match program {
            BtfProgram::FExit(program) | BtfProgram::FModRet(program) => Ok(program),
            _ => Err(aya::programs::ProgramError::UnexpectedProgramType),
        }
    }
}

/// Where a program loaded by the loader attaches, and which kernel symbols it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The program's name.
    pub program: String,
    /// Its section.
    pub section: String,
    /// The attach target's name and BTF id (`None` for xdp/tc programs).
    pub target: Option<(String, KernelBtfId)>,
    /// kfuncs and ksyms the program uses, with their BTF ids (`None`: weak and absent).
    pub symbols: Vec<(String, Option<KernelBtfId>)>,
}

impl fmt::Display for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.program, self.section)?;
        if let Some((name, id)) = &self.target {
            write!(f, " -> {name} [{} id {}]", id.origin, id.id.0)?;
        }
        for (name, id) in &self.symbols {
            match id {
                Some(id) => write!(f, ", uses {name} [{} id {}]", id.origin, id.id.0)?,
                None => write!(f, ", uses {name} [absent, weak]")?,
            }
        }
        Ok(())
    }
}

/// An object loaded with module-aware attach: aya's `Ebpf` (maps, other programs) and the
/// programs the loader loaded itself, sharing those maps.
#[derive(Debug)]
pub struct ModuleEbpf {
    /// Maps and every program aya loads (aya's copies of the programs below are not loaded
    /// and must not be: use [`ModuleEbpf::program_mut`]).
    pub ebpf: aya::Ebpf,
    /// The CO-RE report.
    pub report: crate::Report,
    /// What each loaded program attaches to.
    pub attachments: Vec<Attachment>,
    programs: HashMap<String, BtfProgram>,
}

impl ModuleEbpf {
    /// A program the loader loaded (module target or module kfunc), by name.
    ///
    /// ```no_run
    /// # fn f(loaded: &mut core_reloc_loader::ModuleEbpf) {
    /// assert!(loaded.program_mut("no_such_program").is_none());
    /// # }
    /// ```
    pub fn program_mut(&mut self, name: &str) -> Option<&mut BtfProgram> {
        self.programs.get_mut(name)
    }

    /// Names of the programs the loader loaded.
    ///
    /// ```no_run
    /// # fn f(loaded: &core_reloc_loader::ModuleEbpf) {
    /// for name in loaded.program_names() { println!("{name}"); }
    /// # }
    /// ```
    pub fn program_names(&self) -> impl Iterator<Item = &str> {
        self.programs.keys().map(String::as_str)
    }
}

/// One relocation against an undefined symbol (a kfunc call or a ksym load).
#[derive(Debug, Clone)]
struct ExternSite {
    section: usize,
    offset: u64,
    name: String,
}

#[derive(Debug, Clone)]
struct ExternInfo {
    symbol_index: usize,
    is_call: bool,
    weak: bool,
    resolved: Option<KernelBtfId>,
}

/// What the object needs from module BTF, found before anything is loaded.
#[derive(Debug, Default)]
struct Plan {
    /// Program section index -> its tracing target resolved in a module.
    targets: HashMap<usize, (String, KernelBtfId)>,
    externs: HashMap<String, ExternInfo>,
    sites: Vec<ExternSite>,
    /// Program sections that must be loaded here.
    sections: BTreeSet<usize>,
}

const CALL: u8 = 0x85;
const LD_IMM64: u8 = 0x18;
const PSEUDO_KFUNC_CALL: u8 = 2;
const PSEUDO_BTF_ID: u8 = 3;
/// What aya-obj writes for an absent weak kfunc, so both paths poison alike.
const POISON_KFUNC_BASE: i32 = 2_002_000_000;

fn plan(bytes: &[u8], composite: &CompositeBtf, kallsyms: &str) -> Result<Plan, ModuleLoadError> {
    let link = |reason: object::Error| ModuleLoadError::Link {
        step: "parse",
        reason: reason.to_string(),
    };
    let file = object::File::parse(bytes).map_err(link)?;
    let mut plan = Plan::default();
    let mut program_sections = Vec::new();
    let mut text_sections = Vec::new();
    for section in file.sections() {
        if section.kind() != SectionKind::Text {
            continue;
        }
        let name = section.name().unwrap_or("");
        if name == ".text" {
            text_sections.push(section.index().0);
        } else {
            program_sections.push(section.index().0);
        }
        if let Some(target) = tracing_target(name) {
            let found = resolve_tracing_target(composite, kallsyms, &target).map_err(|source| {
                ModuleLoadError::Target {
                    section: name.to_string(),
                    source,
                }
            })?;
            // aya cannot load fmod_ret at all; fentry/fexit/tp_btf on vmlinux it can.
            if matches!(found.origin, BtfOrigin::Module(_)) || target.kind == TracingKind::FModRet {
                plan.sections.insert(section.index().0);
                plan.targets
                    .insert(section.index().0, (target.btf_name(), found));
            }
        }
        let data = section.data().map_err(link)?;
        for (offset, relocation) in section.relocations() {
            let RelocationTarget::Symbol(index) = relocation.target() else {
                continue;
            };
            let Ok(symbol) = file.symbol_by_index(index) else {
                continue;
            };
            if symbol.section() != SymbolSection::Undefined {
                continue;
            }
            let Ok(name) = symbol.name() else { continue };
            if name.is_empty() {
                continue;
            }
            let code = data.get(offset as usize).copied().unwrap_or(0);
            plan.sites.push(ExternSite {
                section: section.index().0,
                offset,
                name: name.to_string(),
            });
            plan.externs.entry(name.to_string()).or_insert(ExternInfo {
                symbol_index: index.0,
                is_call: code == CALL,
                weak: symbol.is_weak(),
                resolved: None,
            });
        }
    }
    // The object's own BTF, for the kfunc prototype check.
    let object = core_reloc::object::BpfObject::parse(bytes).ok();
    let local = object
        .as_ref()
        .and_then(|object| core_reloc::pipeline::local_btf(object).ok());
    let mut module_sections = BTreeSet::new();
    for (name, info) in &mut plan.externs {
        let kind = if info.is_call { Kind::Func } else { Kind::Var };
        let resolved = resolve_kernel_symbol(composite, kallsyms, name, kind).and_then(|found| {
            match (&local, info.is_call) {
                (Some(local), true) => {
                    check_kfunc_prototype(local, name, composite, &found).map(|()| found)
                }
                _ => Ok(found),
            }
        });
        match resolved {
            Ok(found) => info.resolved = Some(found),
            Err(_) if info.weak => {}
            Err(source) => {
                return Err(ModuleLoadError::Symbol {
                    name: name.clone(),
                    source,
                });
            }
        }
        if matches!(
            info.resolved,
            Some(KernelBtfId {
                origin: BtfOrigin::Module(_),
                ..
            })
        ) {
            module_sections.extend(
                plan.sites
                    .iter()
                    .filter(|site| &site.name == name)
                    .map(|site| site.section),
            );
        }
    }
    for section in module_sections {
        if text_sections.contains(&section) {
            // A subprogram uses the module symbol: any program may link it in.
            plan.sections.extend(program_sections.iter().copied());
        } else {
            plan.sections.insert(section);
        }
    }
    Ok(plan)
}

/// The object aya gets: externs resolved in modules are made weak, so aya (which resolves
/// against vmlinux only) poisons its own, unused, copy instead of refusing the object.
fn weaken_module_externs(bytes: &[u8], plan: &Plan) -> Result<Vec<u8>, ModuleLoadError> {
    let mut out = bytes.to_vec();
    let file = object::File::parse(bytes).map_err(|error| ModuleLoadError::Link {
        step: "parse",
        reason: error.to_string(),
    })?;
    let Some(symtab) = file.section_by_name(".symtab") else {
        return Ok(out);
    };
    let Some((start, size)) = symtab.file_range() else {
        return Ok(out);
    };
    // Elf64_Sym: st_name u32, st_info u8, ...; 24 bytes each.
    const ENTRY: u64 = 24;
    const STB_WEAK: u8 = 2;
    for info in plan.externs.values() {
        if !matches!(
            info.resolved,
            Some(KernelBtfId {
                origin: BtfOrigin::Module(_),
                ..
            })
        ) {
            continue;
        }
        let at = info.symbol_index as u64 * ENTRY + 4;
        if at < size {
            let byte = &mut out[(start + at) as usize];
            *byte = (STB_WEAK << 4) | (*byte & 0x0f);
        }
    }
    Ok(out)
}

/// What [`load`] would load itself, and against which BTF ids, without loading anything.
pub(crate) fn planned(
    bytes: &[u8],
    composite: &CompositeBtf,
    kallsyms: &str,
) -> Result<Vec<Attachment>, ModuleLoadError> {
    let plan = plan(bytes, composite, kallsyms)?;
    let file = object::File::parse(bytes).map_err(|error| ModuleLoadError::Link {
        step: "parse",
        reason: error.to_string(),
    })?;
    let sections = section_names(bytes);
    let mut attachments: Vec<Attachment> = file
        .symbols()
        .filter(|symbol| symbol.kind() == object::SymbolKind::Text && symbol.is_global())
        .filter_map(|symbol| {
            let section = symbol.section_index()?.0;
            plan.sections.contains(&section).then(|| Attachment {
                program: symbol.name().unwrap_or("").to_string(),
                section: sections.get(&section).cloned().unwrap_or_default(),
                target: plan.targets.get(&section).cloned(),
                symbols: symbols_of(&plan.sites, &plan.externs, section),
            })
        })
        .collect();
    attachments.sort_by(|a, b| a.program.cmp(&b.program));
    Ok(attachments)
}

/// Relocates (CO-RE), loads with aya, then loads the module-bound programs here.
pub(crate) fn load(
    relocated: crate::RelocatedObject,
    composite: &CompositeBtf,
    kallsyms: &str,
    aya_loader: &mut aya::EbpfLoader<'_>,
) -> Result<ModuleEbpf, crate::LoadError> {
    let plan = plan(&relocated.bytes, composite, kallsyms)?;
    let disguised = disguise_as_fexit(&relocated.bytes).map_err(|error| ModuleLoadError::Link {
        step: "parse",
        reason: error.to_string(),
    })?;
    let aya_bytes = weaken_module_externs(&disguised, &plan)?;
    let ebpf = aya_loader.load(&aya_bytes)?;
    let mut loaded = ModuleEbpf {
        ebpf,
        report: relocated.report,
        attachments: Vec::new(),
        programs: HashMap::new(),
    };
    if plan.sections.is_empty() {
        return Ok(loaded);
    }
    load_here(&relocated.bytes, &disguised, &plan, composite, &mut loaded)?;
    Ok(loaded)
}

fn module_fd<'a>(
    fds: &'a mut HashMap<String, OwnedFd>,
    module: &str,
) -> Result<&'a OwnedFd, ModuleLoadError> {
    if !fds.contains_key(module) {
        let object =
            sys::kernel_btf_object(module)?.ok_or_else(|| ModuleLoadError::NoKernelBtfObject {
                module: module.to_string(),
            })?;
        fds.insert(module.to_string(), object.fd);
    }
    Ok(&fds[module])
}

/// Loads the planned programs of `bytes`; aya-obj parses `disguised`, the same object with
/// its fmod_ret sections named fexit (see [`crate::fmod_ret`]).
fn load_here(
    bytes: &[u8],
    disguised: &[u8],
    plan: &Plan,
    composite: &CompositeBtf,
    loaded: &mut ModuleEbpf,
) -> Result<(), ModuleLoadError> {
    let link = |step: &'static str| {
        move |error: &dyn std::error::Error| ModuleLoadError::Link {
            step,
            reason: error.to_string(),
        }
    };
    let mut obj = aya_obj::Object::parse(disguised).map_err(|e| link("parse")(&e))?;

    // Module BTF fds: held open until every program is loaded (ksym loads carry the raw fd).
    let mut fds: HashMap<String, OwnedFd> = HashMap::new();
    let mut fd_array: Vec<RawFd> = vec![0];
    let mut fd_index: HashMap<String, i16> = HashMap::new();
    let mut modules: BTreeSet<String> = BTreeSet::new();
    for info in plan.externs.values() {
        if let Some(KernelBtfId {
            origin: BtfOrigin::Module(module),
            ..
        }) = &info.resolved
        {
            modules.insert(module.to_string());
        }
    }
    for (_, target) in plan.targets.values() {
        if let BtfOrigin::Module(module) = &target.origin {
            modules.insert(module.to_string());
        }
    }
    for module in &modules {
        let fd = module_fd(&mut fds, module)?.as_raw_fd();
        fd_index.insert(module.clone(), fd_array.len() as i16);
        fd_array.push(fd);
    }

    // Kfunc calls and ksym loads, patched before linking copies the functions.
    let names: Vec<String> = plan.externs.keys().cloned().collect();
    for function in obj.functions.values_mut() {
        let start = function.section_offset as u64;
        let end = start + (function.instructions.len() * 8) as u64;
        for site in &plan.sites {
            if site.section != function.section_index.0 || site.offset < start || site.offset >= end
            {
                continue;
            }
            let index = ((site.offset - start) / 8) as usize;
            let info = &plan.externs[&site.name];
            let position = names
                .iter()
                .position(|name| name == &site.name)
                .unwrap_or(0);
            patch_extern(
                &mut function.instructions,
                index,
                info,
                position,
                &fd_index,
                &fds,
            );
        }
    }

    let text_sections = obj.functions.keys().map(|(section, _)| *section).collect();
    let map_fds: Vec<(String, RawFd)> = loaded
        .ebpf
        .maps()
        .filter_map(|(name, map)| Some((name.to_string(), map_fd(map)?)))
        .collect();
    // relocate_maps needs `&mut obj`: the map definitions are read from a copy.
    let object_maps = obj.maps.clone();
    let maps = map_fds
        .iter()
        .filter_map(|(name, fd)| Some((name.as_str(), *fd, object_maps.get(name)?)));
    obj.relocate_maps(maps, &text_sections)
        .map_err(|e| link("map relocation")(&e))?;
    obj.relocate_calls(&text_sections)
        .map_err(|e| link("call relocation")(&e))?;

    let vmlinux = composite.vmlinux();
    let has_kind = |kind: Kind| vmlinux.types().any(|ty| ty.kind() == kind);
    let features = [
        (aya_obj::btf::BtfFeature::Float, has_kind(Kind::Float)),
        (aya_obj::btf::BtfFeature::DeclTag, has_kind(Kind::DeclTag)),
        (aya_obj::btf::BtfFeature::TypeTag, has_kind(Kind::TypeTag)),
        (aya_obj::btf::BtfFeature::Enum64, has_kind(Kind::Enum64)),
    ];
    // Kernels with module BTF (5.11+) have the older BTF kinds; the newer ones are probed by
    // what the running kernel's own BTF uses.
    let btf_fd = match obj
        .fixup_and_sanitize_btf(|| {
            Some(move |feature| {
                features
                    .iter()
                    .find(|(known, _)| *known == feature)
                    .is_none_or(|(_, supported)| *supported)
            })
        })
        .map_err(|e| link("BTF sanitizing")(&e))?
    {
        Some(btf) => Some(sys::btf_load(&btf.to_bytes()).map_err(ModuleLoadError::Btf)?),
        None => None,
    };

    let programs: Vec<(String, aya_obj::Program)> = obj
        .programs
        .iter()
        .filter(|(_, program)| plan.sections.contains(&program.section_index))
        .map(|(name, program)| (name.clone(), program.clone()))
        .collect();
    let section_names = section_names(bytes);
    for (name, program) in programs {
        let section = section_names
            .get(&program.section_index)
            .cloned()
            .unwrap_or_default();
        let Some(function) = obj.functions.get(&program.function_key()) else {
            return Err(ModuleLoadError::Link {
                step: "call relocation",
                reason: format!("no function for program {name}"),
            });
        };
        let target = plan.targets.get(&program.section_index);
        let tracing = tracing_target(&section).map(|target| target.kind);
        let (program_type, attach_type) = match (&program.section, tracing) {
            (_, Some(kind)) => (bpf_prog_type::BPF_PROG_TYPE_TRACING, kind.attach_type()),
            (aya_obj::ProgramSection::Xdp { .. }, None) => (bpf_prog_type::BPF_PROG_TYPE_XDP, 0),
            (aya_obj::ProgramSection::SchedClassifier, None) => {
                (bpf_prog_type::BPF_PROG_TYPE_SCHED_CLS, 0)
            }
            _ => {
                return Err(ModuleLoadError::UnsupportedProgram {
                    program: name,
                    section,
                });
            }
        };
        let (attach_btf_obj_fd, attach_btf_id) = match target {
            Some((_, KernelBtfId { origin, id })) => match origin {
                BtfOrigin::Module(module) => (Some(fds[&**module].as_fd()), id.0),
                BtfOrigin::Vmlinux => (None, id.0),
            },
            None => (None, 0),
        };
        let (attach_btf_obj_fd, attach_btf_id) = if target.is_none() && tracing.is_some() {
            // A tracing program loaded here for its kfuncs, attached to a vmlinux function.
            let target = tracing_target(&section).expect("tracing section");
            let found = resolve_tracing_target(composite, "", &target).map_err(|source| {
                ModuleLoadError::Target {
                    section: section.clone(),
                    source,
                }
            })?;
            (None, found.id.0)
        } else {
            (attach_btf_obj_fd, attach_btf_id)
        };
        let func_info = function.func_info.func_info_bytes();
        let line_info = function.line_info.line_info_bytes();
        let license = CString::new(program.license.as_bytes()).unwrap_or_default();
        let fd = sys::program_load(&ProgramLoad {
            name: &name,
            program_type: program_type as u32,
            expected_attach_type: attach_type,
            instructions: &function.instructions,
            license: &license,
            btf: btf_fd.as_ref().map(|fd| ProgramBtf {
                fd: fd.as_fd(),
                func_info: &func_info,
                func_info_count: function.func_info.num_info,
                func_info_size: function.func_info_rec_size as u32,
                line_info: &line_info,
                line_info_count: function.line_info.num_info,
                line_info_size: function.line_info_rec_size as u32,
            }),
            attach_btf_obj_fd,
            attach_btf_id,
            fd_array: &fd_array,
        })
        .map_err(|source| ModuleLoadError::Program {
            program: name.clone(),
            source,
        })?;
        let wrapped = wrap(&name, &program.section, tracing, &fd)?;
        loaded.attachments.push(Attachment {
            program: name.clone(),
            section: section.clone(),
            target: target.cloned(),
            symbols: symbols_of(&plan.sites, &plan.externs, program.section_index),
        });
        loaded.programs.insert(name, wrapped);
    }
    Ok(())
}

fn patch_extern(
    instructions: &mut [bpf_insn],
    index: usize,
    info: &ExternInfo,
    position: usize,
    fd_index: &HashMap<String, i16>,
    fds: &HashMap<String, OwnedFd>,
) {
    let Some(insn) = instructions.get_mut(index) else {
        return;
    };
    if info.is_call {
        match &info.resolved {
            Some(KernelBtfId { origin, id }) => {
                insn.set_src_reg(PSEUDO_KFUNC_CALL);
                insn.imm = id.0 as i32;
                insn.off = match origin {
                    BtfOrigin::Module(module) => fd_index.get(&**module).copied().unwrap_or(0),
                    BtfOrigin::Vmlinux => 0,
                };
            }
            None => {
                insn.set_src_reg(0);
                insn.off = 0;
                insn.imm = POISON_KFUNC_BASE.wrapping_add(position as i32);
            }
        }
        return;
    }
    if insn.code != LD_IMM64 {
        return;
    }
    let next_imm = match &info.resolved {
        Some(KernelBtfId { origin, id }) => {
            insn.set_src_reg(PSEUDO_BTF_ID);
            insn.imm = id.0 as i32;
            match origin {
                BtfOrigin::Module(module) => fds.get(&**module).map_or(0, |fd| fd.as_raw_fd()),
                BtfOrigin::Vmlinux => 0,
            }
        }
        None => {
            insn.set_src_reg(0);
            insn.imm = 0;
            0
        }
    };
    if let Some(next) = instructions.get_mut(index + 1) {
        next.imm = next_imm;
    }
}

fn symbols_of(
    sites: &[ExternSite],
    externs: &HashMap<String, ExternInfo>,
    section: usize,
) -> Vec<(String, Option<KernelBtfId>)> {
    let mut names: Vec<&str> = sites
        .iter()
        .filter(|site| site.section == section)
        .map(|site| site.name.as_str())
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| (name.to_string(), externs[name].resolved.clone()))
        .collect()
}

fn section_names(bytes: &[u8]) -> HashMap<usize, String> {
    object::File::parse(bytes)
        .map(|file| {
            file.sections()
                .filter_map(|section| Some((section.index().0, section.name().ok()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn wrap(
    name: &str,
    section: &aya_obj::ProgramSection,
    tracing: Option<TracingKind>,
    fd: &OwnedFd,
) -> Result<BtfProgram, ModuleLoadError> {
    let wrap_error = |source| ModuleLoadError::Wrap {
        program: name.to_string(),
        source,
    };
    let id = sys::program_id(fd.as_fd())?;
    let info = || -> Result<ProgramInfo, ModuleLoadError> {
        aya::programs::loaded_programs()
            .filter_map(Result::ok)
            .find(|info| info.id() == id)
            .ok_or_else(|| wrap_error(aya::programs::ProgramError::NotLoaded))
    };
    let name = std::borrow::Cow::Owned(name.to_string());
    // SAFETY (the `unsafe` constructors): aya cannot tell fentry from fexit or tp_btf by the
    // program type alone; we loaded this program ourselves with the attach type matching the
    // variant chosen here.
    Ok(match (tracing, section) {
        (Some(TracingKind::FEntry), _) => BtfProgram::FEntry(
            unsafe { FEntry::from_program_info(info()?, name) }.map_err(wrap_error)?,
        ),
        (Some(TracingKind::FExit), _) => BtfProgram::FExit(
            unsafe { FExit::from_program_info(info()?, name) }.map_err(wrap_error)?,
        ),
        (Some(TracingKind::FModRet), _) => BtfProgram::FModRet(
            unsafe { FExit::from_program_info(info()?, name) }.map_err(wrap_error)?,
        ),
        (Some(TracingKind::TpBtf), _) => BtfProgram::BtfTracePoint(
            unsafe { BtfTracePoint::from_program_info(info()?, name) }.map_err(wrap_error)?,
        ),
        (None, aya_obj::ProgramSection::Xdp { attach_type, .. }) => BtfProgram::Xdp(
            Xdp::from_program_info(info()?, name, *attach_type).map_err(wrap_error)?,
        ),
        (None, aya_obj::ProgramSection::SchedClassifier) => BtfProgram::SchedClassifier(
            SchedClassifier::from_program_info(info()?, name).map_err(wrap_error)?,
        ),
        _ => {
            return Err(ModuleLoadError::UnsupportedProgram {
                program: name.into_owned(),
                section: String::new(),
            });
        }
    })
}

/// The fd of an aya map (aya exposes it on `MapData` only).
fn map_fd(map: &aya::maps::Map) -> Option<RawFd> {
    use aya::maps::Map;
    let data = match map {
        Map::Array(data)
        | Map::ArrayOfMaps(data)
        | Map::BloomFilter(data)
        | Map::CgroupArray(data)
        | Map::CgroupStorage(data)
        | Map::CgrpStorage(data)
        | Map::CpuMap(data)
        | Map::DevMap(data)
        | Map::DevMapHash(data)
        | Map::HashMap(data)
        | Map::HashOfMaps(data)
        | Map::InodeStorage(data)
        | Map::LpmTrie(data)
        | Map::LruHashMap(data)
        | Map::PerCpuArray(data)
        | Map::PerCpuCgroupStorage(data)
        | Map::PerCpuHashMap(data)
        | Map::PerCpuLruHashMap(data)
        | Map::PerfEventArray(data)
        | Map::ProgramArray(data)
        | Map::Queue(data)
        | Map::ReusePortSockArray(data)
        | Map::RingBuf(data)
        | Map::SockHash(data)
        | Map::SockMap(data)
        | Map::SkStorage(data)
        | Map::Stack(data)
        | Map::StackTraceMap(data)
        | Map::Unsupported(data)
        | Map::XskMap(data) => data,
    };
    Some(data.fd().as_fd().as_raw_fd())
}
