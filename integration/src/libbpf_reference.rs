//! libbpf 1.7 (vendored by `libbpf-sys`) relocating an object against a target BTF: the
//! reference our relocations are compared with.
//!
//! [`relocate_with_libbpf`] opens the object with `bpf_object__open_file`, pointing
//! `btf_custom_path` at a raw target BTF, and runs `bpf_object__prepare`, which performs every
//! relocation (CO-RE included) without loading programs. It creates the object's maps, so it
//! needs root and BPF.
//!
//! # Mapping a CO-RE site back to libbpf's instructions
//! libbpf gives each program its own instruction array: the program's own instructions first,
//! in section order, then every subprogram it calls (from `.text` or its own section),
//! appended once each. So:
//! - a site at instruction `i` of a program section maps to instruction
//!   `i - section_insn_offset` of the program whose own range
//!   `section_insn_offset..section_insn_offset + own_insn_count` contains `i`;
//! - a site in a subprogram maps to `start + (i - section_insn_offset)` of each
//!   [`AppendedSubprogram`] of each program that calls it.
//!
//! [`LibbpfRelocation::sites`] does this. Appended subprograms are found by following libbpf's
//! relocated BPF-to-BPF calls back to the ELF's call instructions and symbols.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, c_char, c_int};
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SymbolKind};

/// Size of one instruction slot.
const INSN_SIZE: usize = 8;
const CALL: u8 = 0x85; // BPF_JMP | BPF_CALL
const PSEUDO_CALL: u8 = 1; // src_reg of a BPF-to-BPF call

/// A function's code: a range of instructions in an ELF section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRange {
    /// ELF symbol name.
    pub name: String,
    /// ELF section name.
    pub section_name: String,
    /// Instruction index of the first instruction inside the section.
    pub section_insn_offset: usize,
    /// Number of instructions.
    pub insn_count: usize,
}

/// A subprogram libbpf appended to a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendedSubprogram {
    /// Where it comes from in the ELF.
    pub function: FunctionRange,
    /// Index of its first instruction in the program's instruction array.
    pub start: usize,
}

/// One program after libbpf's relocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibbpfProgram {
    /// The program's own code in the ELF (its name is the program's name).
    pub own: FunctionRange,
    /// The relocated instructions, 8 bytes each in host byte order: own code first, then the
    /// appended subprograms.
    pub insns: Vec<u8>,
    /// Subprograms appended after the own code.
    pub subprograms: Vec<AppendedSubprogram>,
}

impl LibbpfProgram {
    /// The program's name.
    pub fn name(&self) -> &str {
        &self.own.name
    }

    /// The program's ELF section name.
    pub fn section_name(&self) -> &str {
        &self.own.section_name
    }

    /// Instruction `index` of the relocated program (8 bytes), if it exists.
    pub fn insn(&self, index: usize) -> Option<[u8; 8]> {
        let start = index.checked_mul(INSN_SIZE)?;
        self.insns.get(start..start + INSN_SIZE)?.try_into().ok()
    }

    /// Number of relocated instructions.
    pub fn insn_count(&self) -> usize {
        self.insns.len() / INSN_SIZE
    }
}

/// Where libbpf put the instruction of one ELF site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibbpfSite<'a> {
    /// The program holding the copy.
    pub program: &'a LibbpfProgram,
    /// Index in the program's instruction array.
    pub insn_index: usize,
}

/// libbpf's result for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibbpfRelocation {
    /// Every program, in libbpf's order.
    pub programs: Vec<LibbpfProgram>,
    /// libbpf's log (every level).
    pub log: String,
}

impl LibbpfRelocation {
    /// The copies of ELF instruction `insn_index` of section `section_name` (one per program
    /// that contains it; a subprogram's instruction appears in every caller).
    pub fn sites(&self, section_name: &str, insn_index: usize) -> Vec<LibbpfSite<'_>> {
        let within = |range: &FunctionRange| {
            range.section_name == section_name
                && (range.section_insn_offset..range.section_insn_offset + range.insn_count)
                    .contains(&insn_index)
        };
        let mut found = Vec::new();
        for program in &self.programs {
            if within(&program.own) {
                found.push(LibbpfSite {
                    program,
                    insn_index: insn_index - program.own.section_insn_offset,
                });
            }
            for sub in &program.subprograms {
                if within(&sub.function) {
                    found.push(LibbpfSite {
                        program,
                        insn_index: sub.start + insn_index - sub.function.section_insn_offset,
                    });
                }
            }
        }
        found
    }
}

/// libbpf refused the object; `log` says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibbpfError {
    /// Which call failed.
    pub stage: &'static str,
    /// The negative errno it returned.
    pub errno: i32,
    /// libbpf's log (every level).
    pub log: String,
}

impl LibbpfError {
    /// The warning lines of the log: libbpf's explanation.
    pub fn warnings(&self) -> impl Iterator<Item = &str> {
        self.log
            .lines()
            .filter_map(|line| line.strip_prefix("warn: "))
    }
}

impl fmt::Display for LibbpfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "libbpf {} failed ({})", self.stage, self.errno)?;
        for line in self.warnings() {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LibbpfError {}

/// libbpf's print callback is process-wide: one relocation at a time.
static LIBBPF: Mutex<()> = Mutex::new(());

thread_local! {
    static LOG: RefCell<String> = const { RefCell::new(String::new()) };
}

unsafe extern "C" {
    fn vsnprintf(
        buf: *mut c_char,
        size: usize,
        format: *const c_char,
        args: *mut libbpf_sys::__va_list_tag,
    ) -> c_int;
}

/// Appends one libbpf message, prefixed by its level, to the calling thread's log.
unsafe extern "C" fn capture_log(
    level: libbpf_sys::libbpf_print_level,
    format: *const c_char,
    args: *mut libbpf_sys::__va_list_tag,
) -> c_int {
    let mut buf = [0 as c_char; 1024];
    // SAFETY: libbpf passes a valid format and its va_list; buf bounds the output.
    let written = unsafe { vsnprintf(buf.as_mut_ptr(), buf.len(), format, args) };
    // SAFETY: vsnprintf always NUL-terminates within buf.len().
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
    let level = match level {
        libbpf_sys::LIBBPF_WARN => "warn",
        libbpf_sys::LIBBPF_INFO => "info",
        _ => "debug",
    };
    LOG.with_borrow_mut(|log| {
        log.push_str(level);
        log.push_str(": ");
        log.push_str(&text);
        if !text.ends_with('\n') {
            log.push('\n');
        }
    });
    written
}

/// Relocates `object` with libbpf 1.7 against the raw BTF at `target_btf`, without loading.
///
/// ```no_run
/// use integration::libbpf_reference::relocate_with_libbpf;
/// let done = relocate_with_libbpf("flavors.bpf.o".as_ref(), "flavors__moved.btf".as_ref())?;
/// for site in done.sites("raw_tp/sys_enter", 45) {
///     println!("{}: {:02x?}", site.program.name(), site.program.insn(site.insn_index));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn relocate_with_libbpf(
    object: &Path,
    target_btf: &Path,
) -> Result<LibbpfRelocation, Box<dyn std::error::Error>> {
    relocate(object, Some(target_btf))
}

/// Relocates `object` with libbpf 1.7 against the running kernel's BTF, searching module BTF
/// as libbpf does (when vmlinux has no candidate), without loading programs.
///
/// ```no_run
/// use integration::libbpf_reference::relocate_with_libbpf_live;
/// let done = relocate_with_libbpf_live("btrfs_getattr.bpf.o".as_ref())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn relocate_with_libbpf_live(
    object: &Path,
) -> Result<LibbpfRelocation, Box<dyn std::error::Error>> {
    relocate(object, None)
}

fn relocate(
    object: &Path,
    target_btf: Option<&Path>,
) -> Result<LibbpfRelocation, Box<dyn std::error::Error>> {
    let elf_bytes = std::fs::read(object)?;
    let functions = ElfFunctions::read(&elf_bytes)?;
    let object_path = c_path(object)?;
    let btf_path = target_btf.map(c_path).transpose()?;

    let _one_at_a_time = LIBBPF
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    LOG.with_borrow_mut(String::clear);
    let take_log = || LOG.with_borrow_mut(std::mem::take);
    // SAFETY: capture_log matches libbpf_print_fn_t and lives for the whole program.
    unsafe { libbpf_sys::libbpf_set_print(Some(capture_log)) };

    let opts = libbpf_sys::bpf_object_open_opts {
        sz: size_of::<libbpf_sys::bpf_object_open_opts>() as _,
        btf_custom_path: btf_path
            .as_ref()
            .map_or(std::ptr::null(), |path| path.as_ptr()),
        ..Default::default()
    };
    // SAFETY: both paths are NUL-terminated and outlive the call; opts is fully initialised.
    let raw = unsafe { libbpf_sys::bpf_object__open_file(object_path.as_ptr(), &opts) };
    if raw.is_null() {
        return Err(Box::new(LibbpfError {
            stage: "bpf_object__open_file",
            errno: -std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            log: take_log(),
        }));
    }
    let guard = ObjectGuard(raw);
    // SAFETY: guard.0 is a valid object from open_file.
    let result = unsafe { libbpf_sys::bpf_object__prepare(guard.0) };
    if result != 0 {
        return Err(Box::new(LibbpfError {
            stage: "bpf_object__prepare",
            errno: result,
            log: take_log(),
        }));
    }

    let mut programs = Vec::new();
    let mut prog = std::ptr::null_mut();
    loop {
        // SAFETY: guard.0 is valid; prog is null or the previous program of this object.
        prog = unsafe { libbpf_sys::bpf_object__next_program(guard.0, prog) };
        if prog.is_null() {
            break;
        }
        // SAFETY: prog is a valid program of a live object; the strings and instructions it
        // returns live as long as the object, and are copied before it closes.
        let (name, section_name, insns) = unsafe {
            let name = CStr::from_ptr(libbpf_sys::bpf_program__name(prog));
            let section = CStr::from_ptr(libbpf_sys::bpf_program__section_name(prog));
            let count = libbpf_sys::bpf_program__insn_cnt(prog) as usize;
            let insns = libbpf_sys::bpf_program__insns(prog).cast::<u8>();
            let insns = if count == 0 || insns.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(insns, count * INSN_SIZE).to_vec()
            };
            (
                name.to_string_lossy().into_owned(),
                section.to_string_lossy().into_owned(),
                insns,
            )
        };
        let own = functions
            .by_name(&name, &section_name)
            .ok_or_else(|| format!("{name} in {section_name}: no such function symbol"))?
            .clone();
        let subprograms = functions.appended_subprograms(&own, &insns)?;
        programs.push(LibbpfProgram {
            own,
            insns,
            subprograms,
        });
    }
    drop(guard);
    Ok(LibbpfRelocation {
        programs,
        log: take_log(),
    })
}

/// Closes the object on every path.
struct ObjectGuard(*mut libbpf_sys::bpf_object);

impl Drop for ObjectGuard {
    fn drop(&mut self) {
        // SAFETY: the pointer came from bpf_object__open_file and is closed once.
        unsafe { libbpf_sys::bpf_object__close(self.0) };
    }
}

fn c_path(path: &Path) -> Result<CString, Box<dyn std::error::Error>> {
    use std::os::unix::ffi::OsStrExt;
    Ok(CString::new(path.as_os_str().as_bytes())?)
}

/// What the ELF says about functions and BPF-to-BPF calls.
struct ElfFunctions {
    /// Every function symbol.
    functions: Vec<FunctionRange>,
    /// `(section, insn index)` of a call instruction -> `(section, insn index)` of its callee.
    calls: BTreeMap<(String, usize), (String, usize)>,
}

impl ElfFunctions {
    fn read(bytes: &[u8]) -> Result<Self, Box<dyn std::error::Error>> {
        let file = object::File::parse(bytes)?;
        let mut functions = Vec::new();
        for symbol in file.symbols() {
            if symbol.kind() != SymbolKind::Text || symbol.size() == 0 {
                continue;
            }
            let Some(index) = symbol.section_index() else {
                continue;
            };
            functions.push(FunctionRange {
                name: symbol.name()?.to_owned(),
                section_name: file.section_by_index(index)?.name()?.to_owned(),
                section_insn_offset: symbol.address() as usize / INSN_SIZE,
                insn_count: symbol.size() as usize / INSN_SIZE,
            });
        }

        let mut calls = BTreeMap::new();
        let little = file.is_little_endian();
        for section in file.sections() {
            let Ok(data) = section.data() else { continue };
            let Ok(name) = section.name() else { continue };
            let relocated: BTreeMap<u64, RelocationTarget> = section
                .relocations()
                .map(|(offset, relocation)| (offset, relocation.target()))
                .collect();
            for (index, insn) in data.as_chunks::<INSN_SIZE>().0.iter().enumerate() {
                let src_reg = if little { insn[1] >> 4 } else { insn[1] & 0x0f };
                if insn[0] != CALL || src_reg != PSEUDO_CALL {
                    continue;
                }
                let imm_bytes = [insn[4], insn[5], insn[6], insn[7]];
                let imm = if little {
                    i32::from_le_bytes(imm_bytes)
                } else {
                    i32::from_be_bytes(imm_bytes)
                } as i64;
                // With a relocation the callee is relative to the symbol (a function, or a
                // section for static ones); without, relative to the call in this section.
                let (callee_section, base) = match relocated.get(&((index * INSN_SIZE) as u64)) {
                    Some(RelocationTarget::Symbol(symbol)) => {
                        let symbol = file.symbol_by_index(*symbol)?;
                        let Some(section) = symbol.section_index() else {
                            continue;
                        };
                        let section = file.section_by_index(section)?.name()?.to_owned();
                        (section, (symbol.address() / INSN_SIZE as u64) as i64)
                    }
                    Some(_) => continue,
                    None => (name.to_owned(), index as i64),
                };
                let callee = base + imm + 1;
                if let Ok(callee) = usize::try_from(callee) {
                    calls.insert((name.to_owned(), index), (callee_section, callee));
                }
            }
        }
        Ok(ElfFunctions { functions, calls })
    }

    fn by_name(&self, name: &str, section_name: &str) -> Option<&FunctionRange> {
        self.functions
            .iter()
            .find(|f| f.name == name && f.section_name == section_name)
    }

    fn starting_at(&self, section_name: &str, insn: usize) -> Option<&FunctionRange> {
        self.functions
            .iter()
            .find(|f| f.section_name == section_name && f.section_insn_offset == insn)
    }

    /// Follows libbpf's relocated calls from the program's own code, then from each appended
    /// subprogram found, pairing each call with the ELF call it came from.
    fn appended_subprograms(
        &self,
        own: &FunctionRange,
        insns: &[u8],
    ) -> Result<Vec<AppendedSubprogram>, Box<dyn std::error::Error>> {
        let mut regions = vec![AppendedSubprogram {
            function: own.clone(),
            start: 0,
        }];
        let mut next = 0;
        while next < regions.len() {
            let region = regions[next].clone();
            next += 1;
            for offset in 0..region.function.insn_count {
                let libbpf_index = region.start + offset;
                let Some(insn) =
                    insns.get(libbpf_index * INSN_SIZE..(libbpf_index + 1) * INSN_SIZE)
                else {
                    break;
                };
                // libbpf's instructions are in host byte order.
                if insn[0] != CALL || insn[1] >> 4 != PSEUDO_CALL {
                    continue;
                }
                let imm = i32::from_ne_bytes([insn[4], insn[5], insn[6], insn[7]]) as i64;
                let key = (
                    region.function.section_name.clone(),
                    region.function.section_insn_offset + offset,
                );
                let Some((section, callee)) = self.calls.get(&key) else {
                    continue;
                };
                let function = self.starting_at(section, *callee).ok_or_else(|| {
                    format!("call at {key:?} targets {section}+{callee}, not a function start")
                })?;
                let start = usize::try_from(libbpf_index as i64 + imm + 1)?;
                if !regions.iter().any(|r| r.start == start) {
                    regions.push(AppendedSubprogram {
                        function: function.clone(),
                        start,
                    });
                }
            }
        }
        regions.remove(0);
        regions.sort_by_key(|r| r.start);
        Ok(regions)
    }
}
