//! Candidate search: which target types share a local type's essential name and kind.
//!
//! One pass over each target BTF answers every local type at once (a hash look-up per named
//! target type of a wanted kind), so the cost does not grow with the number of records or
//! local types. vmlinux is searched first; a module is searched only for the names that have
//! no candidate in vmlinux, as libbpf does.
//!
//! Candidates come in precedence tiers ([`CandidateTier`]): vmlinux, then the module that
//! owns the program's attach target, then modules named explicitly, then modules found by
//! the on-miss search. For one program, only the first tier that has any candidate for a
//! type takes part.

use std::collections::HashMap;

use crate::BtfOrigin;

use crate::btf::{Btf, Kind, TypeId};
use crate::target::{TargetBtf, TargetRef};

use super::name::{essential_len, essential_name};

/// Why a module is among the targets; a module can have several roles (merged when it is
/// added again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleRole {
    /// It owns the attach target of some programs; it is in the
    /// [`AttachTarget`](CandidateTier::AttachTarget) tier for those programs only.
    AttachTarget,
    /// The user named it.
    Explicit,
    /// The on-miss search found a wanted name in it (or every module was asked for).
    Searched,
}

/// The precedence of a candidate for one program: lower tiers win outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateTier {
    /// vmlinux.
    Vmlinux,
    /// The module that owns the program's attach target.
    AttachTarget,
    /// A module named explicitly.
    Explicit,
    /// A module found by the on-miss search.
    Searched,
}

#[derive(Debug, Clone, Copy, Default)]
struct Roles {
    attach_target: bool,
    explicit: bool,
    searched: bool,
}

/// A candidate that takes part for one program.
#[derive(Debug, Clone)]
pub(crate) struct TieredCandidate<'t> {
    pub tier: CandidateTier,
    pub target: TargetRef,
    pub id: TypeId,
    pub btf: &'t Btf<'t>,
}

/// A candidate: index into [`Targets::targets`] and the type id there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Candidate {
    pub target: usize,
    pub id: TypeId,
}

/// vmlinux is scanned first, so its candidates lead the list.
fn in_vmlinux(candidates: &[Candidate]) -> bool {
    candidates.first().is_some_and(|c| c.target == 0)
}

/// The kinds that can be candidates for each other collapse to one key (ENUM ~ ENUM64).
fn kind_key(kind: Kind) -> Kind {
    if kind.is_enum() { Kind::Enum } else { kind }
}

/// Target BTFs and, for every wanted local name, their candidate types.
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};
/// use core_reloc::engine::Targets;
/// use core_reloc::target::TargetBtf;
/// use core_reloc::BtfOrigin;
///
/// let mut target = BtfBuilder::new();
/// let int = target.add_int("int", 4, IntEncoding::SIGNED);
/// target.add_struct("task_struct", 8, &[MemberSpec::new("pid", int, 0)]);
/// let target = Btf::parse(target.build())?;
///
/// let mut targets = Targets::new(TargetBtf { origin: &BtfOrigin::Vmlinux, btf: &target });
/// targets.want("task_struct___v2", core_reloc::btf::Kind::Struct);
/// targets.want("btrfs_inode", core_reloc::btf::Kind::Struct);
/// targets.search();
/// assert_eq!(targets.candidate_count("task_struct___v2", core_reloc::btf::Kind::Struct), 1);
/// assert_eq!(targets.unresolved_names().collect::<Vec<_>>(), ["btrfs_inode"]);
/// # Ok::<(), core_reloc::btf::BtfError>(())
/// ```
#[derive(Debug)]
pub struct Targets<'t> {
    targets: Vec<TargetBtf<'t>>,
    /// Per target (vmlinux's unused): why the module is searched.
    roles: Vec<Roles>,
    /// Targets already scanned.
    scanned: usize,
    /// Essential name -> kind key -> candidates, in target order then id order.
    wanted: HashMap<String, HashMap<Kind, Vec<Candidate>>>,
}

impl<'t> Targets<'t> {
    /// Targets starting with vmlinux, which takes precedence over every module.
    pub fn new(vmlinux: TargetBtf<'t>) -> Targets<'t> {
        Targets {
            targets: vec![vmlinux],
            roles: vec![Roles::default()],
            scanned: 0,
            wanted: HashMap::new(),
        }
    }

    /// Adds a module's BTF in `role`. It is searched, on the next [`search`](Self::search),
    /// for the wanted names that have no candidate in vmlinux. Adding a module again only
    /// adds the role.
    pub fn add_module(&mut self, module: TargetBtf<'t>, role: ModuleRole) {
        let index = match self
            .targets
            .iter()
            .skip(1)
            .position(|known| known.origin == module.origin)
        {
            Some(position) => position + 1,
            None => {
                self.targets.push(module);
                self.roles.push(Roles::default());
                self.targets.len() - 1
            }
        };
        let roles = &mut self.roles[index];
        match role {
            ModuleRole::AttachTarget => roles.attach_target = true,
            ModuleRole::Explicit => roles.explicit = true,
            ModuleRole::Searched => roles.searched = true,
        }
    }

    /// The tier of target `index` for a program whose attach targets are owned by
    /// `attach_modules`; `None` when the module takes no part in that program (it is only
    /// another program's attach target).
    pub(crate) fn tier(&self, index: usize, attach_modules: &[BtfOrigin]) -> Option<CandidateTier> {
        if index == 0 {
            return Some(CandidateTier::Vmlinux);
        }
        let roles = self.roles[index];
        if attach_modules.contains(self.targets[index].origin) {
            Some(CandidateTier::AttachTarget)
        } else if roles.explicit {
            Some(CandidateTier::Explicit)
        } else if roles.searched {
            Some(CandidateTier::Searched)
        } else {
            None
        }
    }

    /// The candidates for `local_name`/`kind` that take part for a program whose attach
    /// targets `attach_modules` own: those of the first tier that has any, in search order.
    pub(crate) fn first_tier(
        &self,
        local_name: &str,
        kind: Kind,
        attach_modules: &[BtfOrigin],
    ) -> Vec<TieredCandidate<'t>> {
        let tiered: Vec<TieredCandidate<'t>> = self
            .candidates(local_name, kind)
            .iter()
            .filter_map(|candidate| {
                let tier = self.tier(candidate.target, attach_modules)?;
                let target = self.targets[candidate.target];
                Some(TieredCandidate {
                    tier,
                    target: TargetRef {
                        origin: target.origin.clone(),
                        id: candidate.id,
                    },
                    id: candidate.id,
                    btf: target.btf,
                })
            })
            .collect();
        let best = tiered.iter().map(|candidate| candidate.tier).min();
        tiered
            .into_iter()
            .filter(|candidate| Some(candidate.tier) == best)
            .collect()
    }

    /// Whether `local_name`/`kind` has a candidate in a tier before
    /// [`Searched`](CandidateTier::Searched) for a program with these attach-target modules:
    /// if not, the on-miss search has something to find for it.
    pub fn has_unsearched_candidate(
        &self,
        local_name: &str,
        kind: Kind,
        attach_modules: &[BtfOrigin],
    ) -> bool {
        self.candidates(local_name, kind).iter().any(|candidate| {
            self.tier(candidate.target, attach_modules)
                .is_some_and(|tier| tier < CandidateTier::Searched)
        })
    }

    /// Declares a local type name (flavors allowed) and kind that relocations will look up.
    pub fn want(&mut self, local_name: &str, kind: Kind) {
        self.wanted
            .entry(essential_name(local_name).to_string())
            .or_default()
            .entry(kind_key(kind))
            .or_default();
    }

    /// Scans the targets added since the last search.
    pub fn search(&mut self) {
        while self.scanned < self.targets.len() {
            let index = self.scanned;
            self.scanned += 1;
            let target = self.targets[index];
            let only_unresolved = index > 0;
            self.scan(index, target.btf, only_unresolved);
        }
    }

    fn scan(&mut self, index: usize, btf: &Btf<'_>, only_unresolved: bool) {
        let wanted_kinds: Vec<Kind> = {
            let mut kinds: Vec<Kind> = self
                .wanted
                .values()
                .filter(|by_kind| !only_unresolved || by_kind.values().any(|c| !in_vmlinux(c)))
                .flat_map(|by_kind| by_kind.keys().copied())
                .collect();
            kinds.sort_by_key(|kind| kind.raw());
            kinds.dedup();
            kinds
        };
        if wanted_kinds.is_empty() {
            return;
        }
        // Lengths of wanted names: a cheap filter before hashing a target name.
        let mut wanted_lengths = vec![false; 256];
        for name in self.wanted.keys() {
            if let Some(slot) = wanted_lengths.get_mut(name.len()) {
                *slot = true;
            }
        }
        let long_names_wanted = self.wanted.keys().any(|name| name.len() >= 256);
        for ty in btf.types() {
            let key = kind_key(ty.kind());
            if !wanted_kinds.contains(&key) {
                continue;
            }
            // Bytes first: most names fail the length filter before any UTF-8 check or hash.
            let Ok(bytes) = btf.str_bytes_at(ty.name_offset()) else {
                continue;
            };
            let length = essential_len(bytes);
            if length == 0 {
                continue;
            }
            let length_wanted = wanted_lengths
                .get(length)
                .copied()
                .unwrap_or(long_names_wanted);
            if !length_wanted {
                continue;
            }
            let Ok(name) = std::str::from_utf8(&bytes[..length]) else {
                continue;
            };
            let Some(by_kind) = self.wanted.get_mut(name) else {
                continue;
            };
            let Some(candidates) = by_kind.get_mut(&key) else {
                continue;
            };
            // A module only serves names vmlinux left without candidates.
            if only_unresolved && in_vmlinux(candidates) {
                continue;
            }
            candidates.push(Candidate {
                target: index,
                id: ty.id(),
            });
        }
    }

    /// Wanted names that no searched target has a candidate for (vmlinux or module).
    pub fn unresolved_names(&self) -> impl Iterator<Item = &str> {
        let mut names: Vec<&str> = self
            .wanted
            .iter()
            .filter(|(_, by_kind)| by_kind.values().any(Vec::is_empty))
            .map(|(name, _)| name.as_str())
            .collect();
        names.sort_unstable();
        names.into_iter()
    }

    /// Number of candidates for a local name and kind.
    pub fn candidate_count(&self, local_name: &str, kind: Kind) -> usize {
        self.candidates(local_name, kind).len()
    }

    pub(crate) fn candidates(&self, local_name: &str, kind: Kind) -> &[Candidate] {
        self.wanted
            .get(essential_name(local_name))
            .and_then(|by_kind| by_kind.get(&kind_key(kind)))
            .map_or(&[], Vec::as_slice)
    }

    /// All target BTFs, vmlinux first.
    pub fn targets(&self) -> &[TargetBtf<'t>] {
        &self.targets
    }
}
