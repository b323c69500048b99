//! [`CompositeBtf`]: a kernel's BTF as one thing, vmlinux plus module BTFs parsed on demand.
//!
//! vmlinux is parsed at construction (memory-mapped when the kernel allows). The files may be
//! raw BTF or ELF files with `.BTF` (a vmlinux ELF, `.ko` modules), plain or xz/zstd
//! compressed, told apart by content ([`crate::btf_file`]); see [`CompositeSource`] for where
//! they can come from. Modules are only listed: a module's BTF is read and parsed the first time it is asked for, at most once
//! even under concurrent access, and the outcome, success or failure, is kept for the
//! composite's lifetime. A broken, vanished or unreadable module fails that module alone
//! with a [`ModuleError`] naming it; vmlinux and the other modules keep working.
//!
//! To decide which module to parse, [`CompositeBtf::probe`] scans module string sections for
//! a type name without parsing them.
//!
//! ```
//! use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, Kind, MemberSpec};
//! use core_reloc::composite::CompositeBtf;
//! use core_reloc::BtfOrigin;
//!
//! let mut vmlinux = BtfBuilder::new();
//! let int = vmlinux.add_int("int", 4, IntEncoding::SIGNED);
//! let vmlinux = vmlinux.build();
//! let base = Btf::parse(&vmlinux[..])?;
//! let mut btrfs = BtfBuilder::new_split(&base);
//! btrfs.add_struct("btrfs_inode", 8, &[MemberSpec::new("generation", int, 0)]);
//! let btrfs = btrfs.build();
//!
//! let kernel = CompositeBtf::from_blobs(vmlinux.clone(), [("btrfs", btrfs)])?;
//! assert_eq!(kernel.modules_containing("btrfs_inode"), ["btrfs"]); // no parse yet
//! assert_eq!(kernel.stats().modules_parsed, 0);
//!
//! let btrfs = kernel.module("btrfs")?;
//! let (origin, id) = kernel.find_type("btrfs_inode", Kind::Struct).unwrap();
//! assert_eq!(origin, BtfOrigin::module("btrfs"));
//! assert!(id.0 >= kernel.vmlinux().type_count());
//! assert_eq!(btrfs.resolved_size(id)?, 8);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod probe;
mod probe_memo;
mod sources;
mod stats;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::BtfOrigin;
use crate::btf::{Btf, BtfBytes, Kind, LoadInfo, TypeId};
use crate::btf_file::BtfFile;
use crate::target::TargetBtf;

pub use error::{CompositeError, ModuleError};
pub use probe::{Probe, ProbeMany};
pub use sources::{CompositeSource, module_name_from_file};
pub use stats::{CompositeStats, ModuleState, ModuleStats, ParseReason};

/// Where the running kernel exposes its BTF.
pub const SYS_KERNEL_BTF: &str = "/sys/kernel/btf";

/// The file name of the base BTF in a BTF directory.
pub const VMLINUX: &str = "vmlinux";

/// Where one module's bytes are, until parsed.
#[derive(Debug)]
enum ModuleBytes {
    File(PathBuf),
    Blob(Arc<[u8]>),
}

/// The once-only result of parsing a module.
#[derive(Debug)]
struct ParseOutcome {
    reason: ParseReason,
    load: Option<LoadInfo>,
    result: Result<Btf<'static>, ModuleError>,
}

#[derive(Debug)]
struct ModuleSlot {
    name: Arc<str>,
    /// `BtfOrigin::Module(name)`; handed out by reference, so it lives in the slot.
    origin: BtfOrigin,
    bytes: ModuleBytes,
    /// Boxed: most of the thousands of slots never parse, and an unboxed outcome (a whole
    /// `Btf`) would make each slot several hundred bytes larger.
    outcome: OnceLock<Box<ParseOutcome>>,
    parse_runs: AtomicU32,
    probes: AtomicU32,
    probe_bytes_read: AtomicU64,
    /// What the name probe learned of this module's strings (kept: a module's BTF does not
    /// change while it is loaded).
    memo: probe_memo::SlotMemo,
}

impl ModuleSlot {
    fn new(name: &str, bytes: ModuleBytes) -> ModuleSlot {
        let name: Arc<str> = Arc::from(name);
        ModuleSlot {
            origin: BtfOrigin::Module(name.clone()),
            name,
            bytes,
            outcome: OnceLock::new(),
            parse_runs: AtomicU32::new(0),
            probes: AtomicU32::new(0),
            probe_bytes_read: AtomicU64::new(0),
            memo: probe_memo::SlotMemo::default(),
        }
    }

    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn parsed(&self) -> Option<&Btf<'static>> {
        self.outcome.get()?.result.as_ref().ok()
    }
}

/// A kernel's BTF: vmlinux plus lazily parsed module BTFs, shareable across threads.
///
/// See the [module documentation](self) for an example. Every `&Btf<'static>` it hands out
/// stays valid as long as the composite: module BTFs are split on a shared
/// `Arc<Btf<'static>>` of vmlinux, and parsed modules are never dropped or replaced.
#[derive(Debug)]
pub struct CompositeBtf {
    source: CompositeSource,
    vmlinux: Arc<Btf<'static>>,
    vmlinux_origin: BtfOrigin,
    /// Sorted by name: lookups are binary searches and iteration order is deterministic.
    modules: Vec<ModuleSlot>,
    /// Names the probe has looked for, numbered for the slots' memos.
    probed_names: probe_memo::NameTable,
}

impl CompositeBtf {
    fn assemble(
        source: CompositeSource,
        vmlinux: Btf<'static>,
        mut modules: Vec<ModuleSlot>,
    ) -> CompositeBtf {
        modules.sort_by(|a, b| a.name().cmp(b.name()));
        CompositeBtf {
            source,
            vmlinux: Arc::new(vmlinux),
            vmlinux_origin: BtfOrigin::Vmlinux,
            modules,
            probed_names: probe_memo::NameTable::default(),
        }
    }

    /// Where the BTF comes from.
    pub fn source(&self) -> &CompositeSource {
        &self.source
    }

    /// vmlinux's BTF.
    pub fn vmlinux(&self) -> &Btf<'static> {
        &self.vmlinux
    }

    /// vmlinux's BTF as the shared base that module BTFs are split on.
    pub fn vmlinux_shared(&self) -> &Arc<Btf<'static>> {
        &self.vmlinux
    }

    /// All module names, in name order (parsed or not).
    pub fn module_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.modules.iter().map(|slot| &**slot.name())
    }

    /// Whether a module of that name was listed.
    pub fn has_module(&self, name: &str) -> bool {
        self.slot(name).is_some()
    }

    fn slot(&self, name: &str) -> Option<&ModuleSlot> {
        let index = self
            .modules
            .binary_search_by(|slot| (**slot.name()).cmp(name))
            .ok()?;
        Some(&self.modules[index])
    }

    /// The origin for `name` (`"vmlinux"` or a listed module), by reference so it can feed
    /// [`TargetBtf`]; `None` for names not listed.
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder};
    /// use core_reloc::composite::CompositeBtf;
    /// use core_reloc::BtfOrigin;
    ///
    /// let vmlinux = BtfBuilder::new().build();
    /// let module = BtfBuilder::new_split(&Btf::parse(&vmlinux[..])?).build();
    /// let kernel = CompositeBtf::from_blobs(vmlinux, [("xfs", module)])?;
    /// assert_eq!(kernel.origin_of("vmlinux"), Some(&BtfOrigin::Vmlinux));
    /// assert_eq!(kernel.origin_of("xfs"), Some(&BtfOrigin::module("xfs")));
    /// assert_eq!(kernel.origin_of("ext4"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn origin_of(&self, name: &str) -> Option<&BtfOrigin> {
        if name == VMLINUX {
            return Some(&self.vmlinux_origin);
        }
        self.slot(name).map(|slot| &slot.origin)
    }

    /// A module's BTF, split on vmlinux, parsing it on the first call.
    ///
    /// The result, including a failure, is cached: a broken module is parsed and reported
    /// (with `log::warn!`) once and keeps returning the same error. Concurrent first calls
    /// parse once; the others wait for that result.
    ///
    /// How the bytes were loaded (mapped, read, decompressed, or given in memory) is in the
    /// module's own [`Btf::load_info`] and in [`module_stats`](Self::module_stats), which
    /// also has it for a module whose parse failed.
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder};
    /// use core_reloc::composite::{CompositeBtf, ModuleError};
    ///
    /// let vmlinux = BtfBuilder::new().build();
    /// let good = BtfBuilder::new_split(&Btf::parse(&vmlinux[..])?).build();
    /// let kernel = CompositeBtf::from_blobs(vmlinux, [("good", good), ("broken", vec![1, 2, 3])])?;
    /// assert!(kernel.module("good").is_ok());
    /// let error = kernel.module("broken").unwrap_err();
    /// assert!(matches!(error, ModuleError::File { .. })); // not BTF, ELF, xz or zstd
    /// assert_eq!(error.module(), "broken");
    /// assert_eq!(kernel.module_stats("broken").unwrap().parse_runs, 1);
    /// kernel.module("broken").unwrap_err(); // cached: not parsed again
    /// assert_eq!(kernel.module_stats("broken").unwrap().parse_runs, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn module(&self, name: &str) -> Result<&Btf<'static>, ModuleError> {
        self.module_for(name, ParseReason::Requested)
    }

    /// Like [`module`](Self::module), recording why the module is parsed if this call is the
    /// one that parses it.
    pub fn module_for(
        &self,
        name: &str,
        reason: ParseReason,
    ) -> Result<&Btf<'static>, ModuleError> {
        let slot = self.slot(name).ok_or_else(|| ModuleError::NotListed {
            module: name.to_string(),
        })?;
        let outcome = slot
            .outcome
            .get_or_init(|| Box::new(self.parse_slot(slot, reason)));
        outcome.result.as_ref().map_err(Clone::clone)
    }

    /// A module's BTF if it has already been parsed successfully; never parses.
    pub fn parsed_module(&self, name: &str) -> Option<&Btf<'static>> {
        self.slot(name)?.parsed()
    }

    /// Parsed modules (successful, empty included), in name order.
    pub fn parsed_modules(&self) -> impl Iterator<Item = (&BtfOrigin, &Btf<'static>)> + '_ {
        self.modules
            .iter()
            .filter_map(|slot| Some((&slot.origin, slot.parsed()?)))
    }

    fn parse_slot(&self, slot: &ModuleSlot, reason: ParseReason) -> ParseOutcome {
        slot.parse_runs.fetch_add(1, Ordering::Relaxed);
        let name = slot.name();
        let (load, result) = self.load_slot(slot);
        match &result {
            Ok(btf) if btf.own_type_count() == 0 => {
                log::debug!("module {name}: BTF parsed ({reason}): empty, no types of its own")
            }
            Ok(btf) => log::debug!(
                "module {name}: BTF parsed ({reason}): {} types, {:?}",
                btf.own_type_count(),
                load
            ),
            Err(error) => log::warn!("{error} (parsed because: {reason})"),
        }
        ParseOutcome {
            reason,
            load,
            result,
        }
    }

    /// Reads and parses a module's BTF (split on vmlinux, relocated first if it carries a
    /// distilled base) without keeping it in the slot: what the slot would keep, and how the
    /// bytes were obtained (`None` when the file could not be read).
    fn load_slot(
        &self,
        slot: &ModuleSlot,
    ) -> (Option<LoadInfo>, Result<Btf<'static>, ModuleError>) {
        let name = slot.name();
        let loaded = match &slot.bytes {
            ModuleBytes::File(path) => BtfFile::open(path),
            // Raw BTF stays shared with the caller; an ELF or compressed blob is unpacked.
            ModuleBytes::Blob(blob) => BtfFile::parse(BtfBytes::Shared(blob.clone())),
        };
        match loaded {
            Ok(file) => (
                Some(file.load),
                file.parse_split_btf(self.vmlinux.clone())
                    .map_err(|error| ModuleError::from_file(name, error)),
            ),
            Err(error) => (None, Err(ModuleError::from_file(name, error))),
        }
    }

    /// vmlinux as a target for the CO-RE engine.
    ///
    /// ```
    /// use core_reloc::btf::{BtfBuilder, IntEncoding, Kind};
    /// use core_reloc::composite::CompositeBtf;
    /// use core_reloc::engine::Targets;
    ///
    /// let mut vmlinux = BtfBuilder::new();
    /// vmlinux.add_int("int", 4, IntEncoding::SIGNED);
    /// let kernel = CompositeBtf::from_blobs(vmlinux.build(), Vec::<(String, Vec<u8>)>::new())?;
    /// let mut targets = Targets::new(kernel.vmlinux_target());
    /// targets.want("int", Kind::Int);
    /// targets.search();
    /// assert_eq!(targets.candidate_count("int", Kind::Int), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn vmlinux_target(&self) -> TargetBtf<'_> {
        TargetBtf {
            origin: &self.vmlinux_origin,
            btf: &self.vmlinux,
        }
    }

    /// A module as a target for the CO-RE engine (for `Targets::add_module`), parsing it if
    /// needed.
    pub fn module_target(&self, name: &str) -> Result<TargetBtf<'_>, ModuleError> {
        self.module_target_for(name, ParseReason::Requested)
    }

    /// Like [`module_target`](Self::module_target), with the reason recorded if it parses.
    pub fn module_target_for(
        &self,
        name: &str,
        reason: ParseReason,
    ) -> Result<TargetBtf<'_>, ModuleError> {
        let btf = self.module_for(name, reason)?;
        let origin = &self.slot(name).expect("module_for found the slot").origin;
        Ok(TargetBtf { origin, btf })
    }

    /// The target for an origin: vmlinux, or a module (parsed if needed).
    pub fn target(&self, origin: &BtfOrigin) -> Result<TargetBtf<'_>, ModuleError> {
        match origin {
            BtfOrigin::Vmlinux => Ok(self.vmlinux_target()),
            BtfOrigin::Module(name) => self.module_target(name),
        }
    }

    /// The first type named `name` of kind `kind`, in vmlinux, then in the modules already
    /// parsed (in name order). Never parses a module; use [`probe`](Self::probe) and
    /// [`module_for`](Self::module_for) to bring one in.
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder, Kind};
    /// use core_reloc::composite::{CompositeBtf, ParseReason};
    /// use core_reloc::BtfOrigin;
    ///
    /// let vmlinux = BtfBuilder::new().build();
    /// let mut xfs = BtfBuilder::new_split(&Btf::parse(&vmlinux[..])?);
    /// xfs.add_struct("xfs_inode", 64, &[]);
    /// let kernel = CompositeBtf::from_blobs(vmlinux, [("xfs", xfs.build())])?;
    /// assert_eq!(kernel.find_type("xfs_inode", Kind::Struct), None); // xfs not parsed
    /// for module in kernel.modules_containing("xfs_inode") {
    ///     kernel.module_for(&module, ParseReason::TypeSearch { type_name: "xfs_inode".into() })?;
    /// }
    /// let (origin, id) = kernel.find_type("xfs_inode", Kind::Struct).unwrap();
    /// assert_eq!((origin, id.0), (BtfOrigin::module("xfs"), 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find_type(&self, name: &str, kind: Kind) -> Option<(BtfOrigin, TypeId)> {
        if let Some(id) = self.vmlinux.find_by_name_kind(name, kind) {
            return Some((BtfOrigin::Vmlinux, id));
        }
        self.parsed_modules().find_map(|(origin, btf)| {
            own_types_named(btf, name)
                .find(|&id| btf.type_by_id(id).is_ok_and(|ty| ty.kind() == kind))
                .map(|id| (origin.clone(), id))
        })
    }

    /// A module's statistics; `None` if not listed.
    pub fn module_stats(&self, name: &str) -> Option<ModuleStats> {
        self.slot(name).map(slot_stats)
    }

    /// A snapshot of what has been parsed, mapped and read so far.
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder, LoadMethod};
    /// use core_reloc::composite::{CompositeBtf, ModuleState, ParseReason};
    ///
    /// let vmlinux = BtfBuilder::new().build();
    /// let empty = BtfBuilder::new_split(&Btf::parse(&vmlinux[..])?).build();
    /// let kernel = CompositeBtf::from_blobs(vmlinux, [("a", empty.clone()), ("b", empty)])?;
    /// kernel.module_for("b", ParseReason::Other("example".into()))?;
    /// let stats = kernel.stats();
    /// assert_eq!(stats.vmlinux.method, LoadMethod::InMemory);
    /// assert_eq!((stats.modules_listed, stats.modules_parsed, stats.modules_empty), (2, 1, 1));
    /// assert_eq!(stats.attempted[0].reason, Some(ParseReason::Other("example".into())));
    /// assert!(matches!(stats.attempted[0].state, ModuleState::Empty));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> CompositeStats {
        let mut stats = CompositeStats {
            vmlinux: self.vmlinux.load_info(),
            modules_listed: self.modules.len(),
            modules_parsed: 0,
            modules_empty: 0,
            modules_failed: 0,
            bytes_mapped: 0,
            bytes_read: 0,
            probe_bytes_read: 0,
            bytes_in_memory: 0,
            attempted: Vec::new(),
        };
        stats.account(self.vmlinux.load_info());
        for slot in &self.modules {
            let probe_read = slot.probe_bytes_read.load(Ordering::Relaxed);
            stats.probe_bytes_read += probe_read;
            stats.bytes_read += probe_read;
            if slot.outcome.get().is_none() {
                continue;
            }
            let module = slot_stats(slot);
            if let Some(load) = module.load {
                stats.account(load);
            }
            match module.state {
                ModuleState::Parsed { .. } => stats.modules_parsed += 1,
                ModuleState::Empty => {
                    stats.modules_parsed += 1;
                    stats.modules_empty += 1;
                }
                ModuleState::Failed(_) => stats.modules_failed += 1,
                ModuleState::NotParsed => {}
            }
            stats.attempted.push(module);
        }
        stats
    }
}

fn slot_stats(slot: &ModuleSlot) -> ModuleStats {
    let outcome = slot.outcome.get().map(|outcome| &**outcome);
    let state = match outcome.map(|o| &o.result) {
        None => ModuleState::NotParsed,
        Some(Ok(btf)) if btf.own_type_count() == 0 => ModuleState::Empty,
        Some(Ok(btf)) => ModuleState::Parsed {
            own_types: btf.own_type_count(),
        },
        Some(Err(error)) => ModuleState::Failed(error.clone()),
    };
    ModuleStats {
        name: slot.name().clone(),
        state,
        reason: outcome.map(|o| o.reason.clone()),
        load: outcome.and_then(|o| o.load),
        parse_runs: slot.parse_runs.load(Ordering::Relaxed),
        probes: slot.probes.load(Ordering::Relaxed),
        probe_bytes_read: slot.probe_bytes_read.load(Ordering::Relaxed),
    }
}

/// Ids of a split BTF's own types named `name` (not its base's).
pub(crate) fn own_types_named<'b>(
    btf: &'b Btf<'static>,
    name: &'b str,
) -> impl Iterator<Item = TypeId> + 'b {
    let first = btf.first_type_id();
    btf.types_by_name(name).filter(move |&id| id >= first)
}
