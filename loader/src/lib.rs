#![warn(missing_docs)]
//! Load eBPF objects into the kernel after module-aware CO-RE relocation.
//!
//! [`Loader`] relocates an object's CO-RE records against vmlinux *and* the kernel modules
//! whose types it reads, then hands the relocated object to [`aya::EbpfLoader`]. Add it next
//! to aya:
//!
//! ```toml
//! [dependencies]
//! aya = "0.16"
//! core-reloc-loader = "0.1"
//! ```
//!
//! Module BTF is parsed lazily: only modules named with [`Loader::with_module_btf`], modules
//! that own a program's attach target (found in `/proc/kallsyms`), and, when a local type
//! has no candidate in those, modules whose BTF strings contain its name.
//!
//! For each program (an entry section and the `.text` subprograms it calls) a local type binds
//! to one kernel type, taken from the first of these tiers that has any candidate: vmlinux,
//! the module owning that program's attach target, the modules named explicitly, the modules
//! the on-miss search found. So a kprobe on an e1000 function reads e1000's
//! `struct e1000_adapter` even when e1000e, which has its own, is named too; two candidates
//! of one tier that disagree are an ambiguity error (see [`core_reloc::engine`]).
//!
//! # Examples
//!
//! A C object (`clang -g -O2 -target bpf`) reading btrfs's structs, attached to a function of
//! the btrfs module:
//!
//! ```no_run
//! use aya::programs::KProbe;
//! let mut ebpf = core_reloc_loader::Loader::new()
//!     .with_module_btf("btrfs")
//!     .load_file("btrfs_getattr.bpf.o")?;
//! let program: &mut KProbe = ebpf.program_mut("btrfs_getattr_probe").unwrap().try_into()?;
//! program.load()?;
//! program.attach("btrfs_getattr", 0)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A BTF-typed program on a module function (`fentry/btrfs:btrfs_getattr`), which aya 0.16
//! cannot load with the module's BTF object:
//!
//! ```no_run
//! let bytes = std::fs::read("fentry.bpf.o")?;
//! let mut loaded = core_reloc_loader::Loader::new()
//!     .load_module_aware(&bytes, &mut aya::EbpfLoader::new())?;
//! let program: &mut aya::programs::FEntry = loaded.program_mut("on_getattr").unwrap().try_into()?;
//! program.attach()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A Rust object (aya-ebpf; module-type reads through C CO-RE shims linked as bitcode), with
//! aya configured as usual and the verifier's rejection of a poisoned read explained:
//!
//! ```no_run
//! use aya::programs::KProbe;
//! use core_reloc_loader::Loader;
//! let pid = std::process::id();
//! let mut aya_loader = aya::EbpfLoader::new();
//! aya_loader.override_global("TARGET_TGID", &pid, true);
//! let (mut ebpf, report) = Loader::new()
//!     .with_module_btf("btrfs")
//!     .load_file_with("target/bpfel-unknown-none/release/btrfs_getattr_rs", &mut aya_loader)?;
//! Loader::load_program(&mut ebpf, &report, "btrfs_getattr_fields", |p: &mut KProbe| p.load())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Offline, against another kernel's BTF (a directory laid out like `/sys/kernel/btf`):
//!
//! ```no_run
//! use core_reloc_loader::{KallsymsSource, Loader};
//! let relocated = Loader::new()
//!     .btf_directory("target/kernels/6.1/btf")
//!     .kallsyms(KallsymsSource::None)
//!     .with_module_btf("btrfs")
//!     .relocate_file("btrfs_getattr.bpf.o")?;
//! std::fs::write("btrfs_getattr.6.1.o", &relocated.bytes).unwrap();
//! # Ok::<(), core_reloc_loader::LoadError>(())
//! ```

pub mod attach;
pub mod btf_attach;
mod error;
pub mod fmod_ret;
mod module_load;
mod report;
pub mod sys;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use core_reloc::btf::Btf;
use core_reloc::composite::CompositeBtf;
use core_reloc::engine::{EngineOptions, ReloError, Resolution, essential_name};
use core_reloc::kallsyms::{self, SymbolOwner};
use core_reloc::object::BpfObject;
use core_reloc::patch::Patched;
use core_reloc::pipeline::{self, AttachModule, ModulePolicy, NamedResolution, RecordResolution};

pub use error::LoadError;
pub use module_load::{Attachment, BtfProgram, ModuleEbpf, ModuleLoadError};
pub use report::{Failure, FixupReport, ModuleReport, PoisonedSite, Report, Warning};

/// Which modules, beyond those named explicitly, are searched for CO-RE candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ModuleSearch {
    /// Owners of attach targets, and modules whose BTF has a type vmlinux lacks (default).
    #[default]
    AttachTargetsAndMisses,
    /// Owners of attach targets only.
    AttachTargets,
    /// Modules whose BTF has a type vmlinux lacks, only.
    Misses,
    /// Only the modules named with [`Loader::with_module_btf`].
    Off,
    /// Every module (parses them all).
    All,
}

impl ModuleSearch {
    fn attach_targets(self) -> bool {
        matches!(
            self,
            ModuleSearch::AttachTargetsAndMisses | ModuleSearch::AttachTargets
        )
    }

    fn misses(self) -> bool {
        matches!(
            self,
            ModuleSearch::AttachTargetsAndMisses | ModuleSearch::Misses
        )
    }
}

/// Where the target kernel's BTF (vmlinux and modules) comes from; set with
/// [`Loader::kernel_btf`]. (Not aya's `EbpfLoader::btf_source`, which supplies the single BTF
/// aya's own CO-RE would use.)
///
/// # Examples
///
/// ```
/// use core_reloc_loader::{KernelBtf, Loader};
/// let mut loader = Loader::new();
/// loader.kernel_btf(KernelBtf::Directory("target/kernels/6.12/btf".into()));
/// ```
#[derive(Debug, Clone)]
pub enum KernelBtf {
    /// `/sys/kernel/btf` of the running kernel (vmlinux memory-mapped where allowed).
    System,
    /// A directory laid out like `/sys/kernel/btf` (e.g. offline BTF of another kernel):
    /// `vmlinux` (raw BTF or the vmlinux ELF) and one file per module (raw BTF, `*.ko`,
    /// `*.ko.xz`, `*.ko.zst`).
    Directory(PathBuf),
    /// A vmlinux file and module files, each raw BTF or an ELF file with `.BTF`, possibly
    /// xz or zstd compressed ([`CompositeBtf::from_files`]).
    Files {
        /// vmlinux: raw BTF or the vmlinux ELF.
        vmlinux: PathBuf,
        /// `(module name, file)` pairs.
        modules: Vec<(String, PathBuf)>,
    },
    /// A vmlinux file and the `*.ko[.xz|.zst]` modules of a `/lib/modules/<release>` tree
    /// ([`CompositeBtf::from_module_tree`]).
    ModuleTree {
        /// vmlinux: raw BTF or the vmlinux ELF.
        vmlinux: PathBuf,
        /// The module tree.
        tree: PathBuf,
    },
    /// A directory laid out like `/sys/kernel/btf`, and a `/lib/modules/<release>` tree whose
    /// `*.ko[.xz|.zst]` stand in for the modules the directory lacks
    /// ([`CompositeBtf::from_dir_and_tree`]): on the running kernel, a module whose
    /// `/sys/kernel/btf` entry is missing (the kernel dropped its BTF) is read from its `.ko`,
    /// relocated onto vmlinux first when it carries a distilled base (`.BTF.base`).
    DirectoryAndTree {
        /// The directory, e.g. `/sys/kernel/btf`.
        dir: PathBuf,
        /// The module tree, e.g. `/lib/modules/<release>`.
        tree: PathBuf,
    },
    /// An already opened composite, shared between loaders. It is never re-listed: modules
    /// it does not have stay unknown.
    Shared(Arc<CompositeBtf>),
}

impl KernelBtf {
    /// Opens (or shares) the composite.
    fn open(&self) -> Result<Arc<CompositeBtf>, LoadError> {
        Ok(match self {
            KernelBtf::System => Arc::new(CompositeBtf::from_sys()?),
            KernelBtf::Directory(path) => Arc::new(CompositeBtf::from_dir(path)?),
            KernelBtf::Files { vmlinux, modules } => Arc::new(CompositeBtf::from_files(
                vmlinux,
                modules
                    .iter()
                    .map(|(name, path)| (name.clone(), path.clone())),
            )?),
            KernelBtf::ModuleTree { vmlinux, tree } => {
                Arc::new(CompositeBtf::from_module_tree(vmlinux, tree)?)
            }
            KernelBtf::DirectoryAndTree { dir, tree } => {
                Arc::new(CompositeBtf::from_dir_and_tree(dir, tree)?)
            }
            KernelBtf::Shared(composite) => composite.clone(),
        })
    }

    /// True when opening again lists the modules present now.
    fn can_relist(&self) -> bool {
        !matches!(self, KernelBtf::Shared(_))
    }
}

/// Where module ownership of attach targets is looked up.
#[derive(Debug, Clone)]
pub enum KallsymsSource {
    /// `/proc/kallsyms` of the running kernel.
    Proc,
    /// A kallsyms text (e.g. saved from another machine).
    Text(Arc<str>),
    /// Do not look attach targets up.
    None,
}

/// An object relocated for the target kernel, not yet loaded: the bytes to hand to any
/// loader, and what was done.
///
/// # Examples
///
/// ```no_run
/// let relocated: core_reloc_loader::RelocatedObject =
///     core_reloc_loader::Loader::new().relocate_file("probe.bpf.o")?;
/// std::fs::write("probe.relocated.o", &relocated.bytes).unwrap();
/// println!("{} relocations", relocated.report.fixups.len());
/// # Ok::<(), core_reloc_loader::LoadError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RelocatedObject {
    /// The relocated ELF object, with `.BTF.ext`'s CO-RE records hidden so aya does not
    /// relocate again.
    pub bytes: Vec<u8>,
    /// What was done.
    pub report: Report,
}

/// Relocates eBPF objects with module-aware CO-RE and loads them with aya.
///
/// Builder-style like [`aya::EbpfLoader`]: configuration methods take `&mut self` and return
/// `&mut Self`. A `Loader` can be kept and reused: it opens the kernel's BTF on first use
/// and keeps it (clones share it). Modules loaded later are still found: a module named with
/// [`with_module_btf`](Loader::with_module_btf), or owning an attach target, that the
/// kernel's BTF did not list makes the loader list the modules again, and
/// [`refresh`](Loader::refresh) does so explicitly (for module search by type name).
///
/// What this means for aya's own CO-RE settings: the object handed to aya has its
/// `.BTF.ext` CO-RE records hidden (`core_relo_len` is 0), so aya relocates nothing and never
/// reads the target BTF for CO-RE; [`aya::EbpfLoader::btf`] and
/// [`aya::EbpfLoader::btf_source`] matter only for what aya still does with target BTF, which
/// is resolving typed `__ksym` externs. aya still loads the object's own BTF into the kernel.
///
/// # Examples
///
/// Offline: which relocations a probe gets on another kernel.
///
/// ```no_run
/// use core_reloc_loader::{Loader, ModuleSearch};
/// let relocated = Loader::new()
///     .btf_directory("/srv/btf/6.12")
///     .module_search(ModuleSearch::Off)
///     .with_module_btf("btrfs")
///     .relocate_file("probe.bpf.o")?;
/// for fixup in &relocated.report.fixups {
///     println!("{fixup}");
/// }
/// # Ok::<(), core_reloc_loader::LoadError>(())
/// ```
///
/// Kept by a daemon, configured once:
///
/// ```no_run
/// let mut loader = core_reloc_loader::Loader::new();
/// loader.with_module_btf("btrfs").strict(true);
/// let first = loader.load_file("probe.bpf.o")?;
/// // ... later, after `modprobe xfs`:
/// loader.with_module_btf("xfs");
/// let second = loader.load_file("xfs_probe.bpf.o")?;
/// # Ok::<(), core_reloc_loader::LoadError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Loader {
    kernel_btf: KernelBtf,
    kallsyms: KallsymsSource,
    modules: Vec<String>,
    search: ModuleSearch,
    strict: bool,
    composite: Arc<Mutex<Option<Arc<CompositeBtf>>>>,
}

impl Default for Loader {
    fn default() -> Self {
        Loader::new()
    }
}

impl Loader {
    /// A loader for the running kernel: `/sys/kernel/btf`, `/proc/kallsyms`, attach-target
    /// and on-miss module search.
    ///
    /// # Examples
    ///
    /// ```
    /// let loader = core_reloc_loader::Loader::new();
    /// ```
    pub fn new() -> Loader {
        Loader {
            kernel_btf: KernelBtf::System,
            kallsyms: KallsymsSource::Proc,
            modules: Vec::new(),
            search: ModuleSearch::default(),
            strict: false,
            composite: Arc::new(Mutex::new(None)),
        }
    }

    /// Searches `module`'s BTF (`/sys/kernel/btf/<module>`) for types vmlinux lacks. Its
    /// candidates come after vmlinux's and after the module owning a program's attach target,
    /// before those of modules found by the on-miss search. A module the kernel's BTF does
    /// not list yet is looked for again on the next relocation.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut loader = core_reloc_loader::Loader::new();
    /// loader.with_module_btf("btrfs").with_module_btf("xfs");
    /// ```
    pub fn with_module_btf(&mut self, module: &str) -> &mut Self {
        if !self.modules.iter().any(|known| known == module) {
            self.modules.push(module.to_string());
        }
        self
    }

    /// Chooses which other modules are searched.
    ///
    /// # Examples
    ///
    /// ```
    /// use core_reloc_loader::{Loader, ModuleSearch};
    /// let mut loader = Loader::new();
    /// loader.module_search(ModuleSearch::Off);
    /// ```
    pub fn module_search(&mut self, search: ModuleSearch) -> &mut Self {
        self.search = search;
        self
    }

    /// Reads BTF from a directory laid out like `/sys/kernel/btf`: a `vmlinux` file and one
    /// file per module (what `cargo xtask kernels` writes to `target/kernels/<series>/btf`).
    /// Files are told apart by content: `vmlinux` may be the vmlinux ELF, and modules may be
    /// `*.ko`, `*.ko.xz` or `*.ko.zst` files (named `btrfs.ko.xz` for module `btrfs`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut loader = core_reloc_loader::Loader::new();
    /// loader.btf_directory("target/kernels/6.12/btf");
    /// ```
    pub fn btf_directory(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.kernel_btf(KernelBtf::Directory(path.into()))
    }

    /// Reads vmlinux and the named modules from files, each raw BTF or an ELF file with
    /// `.BTF` (a vmlinux ELF, a `.ko`), possibly xz or zstd compressed. Only these modules
    /// exist for this loader; name them with [`with_module_btf`](Self::with_module_btf) to
    /// search them explicitly.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut loader = core_reloc_loader::Loader::new();
    /// loader
    ///     .btf_files("target/kernels/6.12/vmlinux", [("btrfs", "target/kernels/6.12/modules/btrfs.ko")])
    ///     .with_module_btf("btrfs");
    /// ```
    pub fn btf_files<N, P>(
        &mut self,
        vmlinux: impl Into<PathBuf>,
        modules: impl IntoIterator<Item = (N, P)>,
    ) -> &mut Self
    where
        N: Into<String>,
        P: Into<PathBuf>,
    {
        self.kernel_btf(KernelBtf::Files {
            vmlinux: vmlinux.into(),
            modules: modules
                .into_iter()
                .map(|(name, path)| (name.into(), path.into()))
                .collect(),
        })
    }

    /// Sets where the kernel's BTF comes from.
    ///
    /// # Examples
    ///
    /// One composite shared by several loaders (each module is parsed once for all of them):
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use core_reloc_loader::{KernelBtf, Loader};
    /// let shared = Arc::new(core_reloc::composite::CompositeBtf::from_sys()?);
    /// let mut first = Loader::new();
    /// first.kernel_btf(KernelBtf::Shared(shared.clone()));
    /// let mut second = Loader::new();
    /// second.kernel_btf(KernelBtf::Shared(shared)).with_module_btf("btrfs");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kernel_btf(&mut self, kernel_btf: KernelBtf) -> &mut Self {
        self.kernel_btf = kernel_btf;
        self.composite = Arc::new(Mutex::new(None));
        self
    }

    /// Sets where attach-target owners are looked up.
    ///
    /// # Examples
    ///
    /// ```
    /// use core_reloc_loader::{KallsymsSource, Loader};
    /// let text = "0 t btrfs_getattr\t[btrfs]\n";
    /// let mut loader = Loader::new();
    /// loader.kallsyms(KallsymsSource::Text(text.into()));
    /// ```
    pub fn kallsyms(&mut self, kallsyms: KallsymsSource) -> &mut Self {
        self.kallsyms = kallsyms;
        self
    }

    /// Makes warnings errors: a type found only in an unsearched module, a module that could
    /// not be searched, and `target_type_id` resolving to a module type.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut loader = core_reloc_loader::Loader::new();
    /// loader.strict(true);
    /// ```
    pub fn strict(&mut self, strict: bool) -> &mut Self {
        self.strict = strict;
        self
    }

    /// Forgets the kernel's BTF opened so far, so the next relocation lists the modules again
    /// (those loaded since) and parses what it needs afresh. Loaders cloned from this one
    /// share the refresh. A [`KernelBtf::Shared`] composite is kept as it is.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let loader = core_reloc_loader::Loader::new();
    /// let before = loader.load_file("probe.bpf.o")?;
    /// // `modprobe btrfs` happened: module search by type name now sees btrfs too.
    /// loader.refresh();
    /// let after = loader.load_file("probe.bpf.o")?;
    /// # Ok::<(), core_reloc_loader::LoadError>(())
    /// ```
    pub fn refresh(&self) -> &Self {
        *self.cache() = None;
        self
    }

    /// The kernel's BTF, opened on first use and kept for later objects.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let loader = core_reloc_loader::Loader::new();
    /// println!("{} modules have BTF", loader.composite()?.module_names().len());
    /// # Ok::<(), core_reloc_loader::LoadError>(())
    /// ```
    pub fn composite(&self) -> Result<Arc<CompositeBtf>, LoadError> {
        let mut cache = self.cache();
        if let Some(composite) = cache.as_ref() {
            return Ok(composite.clone());
        }
        let opened = self.kernel_btf.open()?;
        *cache = Some(opened.clone());
        Ok(opened)
    }

    /// The composite, listed again when it lacks one of `modules` and the source can say more.
    fn composite_with(&self, modules: &[&str]) -> Result<Arc<CompositeBtf>, LoadError> {
        let composite = self.composite()?;
        let missing = modules.iter().find(|module| !composite.has_module(module));
        let Some(missing) = missing.filter(|_| self.kernel_btf.can_relist()) else {
            return Ok(composite);
        };
        log::debug!("module {missing} is not listed in the kernel's BTF: listing modules again");
        let reopened = self.kernel_btf.open()?;
        *self.cache() = Some(reopened.clone());
        Ok(reopened)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Option<Arc<CompositeBtf>>> {
        // The guarded value is a plain Option<Arc>: a panic elsewhere cannot leave it torn.
        self.composite
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Relocates an object file without loading it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let relocated = core_reloc_loader::Loader::new().relocate_file("probe.bpf.o")?;
    /// std::fs::write("probe.relocated.o", &relocated.bytes).unwrap();
    /// # Ok::<(), core_reloc_loader::LoadError>(())
    /// ```
    pub fn relocate_file(&self, path: impl AsRef<Path>) -> Result<RelocatedObject, LoadError> {
        self.relocate(&read_object(path.as_ref())?)
    }
    /// Relocates an object without loading it: the bytes aya would get, and the report.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let bytes = std::fs::read("probe.bpf.o").unwrap();
    /// let relocated = core_reloc_loader::Loader::new().with_module_btf("btrfs").relocate(&bytes)?;
    /// assert!(relocated.report.fixups.iter().all(|f| !f.poisoned()));
    /// # Ok::<(), core_reloc_loader::LoadError>(())
    /// ```
    pub fn relocate(&self, bytes: &[u8]) -> Result<RelocatedObject, LoadError> {
        let object = BpfObject::parse(bytes)?;
        if object.record_count() == 0 && object.named_relocations().is_empty() {
            // Nothing to relocate: no BTF is opened at all.
            return Ok(RelocatedObject {
                bytes: bytes.to_vec(),
                report: Report::default(),
            });
        }
        let local = pipeline::local_btf(&object)?;
        let owners = if self.search.attach_targets() {
            self.attach_target_owners(&object)?
        } else {
            Vec::new()
        };
        let wanted: Vec<&str> = (self.modules.iter().map(String::as_str))
            .chain(owners.iter().map(|owner| owner.module.as_str()))
            .collect();
        let composite = self.composite_with(&wanted)?;
        let composite = composite.as_ref();
        let mut report = Report::default();

        let mut policy = ModulePolicy {
            search_on_miss: self.search.misses(),
            all_modules: self.search == ModuleSearch::All,
            ..ModulePolicy::default()
        };
        for module in &self.modules {
            if !composite.has_module(module) {
                return Err(LoadError::Module(
                    core_reloc::composite::ModuleError::NotListed {
                        module: module.clone(),
                    },
                ));
            }
            policy.explicit.push(module.clone());
        }
        for owner in owners {
            if composite.has_module(&owner.module) {
                policy.attach_targets.push(AttachModule {
                    section: owner.section,
                    module: owner.module,
                    symbol: owner.symbol,
                });
            } else {
                report.warnings.push(Warning::AttachModuleWithoutBtf {
                    section: owner.section,
                    module: owner.module,
                });
            }
        }

        let selection = pipeline::select_targets(composite, &object, &local, &policy)?;
        for failure in &selection.module_failures {
            if self.modules.iter().any(|module| module == failure.module()) {
                return Err(LoadError::Module(failure.clone()));
            }
            report.warnings.push(Warning::ModuleFailed {
                module: failure.module().to_string(),
                error: failure.clone(),
            });
        }
        let options = EngineOptions {
            strict_module_type_ids: self.strict,
        };
        let resolutions = pipeline::resolve_object(
            &object,
            &local,
            &selection.targets,
            &policy.attach_targets,
            options,
        )?;
        let named =
            pipeline::resolve_named_object(&object, &selection.targets, &policy.attach_targets)?;
        let entries = entries(&local, &resolutions, &named);
        let failures = failures(&entries);
        if !failures.is_empty() {
            return Err(LoadError::Relocation { failures });
        }
        let apply_error = |error| match error {
            pipeline::ApplyError::Unresolved { failures } => LoadError::Relocation {
                failures: failures.into_iter().map(Failure::from).collect(),
            },
            error => LoadError::Apply(error),
        };
        let mut relocated = pipeline::apply(&object, &resolutions).map_err(apply_error)?;
        let named_outcomes =
            pipeline::apply_named(&object, &mut relocated.bytes, &named).map_err(apply_error)?;
        relocated.outcomes.extend(named_outcomes);
        report.fixups = fixup_reports(&entries, &relocated.outcomes);
        self.check_unsearched_modules(composite, &entries, &mut report);
        report.programs = program_sections(bytes, &object);
        report.record_stats(&composite.stats());
        if self.strict
            && let Some(warning) = report.warnings.first()
        {
            return Err(LoadError::Strict(Box::new(warning.clone())));
        }
        for warning in &report.warnings {
            log::warn!("{warning}");
        }
        Ok(RelocatedObject {
            bytes: relocated.bytes,
            report,
        })
    }

    /// Relocates and loads an object file with a default [`aya::EbpfLoader`].
    ///
    /// # Examples
    ///
    /// A C object (`clang -g -O2 -target bpf`) reading btrfs's structs:
    ///
    /// ```no_run
    /// use aya::programs::KProbe;
    /// let mut ebpf = core_reloc_loader::Loader::new()
    ///     .with_module_btf("btrfs")
    ///     .load_file("btrfs_getattr.bpf.o")?;
    /// let program: &mut KProbe = ebpf.program_mut("btrfs_getattr_probe").unwrap().try_into()?;
    /// program.load()?;
    /// program.attach("btrfs_getattr", 0)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<aya::Ebpf, LoadError> {
        self.load(&read_object(path.as_ref())?)
    }

    /// Relocates and loads an object file with an [`aya::EbpfLoader`] the caller configured;
    /// see [`Loader::load_with`].
    ///
    /// # Examples
    ///
    /// A Rust object (aya-ebpf, built for `bpfel-unknown-none`) with a global set before load:
    ///
    /// ```no_run
    /// let pid: u32 = std::process::id();
    /// let mut aya_loader = aya::EbpfLoader::new();
    /// aya_loader.override_global("TARGET_TGID", &pid, true);
    /// let (ebpf, report) = core_reloc_loader::Loader::new()
    ///     .with_module_btf("btrfs")
    ///     .load_file_with("target/bpfel-unknown-none/release/probe", &mut aya_loader)?;
    /// # Ok::<(), core_reloc_loader::LoadError>(())
    /// ```
    pub fn load_file_with(
        &self,
        path: impl AsRef<Path>,
        aya_loader: &mut aya::EbpfLoader<'_>,
    ) -> Result<(aya::Ebpf, Report), LoadError> {
        self.load_with(&read_object(path.as_ref())?, aya_loader)
    }

    /// Relocates and loads an object with a default [`aya::EbpfLoader`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let bytes = std::fs::read("probe.bpf.o").unwrap();
    /// let ebpf = core_reloc_loader::Loader::new().load(&bytes)?;
    /// # Ok::<(), core_reloc_loader::LoadError>(())
    /// ```
    pub fn load(&self, bytes: &[u8]) -> Result<aya::Ebpf, LoadError> {
        self.load_with(bytes, &mut aya::EbpfLoader::new())
            .map(|(ebpf, _)| ebpf)
    }

    /// Relocates an object and loads it with an [`aya::EbpfLoader`] the caller configured
    /// (globals, map pin paths, max entries, extensions, verifier log level, ...). Returns
    /// the report too, for [`Loader::load_program`] diagnostics.
    ///
    /// aya's own CO-RE does nothing here (the records are hidden from it), so its
    /// [`btf`](aya::EbpfLoader::btf) / [`btf_source`](aya::EbpfLoader::btf_source) settings
    /// are only used for typed `__ksym` externs; without those, aya reads no target BTF.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let bytes = std::fs::read("probe.bpf.o").unwrap();
    /// let pid: u32 = std::process::id();
    /// let mut aya_loader = aya::EbpfLoader::new();
    /// aya_loader.override_global("target_pid", &pid, true);
    /// let (ebpf, report) = core_reloc_loader::Loader::new().load_with(&bytes, &mut aya_loader)?;
    /// # Ok::<(), core_reloc_loader::LoadError>(())
    /// ```
    pub fn load_with(
        &self,
        bytes: &[u8],
        aya_loader: &mut aya::EbpfLoader<'_>,
    ) -> Result<(aya::Ebpf, Report), LoadError> {
        let relocated = self.relocate(bytes)?;
        let ebpf = aya_loader.load(&relocated.bytes)?;
        Ok((ebpf, relocated.report))
    }

    /// Relocates and loads an object whose programs may attach to module functions
    /// (`fentry/btrfs:btrfs_getattr`, fexit, tp_btf) or call module kfuncs: aya loads the maps
    /// and the other programs; the loader loads those with the module's BTF object fd and
    /// `fd_array` (which aya 0.16 cannot set) and hands them back as aya types, sharing the
    /// maps.
    ///
    /// ```no_run
    /// let bytes = std::fs::read("fentry.bpf.o").unwrap();
    /// let mut loaded = core_reloc_loader::Loader::new().load_module_aware(&bytes, &mut aya::EbpfLoader::new())?;
    /// for attachment in &loaded.attachments {
    ///     println!("{attachment}");
    /// }
    /// let program: &mut aya::programs::FEntry = loaded.program_mut("on_getattr").unwrap().try_into()?;
    /// program.attach()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_module_aware(
        &self,
        bytes: &[u8],
        aya_loader: &mut aya::EbpfLoader<'_>,
    ) -> Result<ModuleEbpf, LoadError> {
        let relocated = self.relocate(bytes)?;
        let kallsyms = self.kallsyms_text()?;
        let composite = self.composite()?;
        module_load::load(relocated, &composite, &kallsyms, aya_loader)
    }

    /// The programs [`Loader::load_module_aware`] would load itself (module attach target or
    /// module kfunc / ksym), with the BTF ids it would use, without loading anything: works
    /// with offline BTF ([`Loader::btf_directory`]) and a saved kallsyms text.
    ///
    /// ```no_run
    /// let bytes = std::fs::read("fentry.bpf.o").unwrap();
    /// let mut loader = core_reloc_loader::Loader::new();
    /// loader.btf_directory("/srv/btf/6.12");
    /// for attachment in loader.module_attachments(&bytes)? {
    ///     println!("{attachment}");
    /// }
    /// # Ok::<(), core_reloc_loader::LoadError>(())
    /// ```
    pub fn module_attachments(&self, bytes: &[u8]) -> Result<Vec<Attachment>, LoadError> {
        // Relocated first, as for loading: named relocations are undefined symbols until then.
        let relocated = self.relocate(bytes)?;
        let kallsyms = self.kallsyms_text()?;
        let composite = self.composite()?;
        Ok(module_load::planned(
            &relocated.bytes,
            &composite,
            &kallsyms,
        )?)
    }

    /// The kallsyms text attach targets are looked up in; empty for [`KallsymsSource::None`].
    fn kallsyms_text(&self) -> Result<Arc<str>, LoadError> {
        Ok(match &self.kallsyms {
            KallsymsSource::None => "".into(),
            KallsymsSource::Text(text) => text.clone(),
            KallsymsSource::Proc => std::fs::read_to_string("/proc/kallsyms")
                .map_err(|source| LoadError::Kallsyms {
                    path: "/proc/kallsyms".into(),
                    source,
                })?
                .into(),
        })
    }

    /// Loads one program through `load` (e.g. `|p: &mut KProbe| p.load()`) and, when the
    /// verifier rejects an instruction this loader poisoned, says which CO-RE relocation
    /// failed instead of `invalid func unknown#195896080`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use aya::programs::KProbe;
    /// let bytes = std::fs::read("probe.bpf.o").unwrap();
    /// let (mut ebpf, report) = core_reloc_loader::Loader::new().load_with(&bytes, &mut aya::EbpfLoader::new())?;
    /// core_reloc_loader::Loader::load_program(&mut ebpf, &report, "probe", |p: &mut KProbe| p.load())?;
    /// # Ok::<(), core_reloc_loader::LoadError>(())
    /// ```
    pub fn load_program<P>(
        ebpf: &mut aya::Ebpf,
        report: &Report,
        name: &str,
        load: impl FnOnce(&mut P) -> Result<(), aya::programs::ProgramError>,
    ) -> Result<(), LoadError>
    where
        for<'p> &'p mut P:
            TryFrom<&'p mut aya::programs::Program, Error = aya::programs::ProgramError>,
    {
        let wrap = |source| LoadError::Program {
            program: name.to_string(),
            source,
        };
        let program = ebpf
            .program_mut(name)
            .ok_or_else(|| wrap(aya::programs::ProgramError::UnexpectedProgramType))?;
        let program: &mut P = program.try_into().map_err(wrap)?;
        let section = report.program_section(name);
        load(program).map_err(|source| diagnose(report, name, section, source))
    }

    /// The modules that own the programs' attach targets, from kallsyms.
    fn attach_target_owners(&self, object: &BpfObject<'_>) -> Result<Vec<AttachOwner>, LoadError> {
        let targets: Vec<(&str, String)> = object
            .program_sections()
            .iter()
            .filter_map(|section| {
                attach::attach_target(section.name)
                    .map(|target| (section.name, target.kallsyms_symbol()))
            })
            .collect();
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        if matches!(self.kallsyms, KallsymsSource::None) {
            return Ok(Vec::new());
        }
        let text = self.kallsyms_text()?;
        let symbols: Vec<&str> = targets.iter().map(|(_, symbol)| symbol.as_str()).collect();
        let owners = kallsyms::owners_of(&text, &symbols)?;
        let mut found = Vec::new();
        for (section, symbol) in &targets {
            for owner in owners.get(symbol.as_str()).into_iter().flatten() {
                if let SymbolOwner::Module(module) = owner {
                    found.push(AttachOwner {
                        section: section.to_string(),
                        symbol: symbol.clone(),
                        module: module.to_string(),
                    });
                }
            }
        }
        Ok(found)
    }

    /// Warns about relocations that found nothing while a module not searched has the type
    /// (one probe of every module for all such names), notes it on their fixups, and records
    /// poisoned sites for verifier diagnostics.
    fn check_unsearched_modules(
        &self,
        composite: &CompositeBtf,
        entries: &[Entry<'_>],
        report: &mut Report,
    ) {
        let found_nothing = |entry: &Entry<'_>| {
            entry.result.as_ref().is_ok_and(|resolved| {
                resolved.target.is_none()
                    && resolved.candidates.is_empty()
                    && entry.kind != core_reloc::ext::CoreReloKind::TypeIdLocal
            })
        };
        let mut names: Vec<String> = entries
            .iter()
            .filter(|entry| found_nothing(entry))
            .map(|entry| entry.type_name.clone())
            .filter(|name| !name.is_empty())
            .collect();
        names.sort();
        names.dedup();
        let unsearched: HashMap<String, Vec<String>> = if names.is_empty() {
            HashMap::new()
        } else {
            composite
                .probe_many(&names)
                .candidates
                .into_iter()
                .map(|(name, modules)| {
                    let modules = modules
                        .iter()
                        .filter(|module| composite.parsed_module(module).is_none())
                        .map(|module| module.to_string())
                        .collect();
                    (name, modules)
                })
                .collect()
        };
        for entry in entries {
            let Ok(resolved) = entry.result else {
                continue;
            };
            let modules = if found_nothing(entry) {
                unsearched
                    .get(&entry.type_name)
                    .cloned()
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            if !modules.is_empty() {
                report.warnings.push(Warning::TypeInUnsearchedModule {
                    record_index: entry.site.record_index,
                    kind: entry.kind,
                    access: resolved.access.clone(),
                    type_name: entry.type_name.clone(),
                    modules: modules.clone(),
                });
            }
            if resolved.fixup.is_poison() {
                report.poisoned.push(PoisonedSite {
                    section: entry.section.to_string(),
                    insn: entry.site.insn_index,
                    record_index: entry.site.record_index,
                    kind: entry.kind,
                    access: resolved.access.clone(),
                    unsearched_modules: modules.clone(),
                });
            }
            if let Some(fixup) = report
                .fixups
                .iter_mut()
                .find(|fixup| fixup.record_index == entry.site.record_index)
            {
                fixup.unsearched_modules = modules;
            }
        }
    }
}

/// A module that owns a program's attach target.
struct AttachOwner {
    section: String,
    symbol: String,
    module: String,
}

/// Reads an object file.
fn read_object(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::ReadObject {
        path: path.to_path_buf(),
        source,
    })
}

/// A relocation of either source (`.BTF.ext` record or named relocation), as the report
/// sees it.
struct Entry<'a> {
    section: &'a str,
    /// The program whose binding decided it (its entry section).
    program: &'a str,
    site: core_reloc::fixup::RelocationSite,
    kind: core_reloc::ext::CoreReloKind,
    /// The root type's essential name.
    type_name: String,
    /// The extern symbol of a named relocation.
    symbol: Option<&'a str>,
    result: &'a Result<Resolution, ReloError>,
}

/// Both sources in record-index order: `.BTF.ext` records, then named relocations.
fn entries<'a>(
    local: &Btf<'_>,
    records: &'a [RecordResolution<'a>],
    named: &'a [NamedResolution<'a>],
) -> Vec<Entry<'a>> {
    let records = records.iter().map(|resolution| Entry {
        section: resolution.section,
        program: resolution.program,
        site: resolution.site,
        kind: resolution.record.kind,
        type_name: local
            .type_name(core_reloc::btf::TypeId(resolution.record.type_id))
            .map(essential_name)
            .unwrap_or("")
            .to_string(),
        symbol: None,
        result: &resolution.result,
    });
    let named = named.iter().map(|resolution| Entry {
        section: resolution.section,
        program: resolution.program,
        site: resolution.named.site,
        kind: resolution.named.reloc.kind,
        type_name: essential_name(&resolution.named.reloc.type_name).to_string(),
        symbol: Some(resolution.named.symbol.as_str()),
        result: &resolution.result,
    });
    records.chain(named).collect()
}

fn failures(entries: &[Entry<'_>]) -> Vec<Failure> {
    entries
        .iter()
        .filter_map(|entry| {
            let error: &ReloError = entry.result.as_ref().err()?;
            Some(Failure {
                section: entry.section.to_string(),
                program: entry.program.to_string(),
                error: error.clone(),
            })
        })
        .collect()
}

fn fixup_reports(
    entries: &[Entry<'_>],
    outcomes: &[(core_reloc::fixup::RelocationSite, Patched)],
) -> Vec<FixupReport> {
    entries
        .iter()
        .filter_map(|entry| {
            let resolved: &Resolution = entry.result.as_ref().ok()?;
            let patched = outcomes
                .iter()
                .find(|(site, _)| *site == entry.site)
                .map(|(_, patched)| patched);
            let (old, new) = match patched {
                Some(Patched::Rewritten { old, new, .. }) => (*old, Some(*new)),
                Some(Patched::Poisoned { .. }) | None => (resolved.fixup.orig_val, None),
            };
            Some(FixupReport {
                record_index: entry.site.record_index,
                section: entry.section.to_string(),
                program: entry.program.to_string(),
                insn: entry.site.insn_index,
                kind: entry.kind,
                symbol: entry.symbol.map(str::to_string),
                local_type: resolved.local_type.clone(),
                spec: resolved.spec.clone(),
                access: resolved.access.clone(),
                target: resolved.target.clone(),
                old,
                new,
                candidates: resolved.candidates.clone(),
                unsearched_modules: Vec::new(),
            })
        })
        .collect()
}

/// Program names (their function symbols, as aya names programs) and their sections.
fn program_sections(object_bytes: &[u8], object: &BpfObject<'_>) -> Vec<(String, String)> {
    use object::{Object, ObjectSymbol, SymbolKind};
    let Ok(file) = object::File::parse(object_bytes) else {
        return Vec::new();
    };
    file.symbols()
        .filter(|symbol| symbol.kind() == SymbolKind::Text && symbol.is_global())
        .filter_map(|symbol| {
            let index = symbol.section_index()?.0;
            let section = object.program_section(index)?;
            Some((symbol.name().ok()?.to_string(), section.name.to_string()))
        })
        .collect()
}

fn diagnose(
    report: &Report,
    name: &str,
    section: Option<&str>,
    source: aya::programs::ProgramError,
) -> LoadError {
    if let aya::programs::ProgramError::LoadError { verifier_log, .. } = &source {
        let log = verifier_log.to_string();
        if let Some(site) = report
            .poisoned_sites_in_log(&log, section)
            .into_iter()
            .next()
        {
            return LoadError::PoisonedRelocation {
                program: name.to_string(),
                insn: site.insn,
                site: Box::new(site.clone()),
                source,
            };
        }
    }
    LoadError::Program {
        program: name.to_string(),
        source,
    }
}

/// An error and its causes on one line (errors do not repeat their source in their message).
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
