//! The measured bodies of `cargo xtask bench`, one per case and library.
//!
//! Each body is split into setup (not measured) and a closure that does the measured work and
//! returns what it built, so that freeing it (our `Drop`, `btf__free`, `bpf_object__close`) is
//! not part of the measurement.

use std::ffi::{CString, c_void};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use core_reloc::BtfOrigin;
use core_reloc::btf::{Btf, Kind};
use core_reloc::composite::CompositeBtf;
use core_reloc::engine::{Engine, EngineOptions, Targets, want_record_types};
use core_reloc::object::BpfObject;
use core_reloc::pipeline::{self, AttachModule, ModulePolicy};
use core_reloc::target::TargetBtf;

use crate::Result;

/// A libbpf `struct btf *` that is freed on drop.
pub struct LibbpfBtf(*mut libbpf_sys::btf);

impl LibbpfBtf {
    /// Takes a pointer libbpf returned; libbpf 1.x returns NULL (errno set) on error.
    fn new(raw: *mut libbpf_sys::btf, what: &str) -> Result<LibbpfBtf> {
        if raw.is_null() {
            return Err(format!("libbpf: {what}: {}", std::io::Error::last_os_error()).into());
        }
        Ok(LibbpfBtf(raw))
    }

    fn find(&self, name: &CString, kind: u32) -> i32 {
        // SAFETY: self.0 is a live btf; name is NUL-terminated.
        unsafe { libbpf_sys::btf__find_by_name_kind(self.0, name.as_ptr(), kind) }
    }
}

impl Drop for LibbpfBtf {
    fn drop(&mut self) {
        // SAFETY: created by libbpf, freed once.
        unsafe { libbpf_sys::btf__free(self.0) }
    }
}

/// A libbpf `struct bpf_object *` that is closed on drop.
pub struct LibbpfObject(*mut libbpf_sys::bpf_object);

impl Drop for LibbpfObject {
    fn drop(&mut self) {
        // SAFETY: created by bpf_object__open_file, closed once.
        unsafe { libbpf_sys::bpf_object__close(self.0) }
    }
}

/// Silences libbpf's default stderr logging (warnings about poisoned relocations and such).
pub fn quiet_libbpf() {
    // SAFETY: a NULL print function disables printing.
    unsafe { libbpf_sys::libbpf_set_print(None) };
}

pub fn c_string(text: &str) -> CString {
    CString::new(text).expect("no NUL inside")
}

pub fn c_path(path: &Path) -> CString {
    c_string(path.to_str().expect("UTF-8 path"))
}

// --- parse to the first lookup ---------------------------------------------------------

/// Ours, from bytes already in memory (borrowed, no copy).
pub fn ours_parse_mem<'b>(bytes: &'b [u8], name: &str) -> Btf<'b> {
    let btf = Btf::parse(bytes).expect("parses");
    assert!(btf.find_by_name_kind(name, Kind::Struct).is_some());
    btf
}

/// Ours, from a file: `Btf::from_file` maps it (or reads it where mapping is refused).
pub fn ours_parse_file(path: &Path, name: &str) -> Btf<'static> {
    let btf = Btf::from_file(path).expect("parses");
    assert!(btf.find_by_name_kind(name, Kind::Struct).is_some());
    btf
}

/// libbpf from memory: `btf__new` copies the bytes into its own buffer.
pub fn libbpf_new_mem(bytes: &[u8]) -> LibbpfBtf {
    // SAFETY: bytes outlive the call; libbpf copies them.
    let raw = unsafe { libbpf_sys::btf__new(bytes.as_ptr().cast::<c_void>(), bytes.len() as u32) };
    LibbpfBtf::new(raw, "btf__new").expect("parses")
}

/// [`libbpf_new_mem`], then a lookup that must succeed.
pub fn libbpf_parse_mem(bytes: &[u8], name: &CString) -> LibbpfBtf {
    let btf = libbpf_new_mem(bytes);
    assert!(btf.find(name, libbpf_sys::BTF_KIND_STRUCT) > 0);
    btf
}

/// libbpf from a file: `btf__parse` reads it into a malloc'd buffer.
pub fn libbpf_parse_file(path: &CString, name: &CString) -> LibbpfBtf {
    // SAFETY: path is NUL-terminated; no .BTF.ext wanted.
    let raw = unsafe { libbpf_sys::btf__parse(path.as_ptr(), std::ptr::null_mut()) };
    let btf = LibbpfBtf::new(raw, "btf__parse").expect("parses");
    assert!(btf.find(name, libbpf_sys::BTF_KIND_STRUCT) > 0);
    btf
}

/// aya-obj from memory: `Btf::parse` decodes every type into owned values.
pub fn aya_parse_mem(bytes: &[u8], name: &str) -> aya_obj::btf::Btf {
    let btf = aya_obj::btf::Btf::parse(bytes, Default::default()).expect("parses");
    assert!(
        btf.id_by_type_name_kind(name, aya_obj::btf::BtfKind::Struct)
            .is_ok()
    );
    btf
}

/// aya-obj from a file: `Btf::parse_file` reads it, then parses.
pub fn aya_parse_file(path: &Path, name: &str) -> aya_obj::btf::Btf {
    let btf = aya_obj::btf::Btf::parse_file(path, Default::default()).expect("parses");
    assert!(
        btf.id_by_type_name_kind(name, aya_obj::btf::BtfKind::Struct)
            .is_ok()
    );
    btf
}

// --- a lookup that misses, on parsed BTF ---------------------------------------------------

pub fn ours_miss(btf: &Btf<'_>, name: &str) -> bool {
    btf.find_by_name_kind(name, Kind::Struct).is_some()
}

pub fn libbpf_miss(btf: &LibbpfBtf, name: &CString) -> bool {
    btf.find(name, libbpf_sys::BTF_KIND_STRUCT) > 0
}

pub fn aya_miss(btf: &aya_obj::btf::Btf, name: &str) -> bool {
    btf.id_by_type_name_kind(name, aya_obj::btf::BtfKind::Struct)
        .is_ok()
}

// --- split BTF on a parsed base ------------------------------------------------------------

pub fn ours_split_file<'b>(path: &Path, base: &Arc<Btf<'b>>, name: &str) -> Btf<'b> {
    let split = Btf::from_file_split(path, Arc::clone(base)).expect("parses");
    assert!(split.find_by_name_kind(name, Kind::Struct).is_some());
    split
}

pub fn libbpf_split_file(path: &CString, base: &LibbpfBtf, name: &CString) -> LibbpfBtf {
    // SAFETY: path is NUL-terminated, base is a live btf that outlives the split.
    let raw = unsafe { libbpf_sys::btf__parse_split(path.as_ptr(), base.0) };
    let btf = LibbpfBtf::new(raw, "btf__parse_split").expect("parses");
    assert!(btf.find(name, libbpf_sys::BTF_KIND_STRUCT) > 0);
    btf
}

// --- CO-RE relocation end to end ---------------------------------------------------------

/// What ours produced for one object: the relocated copy and the number of records resolved
/// (errors included: they are answers too, and libbpf fails the same records).
pub struct OursRelocated {
    pub bytes: Vec<u8>,
    pub records: usize,
}

/// Ours: map vmlinux BTF, read the object, parse it and its BTF, search candidates for all
/// records in one pass, resolve every record, write the relocated copy.
pub fn ours_relocate(vmlinux: &Path, object_path: &Path) -> OursRelocated {
    let vmlinux = Btf::from_file(vmlinux).expect("vmlinux parses");
    let data = std::fs::read(object_path).expect("object readable");
    let object = BpfObject::parse(&data).expect("object parses");
    let local = Btf::parse(object.btf().expect("object has .BTF")).expect("local BTF parses");
    let origin = BtfOrigin::Vmlinux;
    let mut targets = Targets::new(TargetBtf {
        origin: &origin,
        btf: &vmlinux,
    });
    let records: Vec<_> = object.records().copied().collect();
    want_record_types(&local, records.iter().map(|r| &r.relo), &mut targets);
    targets.search();
    let engine = Engine::new(&local, &targets, EngineOptions::default());
    let fixups: Vec<_> = records
        .iter()
        .filter_map(|record| engine.resolve(record.site, &record.relo).ok())
        .map(|resolution| resolution.fixup)
        .collect();
    let bytes = if fixups.len() == records.len() {
        object.relocate(&fixups).expect("fixups apply").bytes
    } else {
        // An object with failing records is not written (libbpf's prepare fails it too).
        Vec::new()
    };
    OursRelocated {
        bytes,
        records: records.len(),
    }
}

/// libbpf: `bpf_object__open_file` with `btf_custom_path`, then `bpf_object__prepare`, which
/// parses the custom BTF and relocates every program (and creates maps, which needs root).
/// Returns the object (closed on drop) and whether prepare succeeded.
pub fn libbpf_relocate(vmlinux: &CString, object_path: &CString) -> (LibbpfObject, bool) {
    let opts = libbpf_sys::bpf_object_open_opts {
        sz: size_of::<libbpf_sys::bpf_object_open_opts>() as _,
        btf_custom_path: vmlinux.as_ptr(),
        ..Default::default()
    };
    // SAFETY: both strings are NUL-terminated and outlive the call.
    let raw = unsafe { libbpf_sys::bpf_object__open_file(object_path.as_ptr(), &opts) };
    assert!(!raw.is_null(), "bpf_object__open_file failed");
    let object = LibbpfObject(raw);
    // SAFETY: a live object from open_file.
    let prepared = unsafe { libbpf_sys::bpf_object__prepare(object.0) } == 0;
    (object, prepared)
}

/// The relocation objects of a case: the corpus objects, or the one large object.
pub fn relocation_objects(root: &Path, case_objects: &str) -> Result<Vec<PathBuf>> {
    match case_objects {
        "corpus" => {
            let dir = root.join("target/ebpf/corpus");
            let mut objects: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| format!("{}: {e} (cargo xtask build-corpus makes it)", dir.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.to_string_lossy().ends_with(".bpf.o"))
                .collect();
            objects.sort();
            Ok(objects)
        }
        "large" => Ok(vec![root.join(super::LARGE_OBJECT)]),
        other => Err(format!("unknown object set {other}").into()),
    }
}

// --- module BTF at scale: vmlinux plus N modules ------------------------------------------

/// The module whose types the btrfs program reads: always among the N.
pub const BTRFS: &str = "btrfs";

/// A directory like `/sys/kernel/btf` holding vmlinux and the first `n` module BTFs of the
/// kernel cache's `btf_dir` in name order, btrfs always among them (it takes the place of
/// the n-th): symbolic links under `target/bench/modules-N`. `None` is all of them, the
/// cache directory itself. Returns the directory and its module files.
pub fn module_set(
    root: &Path,
    btf_dir: &Path,
    n: Option<usize>,
) -> Result<(PathBuf, Vec<PathBuf>)> {
    let mut names: Vec<String> = std::fs::read_dir(btf_dir)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name != "vmlinux")
        .collect();
    names.sort();
    let Some(n) = n else {
        let files = names.iter().map(|name| btf_dir.join(name)).collect();
        return Ok((btf_dir.to_path_buf(), files));
    };
    let mut chosen: Vec<String> = vec![BTRFS.to_string()];
    chosen.extend(
        names
            .into_iter()
            .filter(|name| name != BTRFS)
            .take(n.saturating_sub(1)),
    );
    let dir = root.join(format!("target/bench/modules-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    std::os::unix::fs::symlink(btf_dir.join("vmlinux"), dir.join("vmlinux"))?;
    let mut files = Vec::new();
    for name in &chosen {
        std::os::unix::fs::symlink(btf_dir.join(name), dir.join(name))?;
        files.push(dir.join(name));
    }
    Ok((dir, files))
}

/// Ours on a composite: parse the object, select targets (vmlinux misses send the name probe
/// over every module, which finds btrfs), parse what the probe found, resolve every record,
/// write the relocated copy. Returns the relocated bytes.
pub fn ours_relocate_on(composite: &CompositeBtf, object_bytes: &[u8]) -> Vec<u8> {
    relocate_with(composite, object_bytes, Vec::new())
}

/// Ours when the attach target's owner is known, as `Loader` learns it from `/proc/kallsyms`
/// on a live system (`btrfs_getattr\t[btrfs]` for `kprobe/btrfs_getattr`): btrfs is parsed
/// for that reason, vmlinux and btrfs answer every record, and the probe never runs.
pub fn ours_modules_attach(dir: &Path, object_bytes: &[u8]) -> (CompositeBtf, Vec<u8>) {
    let composite = CompositeBtf::from_dir(dir).expect("BTF directory opens");
    let attach = AttachModule {
        section: "kprobe/btrfs_getattr".into(),
        module: BTRFS.into(),
        symbol: "btrfs_getattr".into(),
    };
    let bytes = relocate_with(&composite, object_bytes, vec![attach]);
    (composite, bytes)
}

fn relocate_with(
    composite: &CompositeBtf,
    object_bytes: &[u8],
    attach_targets: Vec<AttachModule>,
) -> Vec<u8> {
    let object = BpfObject::parse(object_bytes).expect("object parses");
    let local = pipeline::local_btf(&object).expect("object has .BTF");
    let policy = ModulePolicy {
        attach_targets,
        search_on_miss: true,
        ..ModulePolicy::default()
    };
    let selection =
        pipeline::select_targets(composite, &object, &local, &policy).expect("targets selected");
    assert!(
        selection.module_failures.is_empty(),
        "{:?}",
        selection.module_failures
    );
    let resolutions = pipeline::resolve_object(
        &object,
        &local,
        &selection.targets,
        &policy.attach_targets,
        EngineOptions::default(),
    )
    .expect("records resolve");
    pipeline::apply(&object, &resolutions)
        .expect("every record resolves")
        .bytes
}

/// Ours from scratch: open the directory as a composite (map vmlinux, list modules), then
/// [`ours_relocate_on`]. Returns the composite (kept, as a loader keeps it) and the bytes.
pub fn ours_modules(dir: &Path, object_bytes: &[u8]) -> (CompositeBtf, Vec<u8>) {
    let composite = CompositeBtf::from_dir(dir).expect("BTF directory opens");
    let bytes = ours_relocate_on(&composite, object_bytes);
    (composite, bytes)
}

/// The local type names vmlinux has no candidate for: what libbpf looks for in every module.
pub fn names_missing_in_vmlinux(vmlinux: &Path, object_bytes: &[u8]) -> Vec<CString> {
    let vmlinux = Btf::from_file(vmlinux).expect("vmlinux parses");
    let object = BpfObject::parse(object_bytes).expect("object parses");
    let local = pipeline::local_btf(&object).expect("object has .BTF");
    let origin = BtfOrigin::Vmlinux;
    let mut targets = Targets::new(TargetBtf {
        origin: &origin,
        btf: &vmlinux,
    });
    pipeline::want_object_types(&object, &local, &mut targets);
    targets.search();
    targets.unresolved_names().map(c_string).collect()
}

/// What libbpf holds after loading every module's BTF: the splits, freed before their base.
pub struct LibbpfModules {
    _splits: Vec<LibbpfBtf>,
    _vmlinux: LibbpfBtf,
}

/// libbpf's cost model on a vmlinux miss (`load_module_btfs` then `bpf_core_add_cands`):
/// parse vmlinux, then `btf__parse_split` every module on it and scan the module's own types
/// for each missing name, as `bpf_core_add_cands` does (kind first, then the name), keeping
/// every module's BTF (libbpf keeps them until the object is closed).
pub fn libbpf_modules(vmlinux: &CString, modules: &[CString], names: &[CString]) -> LibbpfModules {
    // SAFETY: path is NUL-terminated; no .BTF.ext wanted.
    let raw = unsafe { libbpf_sys::btf__parse(vmlinux.as_ptr(), std::ptr::null_mut()) };
    let base = LibbpfBtf::new(raw, "btf__parse").expect("vmlinux parses");
    // SAFETY: base is a live btf.
    let first_own = unsafe { libbpf_sys::btf__type_cnt(base.0) };
    let mut splits = Vec::with_capacity(modules.len());
    let mut found = 0;
    for module in modules {
        // SAFETY: path is NUL-terminated, base is a live btf that outlives the split.
        let raw = unsafe { libbpf_sys::btf__parse_split(module.as_ptr(), base.0) };
        let split = LibbpfBtf::new(raw, "btf__parse_split").expect("module parses");
        found += libbpf_scan_own_types(&split, first_own, names);
        splits.push(split);
    }
    assert!(found > 0, "btrfs defines the missing types");
    LibbpfModules {
        _splits: splits,
        _vmlinux: base,
    }
}

/// How many of `split`'s own structs (ids from `first_own`) have one of `names`.
fn libbpf_scan_own_types(split: &LibbpfBtf, first_own: u32, names: &[CString]) -> usize {
    let mut found = 0;
    // SAFETY: split is a live btf; ids are below its type count; libbpf returns valid
    // NUL-terminated names for the name offsets of its own types.
    unsafe {
        let count = libbpf_sys::btf__type_cnt(split.0);
        for id in first_own..count {
            let ty = libbpf_sys::btf__type_by_id(split.0, id);
            if ty.is_null() || ((*ty).info >> 24) & 0x1f != libbpf_sys::BTF_KIND_STRUCT {
                continue;
            }
            let name = libbpf_sys::btf__name_by_offset(split.0, (*ty).name_off);
            if name.is_null() {
                continue;
            }
            let name = std::ffi::CStr::from_ptr(name);
            found += names
                .iter()
                .filter(|wanted| wanted.as_c_str() == name)
                .count();
        }
    }
    found
}

/// The floor under any probe that looks at each module file: list `dir` and read the first
/// 32 bytes (a BTF header) of every module file in it. Returns the number of files.
pub fn open_every_module_file(dir: &Path) -> usize {
    use std::os::unix::fs::FileExt;
    let mut header = [0u8; 32];
    let mut opened = 0;
    for entry in std::fs::read_dir(dir).expect("BTF directory lists") {
        let path = entry.expect("directory entry").path();
        if path.file_name().is_some_and(|name| name == "vmlinux") {
            continue;
        }
        let file = std::fs::File::open(&path).expect("module file opens");
        file.read_at(&mut header, 0).expect("module header reads");
        opened += 1;
    }
    opened
}
