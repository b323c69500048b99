//! BTF-typed attach targets (`fentry/FUNC`, `fentry/MODULE:FUNC`, fexit, fmod_ret, tp_btf)
//! and kernel symbols (kfuncs, typed `__ksym` variables) resolved to a BTF id in vmlinux or
//! in a module's split BTF.
//!
//! Resolution is pure: the composite BTF and a kallsyms text in, `(origin, id)` or a typed
//! reason out. The module that owns a function is found as CO-RE finds modules: kallsyms
//! first (`btrfs_getattr\t[btrfs]`), then the modules whose BTF strings hold the name.

use core_reloc::btf::{Kind, TypeId};
use core_reloc::composite::CompositeBtf;
use core_reloc::kallsyms::{self, SymbolOwner};
use core_reloc::origin::BtfOrigin;

/// The kind of a BTF-typed tracing program, from its section name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracingKind {
    /// `fentry/` (`fentry.s/`).
    FEntry,
    /// `fexit/` (`fexit.s/`).
    FExit,
    /// `fmod_ret/` (`fmod_ret.s/`).
    FModRet,
    /// `tp_btf/`: the target is the `btf_trace_<event>` typedef.
    TpBtf,
}

impl TracingKind {
    /// The `bpf_attach_type` the program is loaded with.
    ///
    /// ```
    /// use core_reloc_loader::btf_attach::TracingKind;
    /// assert_eq!(TracingKind::FEntry.attach_type(), 24); // BPF_TRACE_FENTRY
    /// ```
    pub fn attach_type(self) -> u32 {
        use aya_obj::generated::bpf_attach_type::*;
        (match self {
            TracingKind::FEntry => BPF_TRACE_FENTRY,
            TracingKind::FExit => BPF_TRACE_FEXIT,
            TracingKind::FModRet => BPF_MODIFY_RETURN,
            TracingKind::TpBtf => BPF_TRACE_RAW_TP,
        }) as u32
    }
}

/// What a BTF-typed tracing section attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracingTarget<'a> {
    /// fentry, fexit, fmod_ret or tp_btf.
    pub kind: TracingKind,
    /// The module named with `MODULE:FUNC`, if any.
    pub module: Option<&'a str>,
    /// The function (or tracepoint event for tp_btf).
    pub name: &'a str,
}

impl TracingTarget<'_> {
    /// The BTF type to look up: the FUNC itself, or the tracepoint's `btf_trace_<event>`
    /// TYPEDEF.
    ///
    /// ```
    /// use core_reloc_loader::btf_attach::tracing_target;
    /// let target = tracing_target("tp_btf/btrfs_sync_file").unwrap();
    /// assert_eq!(target.btf_name(), "btf_trace_btrfs_sync_file");
    /// ```
    pub fn btf_name(&self) -> String {
        match self.kind {
            TracingKind::TpBtf => format!("btf_trace_{}", self.name),
            _ => self.name.to_string(),
        }
    }

    fn btf_kind(&self) -> Kind {
        match self.kind {
            TracingKind::TpBtf => Kind::Typedef,
            _ => Kind::Func,
        }
    }

    /// The kallsyms symbol whose owner is the target's module.
    fn kallsyms_symbol(&self) -> String {
        match self.kind {
            TracingKind::TpBtf => format!("__tracepoint_{}", self.name),
            _ => self.name.to_string(),
        }
    }
}

/// The BTF-typed tracing target of a section, libbpf's syntax: `fentry/FUNC`,
/// `fentry/MODULE:FUNC`, likewise `fexit`, `fmod_ret`, their `.s` forms, and `tp_btf/EVENT`.
///
/// ```
/// use core_reloc_loader::btf_attach::{tracing_target, TracingKind};
/// let target = tracing_target("fexit/btrfs:btrfs_getattr").unwrap();
/// assert_eq!((target.kind, target.module, target.name), (TracingKind::FExit, Some("btrfs"), "btrfs_getattr"));
/// assert_eq!(tracing_target("fentry/vfs_read").unwrap().module, None);
/// assert_eq!(tracing_target("kprobe/vfs_read"), None);
/// ```
pub fn tracing_target(section: &str) -> Option<TracingTarget<'_>> {
    const PREFIXES: &[(&str, TracingKind)] = &[
        ("fentry/", TracingKind::FEntry),
        ("fentry.s/", TracingKind::FEntry),
        ("fexit/", TracingKind::FExit),
        ("fexit.s/", TracingKind::FExit),
        ("fmod_ret/", TracingKind::FModRet),
        ("fmod_ret.s/", TracingKind::FModRet),
        ("tp_btf/", TracingKind::TpBtf),
    ];
    let (rest, kind) = PREFIXES
        .iter()
        .find_map(|(prefix, kind)| section.strip_prefix(prefix).map(|rest| (rest, *kind)))?;
    let (module, name) = match rest.split_once(':') {
        Some((module, name)) => (Some(module), name),
        None => (None, rest),
    };
    let valid = |s: &str| !s.is_empty() && !s.contains(['*', '?', '/', ' ', ':']);
    (valid(name) && module.is_none_or(valid)).then_some(TracingTarget { kind, module, name })
}

/// A kernel BTF type an object refers to, with where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelBtfId {
    /// vmlinux or the module.
    pub origin: BtfOrigin,
    /// The id in that BTF (a split id for a module: counted after vmlinux's types).
    pub id: TypeId,
}

/// Why an attach target or kernel symbol has no BTF id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// `MODULE:FUNC` names a module that is not loaded (no symbol, no BTF).
    #[error(
        "module {module} is not loaded (no symbol of it in kallsyms, no /sys/kernel/btf/{module})"
    )]
    ModuleNotLoaded {
        /// The module.
        module: String,
    },
    /// The module that owns the symbol is loaded but has no BTF.
    #[error(
        "module {module}, which defines {name}, has no BTF (/sys/kernel/btf/{module} is missing)"
    )]
    ModuleWithoutBtf {
        /// The module.
        module: String,
        /// The function or symbol.
        name: String,
    },
    /// The owner's BTF has no type of that name and kind.
    #[error("{name} has no BTF {kind} in {origin}")]
    NoBtf {
        /// The function, typedef or variable.
        name: String,
        /// FUNC, TYPEDEF or VAR.
        kind: &'static str,
        /// Where it was looked for.
        origin: BtfOrigin,
    },
    /// No BTF and no kallsyms line has the name.
    #[error("{name} is neither in the kernel's BTF nor in kallsyms")]
    NotFound {
        /// The name.
        name: String,
    },
    /// The object declares the kfunc with a prototype the kernel's does not match (libbpf's
    /// check: same arity, compatible argument and return types).
    #[error("kfunc {name}: the object's prototype is incompatible with {origin}'s")]
    IncompatiblePrototype {
        /// The kfunc.
        name: String,
        /// Where the kernel's prototype is.
        origin: BtfOrigin,
    },
    /// The module's BTF could not be read.
    #[error("module {module}'s BTF: {reason}")]
    ModuleBtf {
        /// The module.
        module: String,
        /// Why, as the composite reported it.
        reason: String,
    },
}

/// Resolves a tracing program's target against the kernel's BTF.
///
/// `fentry/MODULE:FUNC` looks in that module only. `fentry/FUNC` takes vmlinux's FUNC when
/// vmlinux has one, else the module kallsyms says owns the symbol, else a module whose BTF
/// strings hold the name.
///
/// ```
/// use core_reloc::btf::{BtfBuilder, Linkage};
/// use core_reloc::composite::CompositeBtf;
/// use core_reloc_loader::btf_attach::{resolve_tracing_target, tracing_target};
/// let mut base = BtfBuilder::new();
/// let proto = base.add_func_proto(core_reloc::btf::TypeId(0), &[]);
/// base.add_func("vfs_read", proto, Linkage::Global);
/// let vmlinux = base.build();
/// let composite = CompositeBtf::from_blobs(vmlinux, Vec::<(String, Vec<u8>)>::new())?;
/// let target = tracing_target("fentry/vfs_read").unwrap();
/// let resolved = resolve_tracing_target(&composite, "", &target)?;
/// assert_eq!(resolved.origin, core_reloc::origin::BtfOrigin::Vmlinux);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve_tracing_target(
    composite: &CompositeBtf,
    kallsyms_text: &str,
    target: &TracingTarget<'_>,
) -> Result<KernelBtfId, ResolveError> {
    resolve(
        composite,
        kallsyms_text,
        target.module,
        &target.btf_name(),
        target.btf_kind(),
        &target.kallsyms_symbol(),
    )
}

/// Resolves a kfunc (`kind` FUNC) or a typed `__ksym` variable (`kind` VAR) by name: vmlinux
/// first, then its kallsyms owner, then modules whose BTF strings hold the name.
///
/// ```
/// use core_reloc::btf::{BtfBuilder, Kind, Linkage};
/// use core_reloc::composite::CompositeBtf;
/// use core_reloc_loader::btf_attach::{resolve_kernel_symbol, ResolveError};
/// let composite = CompositeBtf::from_blobs(BtfBuilder::new().build(), Vec::<(String, Vec<u8>)>::new())?;
/// let error = resolve_kernel_symbol(&composite, "", "bpf_skb_ct_lookup", Kind::Func).unwrap_err();
/// assert!(matches!(error, ResolveError::NotFound { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve_kernel_symbol(
    composite: &CompositeBtf,
    kallsyms_text: &str,
    name: &str,
    kind: Kind,
) -> Result<KernelBtfId, ResolveError> {
    resolve(composite, kallsyms_text, None, name, kind, name)
}

fn resolve(
    composite: &CompositeBtf,
    kallsyms_text: &str,
    module: Option<&str>,
    btf_name: &str,
    kind: Kind,
    symbol: &str,
) -> Result<KernelBtfId, ResolveError> {
    if let Some(module) = module {
        if module == "vmlinux" {
            return in_vmlinux(composite, btf_name, kind).ok_or_else(|| ResolveError::NoBtf {
                name: btf_name.to_string(),
                kind: kind.name(),
                origin: BtfOrigin::Vmlinux,
            });
        }
        if !composite.has_module(module) {
            return Err(if module_in_kallsyms(kallsyms_text, module) {
                ResolveError::ModuleWithoutBtf {
                    module: module.to_string(),
                    name: btf_name.to_string(),
                }
            } else {
                ResolveError::ModuleNotLoaded {
                    module: module.to_string(),
                }
            });
        }
        return in_module(composite, module, btf_name, kind)?.ok_or_else(|| ResolveError::NoBtf {
            name: btf_name.to_string(),
            kind: kind.name(),
            origin: BtfOrigin::module(module),
        });
    }
    if let Some(found) = in_vmlinux(composite, btf_name, kind) {
        return Ok(found);
    }
    // kallsyms lines that cannot be parsed only lose their owner hint: the probe below still
    // finds the module.
    let owners = kallsyms::owners_of(kallsyms_text, &[symbol]).unwrap_or_default();
    let owner_modules: Vec<&str> = owners
        .get(symbol)
        .into_iter()
        .flatten()
        .filter_map(|owner| match owner {
            SymbolOwner::Module(module) => Some(*module),
            SymbolOwner::Vmlinux => None,
        })
        .collect();
    for module in &owner_modules {
        if !composite.has_module(module) {
            return Err(ResolveError::ModuleWithoutBtf {
                module: module.to_string(),
                name: btf_name.to_string(),
            });
        }
        if let Some(found) = in_module(composite, module, btf_name, kind)? {
            return Ok(found);
        }
    }
    for module in composite.probe(btf_name).candidates.iter() {
        if let Some(found) = in_module(composite, module, btf_name, kind)? {
            return Ok(found);
        }
    }
    if let Some(module) = owner_modules.first() {
        return Err(ResolveError::NoBtf {
            name: btf_name.to_string(),
            kind: kind.name(),
            origin: BtfOrigin::module(module),
        });
    }
    if owners.contains_key(symbol) {
        return Err(ResolveError::NoBtf {
            name: btf_name.to_string(),
            kind: kind.name(),
            origin: BtfOrigin::Vmlinux,
        });
    }
    Err(ResolveError::NotFound {
        name: btf_name.to_string(),
    })
}

/// Checks a kfunc extern's prototype in the object's BTF against the kernel FUNC `found`, as
/// libbpf does before it lets a call through. An object without BTF for the extern (not made by
/// clang or bpf-linker) is not checked.
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, Linkage};
/// use core_reloc::composite::CompositeBtf;
/// use core_reloc::origin::BtfOrigin;
/// use core_reloc_loader::btf_attach::{check_kfunc_prototype, KernelBtfId};
/// let mut b = BtfBuilder::new();
/// let int = b.add_int("int", 4, IntEncoding::SIGNED);
/// let proto = b.add_func_proto(int, &[("x", int)]);
/// let func = b.add_func("kf", proto, Linkage::Global);
/// let kernel = CompositeBtf::from_blobs(b.build(), Vec::<(String, Vec<u8>)>::new())?;
/// let local = Btf::parse(b.build())?;
/// let found = KernelBtfId { origin: BtfOrigin::Vmlinux, id: func };
/// check_kfunc_prototype(&local, "kf", &kernel, &found)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_kfunc_prototype(
    local: &core_reloc::btf::Btf<'_>,
    name: &str,
    composite: &CompositeBtf,
    found: &KernelBtfId,
) -> Result<(), ResolveError> {
    let Some(local_func) = local.find_by_name_kind(name, Kind::Func) else {
        return Ok(());
    };
    let kernel = match &found.origin {
        BtfOrigin::Vmlinux => composite.vmlinux(),
        BtfOrigin::Module(module) => {
            composite
                .module(module)
                .map_err(|error| ResolveError::ModuleBtf {
                    module: module.to_string(),
                    reason: error.to_string(),
                })?
        }
    };
    let proto =
        |btf: &core_reloc::btf::Btf<'_>, id| btf.type_by_id(id).ok().and_then(|ty| ty.type_ref());
    let compatible = match (proto(local, local_func), proto(kernel, found.id)) {
        (Some(local_proto), Some(kernel_proto)) => {
            core_reloc::engine::types_are_compatible(local, local_proto, kernel, kernel_proto)
                .unwrap_or(false)
        }
        _ => false,
    };
    if compatible {
        Ok(())
    } else {
        Err(ResolveError::IncompatiblePrototype {
            name: name.to_string(),
            origin: found.origin.clone(),
        })
    }
}

fn in_vmlinux(composite: &CompositeBtf, name: &str, kind: Kind) -> Option<KernelBtfId> {
    composite
        .vmlinux()
        .find_by_name_kind(name, kind)
        .map(|id| KernelBtfId {
            origin: BtfOrigin::Vmlinux,
            id,
        })
}

fn in_module(
    composite: &CompositeBtf,
    module: &str,
    name: &str,
    kind: Kind,
) -> Result<Option<KernelBtfId>, ResolveError> {
    let btf = composite
        .module(module)
        .map_err(|error| ResolveError::ModuleBtf {
            module: module.to_string(),
            reason: error.to_string(),
        })?;
    // Only the module's own types: a vmlinux type of that name was looked for already.
    let first = btf.first_type_id().0;
    Ok(btf
        .types_by_name(name)
        .filter(|id| id.0 >= first)
        .find(|&id| btf.type_by_id(id).is_ok_and(|ty| ty.kind() == kind))
        .map(|id| KernelBtfId {
            origin: BtfOrigin::module(module),
            id,
        }))
}

fn module_in_kallsyms(text: &str, module: &str) -> bool {
    kallsyms::entries(text)
        .filter_map(Result::ok)
        .any(|entry| entry.owner == SymbolOwner::Module(module))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core_reloc::btf::{BtfBuilder, Linkage};

    /// vmlinux with `vfs_read`; module `btrfs` with FUNC `btrfs_getattr`, TYPEDEF
    /// `btf_trace_btrfs_sync_file` and a VAR `btrfs_var`; module `nobtf` listed in kallsyms only.
    fn composite() -> CompositeBtf {
        let mut base = BtfBuilder::new();
        let int = base.add_int("int", 4, core_reloc::btf::IntEncoding::SIGNED);
        let proto = base.add_func_proto(int, &[]);
        base.add_func("vfs_read", proto, Linkage::Global);
        let vmlinux = base.build();
        let base_btf = core_reloc::btf::Btf::parse(vmlinux.clone()).unwrap();
        let mut split = BtfBuilder::new_split(&base_btf);
        let proto = split.add_func_proto(int, &[]);
        split.add_func("btrfs_getattr", proto, Linkage::Static);
        split.add_typedef("btf_trace_btrfs_sync_file", proto);
        split.add_var("btrfs_var", int, Linkage::Global);
        CompositeBtf::from_blobs(vmlinux, vec![("btrfs".to_string(), split.build())]).unwrap()
    }

    const KALLSYMS: &str = "0 T vfs_read\n0 t btrfs_getattr\t[btrfs]\n0 d __tracepoint_btrfs_sync_file\t[btrfs]\n0 t nobtf_fn\t[nobtf]\n0 T only_symbol\n";

    fn resolve_section(section: &str) -> Result<KernelBtfId, ResolveError> {
        resolve_tracing_target(&composite(), KALLSYMS, &tracing_target(section).unwrap())
    }

    #[test]
    fn sections_parse_with_and_without_module() {
        let target = tracing_target("fmod_ret.s/btrfs:btrfs_sync_file").unwrap();
        assert_eq!(target.kind, TracingKind::FModRet);
        assert_eq!(target.module, Some("btrfs"));
        for bad in [
            "fentry/",
            "fentry/btrfs:",
            "fentry/:f",
            "fentry/a:b:c",
            "fentry/f*",
            "xdp",
        ] {
            assert_eq!(tracing_target(bad), None, "{bad}");
        }
    }

    #[test]
    fn module_function_resolves_to_its_split_id() {
        let composite = composite();
        let expected = composite.vmlinux().type_count();
        for section in ["fentry/btrfs_getattr", "fexit/btrfs:btrfs_getattr"] {
            let found = resolve_section(section).unwrap();
            assert_eq!(found.origin, BtfOrigin::module("btrfs"), "{section}");
            // The split BTF's first own type is the proto, then the FUNC.
            assert_eq!(found.id, TypeId(expected + 1), "{section}");
        }
        assert_eq!(
            resolve_section("fentry/vfs_read").unwrap().origin,
            BtfOrigin::Vmlinux
        );
    }

    #[test]
    fn tp_btf_resolves_the_typedef() {
        let found = resolve_section("tp_btf/btrfs_sync_file").unwrap();
        assert_eq!(found.origin, BtfOrigin::module("btrfs"));
        assert_eq!(
            composite()
                .module("btrfs")
                .unwrap()
                .type_by_id(found.id)
                .unwrap()
                .kind(),
            Kind::Typedef
        );
    }

    #[test]
    fn typed_errors() {
        assert_eq!(
            resolve_section("fentry/absent:f"),
            Err(ResolveError::ModuleNotLoaded {
                module: "absent".into()
            })
        );
        assert_eq!(
            resolve_section("fentry/nobtf:nobtf_fn"),
            Err(ResolveError::ModuleWithoutBtf {
                module: "nobtf".into(),
                name: "nobtf_fn".into()
            })
        );
        assert_eq!(
            resolve_section("fentry/nobtf_fn"),
            Err(ResolveError::ModuleWithoutBtf {
                module: "nobtf".into(),
                name: "nobtf_fn".into()
            })
        );
        assert_eq!(
            resolve_section("fentry/btrfs:btrfs_no_such"),
            Err(ResolveError::NoBtf {
                name: "btrfs_no_such".into(),
                kind: "FUNC",
                origin: BtfOrigin::module("btrfs")
            })
        );
        assert_eq!(
            resolve_section("fentry/only_symbol"),
            Err(ResolveError::NoBtf {
                name: "only_symbol".into(),
                kind: "FUNC",
                origin: BtfOrigin::Vmlinux
            })
        );
        assert_eq!(
            resolve_section("fentry/nowhere"),
            Err(ResolveError::NotFound {
                name: "nowhere".into()
            })
        );
        // A FUNC is not a VAR.
        assert!(matches!(
            resolve_kernel_symbol(&composite(), KALLSYMS, "btrfs_getattr", Kind::Var),
            Err(ResolveError::NoBtf { .. })
        ));
    }

    #[test]
    fn kfunc_prototypes_are_checked_like_libbpf() {
        // Kernel: int kf(struct conn *); local declarations with a STRUCT, a FWD, two args.
        let build = |param: &dyn Fn(&mut BtfBuilder) -> TypeId, two: bool| {
            let mut b = BtfBuilder::new();
            let int = b.add_int("int", 4, core_reloc::btf::IntEncoding::SIGNED);
            let target = param(&mut b);
            let ptr = b.add_ptr(target);
            let params: Vec<(&str, TypeId)> = if two {
                vec![("c", ptr), ("x", int)]
            } else {
                vec![("c", ptr)]
            };
            let proto = b.add_func_proto(int, &params);
            b.add_func("kf", proto, Linkage::Extern);
            b.build()
        };
        let conn_struct = |b: &mut BtfBuilder| b.add_struct("conn", 8, &[]);
        let conn_fwd = |b: &mut BtfBuilder| b.add_fwd("conn", false);
        let kernel =
            CompositeBtf::from_blobs(build(&conn_struct, false), Vec::<(String, Vec<u8>)>::new())
                .unwrap();
        let found = resolve_kernel_symbol(&kernel, "", "kf", Kind::Func).unwrap();
        let check = |local: Vec<u8>| {
            let local = core_reloc::btf::Btf::parse(local).unwrap();
            check_kfunc_prototype(&local, "kf", &kernel, &found)
        };
        assert_eq!(check(build(&conn_struct, false)), Ok(()));
        let incompatible = Err(ResolveError::IncompatiblePrototype {
            name: "kf".into(),
            origin: BtfOrigin::Vmlinux,
        });
        assert_eq!(check(build(&conn_fwd, false)), incompatible);
        assert_eq!(check(build(&conn_struct, true)), incompatible);
    }

    #[test]
    fn kernel_symbols_found_by_probe_without_kallsyms() {
        let found = resolve_kernel_symbol(&composite(), "", "btrfs_var", Kind::Var).unwrap();
        assert_eq!(found.origin, BtfOrigin::module("btrfs"));
    }
}
