//! The engine's explanations as values: types, access paths, why a candidate was rejected and
//! what each candidate gives. They are formatted only when printed, so a caller can `match`
//! on a missing member or an ambiguity instead of parsing text.

use std::fmt;

use crate::btf::{Btf, Kind, TypeId};
use crate::ext::CoreReloKind;
use crate::fixup::Fixup;
use crate::target::TargetRef;

/// The C keyword a type is spelled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TypeKeyword {
    /// `struct` (also a forward declaration of one).
    Struct,
    /// `union` (also a forward declaration of one).
    Union,
    /// `enum` (32- or 64-bit).
    Enum,
    /// `typedef`.
    Typedef,
    /// Any other kind, spelled as its lower-case BTF kind name (`int`, `ptr`, ...).
    Other(Kind),
    /// The id names no type in its BTF.
    Invalid,
}

/// A type as C spells it, with its id: `struct btrfs_inode`, `<anon union>`.
///
/// ```
/// use core_reloc::btf::TypeId;
/// use core_reloc::engine::{TypeKeyword, TypeName};
/// let name = TypeName { id: TypeId(7), keyword: TypeKeyword::Struct, name: Some("btrfs_inode".into()) };
/// assert_eq!(name.to_string(), "struct btrfs_inode");
/// let anon = TypeName { id: TypeId(8), keyword: TypeKeyword::Union, name: None };
/// assert_eq!(anon.to_string(), "<anon union>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypeName {
    /// The id in the BTF it was read from.
    pub id: TypeId,
    /// How it is spelled.
    pub keyword: TypeKeyword,
    /// Its name; `None` when anonymous.
    pub name: Option<String>,
}

impl TypeName {
    /// The type `id` of `btf`, as named there.
    pub(crate) fn of(btf: &Btf<'_>, id: TypeId) -> TypeName {
        let Ok(ty) = btf.type_by_id(id) else {
            return TypeName {
                id,
                keyword: TypeKeyword::Invalid,
                name: None,
            };
        };
        let keyword = match ty.kind() {
            Kind::Struct => TypeKeyword::Struct,
            Kind::Union => TypeKeyword::Union,
            Kind::Enum | Kind::Enum64 => TypeKeyword::Enum,
            Kind::Fwd if ty.kind_flag() => TypeKeyword::Union,
            Kind::Fwd => TypeKeyword::Struct,
            Kind::Typedef => TypeKeyword::Typedef,
            kind => TypeKeyword::Other(kind),
        };
        let name = btf
            .name(&ty)
            .ok()
            .filter(|name| !name.is_empty())
            .map(str::to_string);
        TypeName { id, keyword, name }
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keyword = match self.keyword {
            TypeKeyword::Struct => "struct".to_string(),
            TypeKeyword::Union => "union".to_string(),
            TypeKeyword::Enum => "enum".to_string(),
            TypeKeyword::Typedef => "typedef".to_string(),
            TypeKeyword::Other(kind) => kind.name().to_lowercase(),
            TypeKeyword::Invalid => return write!(f, "<invalid type {}>", self.id),
        };
        match &self.name {
            Some(name) => write!(f, "{keyword} {name}"),
            None => write!(f, "<anon {keyword}>"),
        }
    }
}

/// One step of an access after its root type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccessStep {
    /// A named member (`.i_ino`).
    Member {
        /// The member's name.
        name: String,
    },
    /// An array element, or an index on the root pointer (`[2]`).
    Index(u32),
    /// An enumerator (`::BTRFS_MAP_DISCARD`).
    Enumerator {
        /// The enumerator's name.
        name: String,
    },
}

/// What a relocation accesses, in the local type: `struct btrfs_inode.vfs_inode.i_ino`,
/// `struct s[1].a[3]`, `enum e::VALUE`, or just the type for type-based kinds.
///
/// ```
/// use core_reloc::btf::TypeId;
/// use core_reloc::engine::{AccessPath, AccessStep, TypeKeyword, TypeName};
/// let path = AccessPath {
///     root: TypeName { id: TypeId(3), keyword: TypeKeyword::Struct, name: Some("btrfs_inode".into()) },
///     steps: vec![
///         AccessStep::Member { name: "vfs_inode".into() },
///         AccessStep::Member { name: "i_ino".into() },
///     ],
/// };
/// assert_eq!(path.to_string(), "struct btrfs_inode.vfs_inode.i_ino");
/// assert!(path == "struct btrfs_inode.vfs_inode.i_ino" && path != "struct btrfs_inode");
/// assert_eq!(path.member_names().collect::<Vec<_>>(), ["vfs_inode", "i_ino"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessPath {
    /// The record's root type.
    pub root: TypeName,
    /// The named members, array indices and enumerators after it (anonymous members and a
    /// zero root index are left out, as in C).
    pub steps: Vec<AccessStep>,
}

impl AccessPath {
    /// The names of the members accessed, outermost first.
    pub fn member_names(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().filter_map(|step| match step {
            AccessStep::Member { name } => Some(name.as_str()),
            _ => None,
        })
    }
}

impl fmt::Display for AccessPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)?;
        for step in &self.steps {
            match step {
                AccessStep::Member { name } => write!(f, ".{name}")?,
                AccessStep::Index(index) => write!(f, "[{index}]")?,
                AccessStep::Enumerator { name } => write!(f, "::{name}")?,
            }
        }
        Ok(())
    }
}

/// A raw access string as indices: `0:3:1` (anonymous members included).
///
/// ```
/// use core_reloc::engine::RawSpec;
/// assert_eq!(RawSpec(vec![0, 3, 1]).to_string(), "0:3:1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RawSpec(pub Vec<u32>);

impl fmt::Display for RawSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, index) in self.0.iter().enumerate() {
            if position > 0 {
                f.write_str(":")?;
            }
            write!(f, "{index}")?;
        }
        Ok(())
    }
}

/// Why a candidate target type does not have what a relocation accesses.
///
/// ```
/// use core_reloc::btf::TypeId;
/// use core_reloc::engine::{Rejection, TypeKeyword, TypeName};
/// let holder = TypeName { id: TypeId(5), keyword: TypeKeyword::Struct, name: Some("s".into()) };
/// let why = Rejection::MissingMember { holder, member: "c".into() };
/// assert_eq!(why.to_string(), "struct s has no member `c`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// A type-based relocation's candidate is not compatible with the local type.
    #[error("{target} is not compatible with the local type")]
    IncompatibleType {
        /// The candidate.
        target: TypeName,
    },
    /// `type_matches`: the candidate's layout does not match the local type's.
    #[error("the layout of {target} does not match the local type")]
    LayoutMismatch {
        /// The candidate.
        target: TypeName,
    },
    /// An enumerator relocation's candidate is not an enum.
    #[error("{target} is not an enum")]
    NotAnEnum {
        /// The candidate.
        target: TypeName,
    },
    /// The candidate enum has no enumerator of that name.
    #[error("{target} has no enumerator `{name}`")]
    MissingEnumerator {
        /// The candidate enum.
        target: TypeName,
        /// The enumerator's (essential) name.
        name: String,
    },
    /// The struct or union on the path has no member of that name.
    #[error("{holder} has no member `{member}`")]
    MissingMember {
        /// The target struct or union searched.
        holder: TypeName,
        /// The member's name.
        member: String,
    },
    /// The member exists but its type cannot be relocated to the local member's.
    #[error("{holder} has a member `{member}` of an incompatible type")]
    IncompatibleMember {
        /// The target struct or union.
        holder: TypeName,
        /// The member's name.
        member: String,
    },
    /// The path reads a member of something that is not a struct or union in the target.
    #[error("{target} has no members, so no `{member}`")]
    NotComposite {
        /// The target type.
        target: TypeName,
        /// The member's name.
        member: String,
    },
    /// The path indexes something that is not an array in the target.
    #[error("{target} is not an array")]
    NotAnArray {
        /// The target type.
        target: TypeName,
    },
    /// The index lies outside the target array.
    #[error("index {index} is out of bounds of an array of {nelems}")]
    IndexOutOfBounds {
        /// The index.
        index: u32,
        /// The target array's length.
        nelems: u32,
    },
}

impl Rejection {
    /// A stable snake_case code for the reason (`missing_member`, ...), for machine-readable
    /// output such as `core-reloc explain --json`.
    ///
    /// ```
    /// use core_reloc::engine::Rejection;
    /// let why = Rejection::IndexOutOfBounds { index: 4, nelems: 2 };
    /// assert_eq!(why.code(), "index_out_of_bounds");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::IncompatibleType { .. } => "incompatible_type",
            Rejection::LayoutMismatch { .. } => "layout_mismatch",
            Rejection::NotAnEnum { .. } => "not_an_enum",
            Rejection::MissingEnumerator { .. } => "missing_enumerator",
            Rejection::MissingMember { .. } => "missing_member",
            Rejection::IncompatibleMember { .. } => "incompatible_member",
            Rejection::NotComposite { .. } => "not_composite",
            Rejection::NotAnArray { .. } => "not_an_array",
            Rejection::IndexOutOfBounds { .. } => "index_out_of_bounds",
        }
    }
}

/// What one candidate gives for one record.
///
/// ```
/// use core_reloc::engine::CandidateResult;
/// let at = CandidateResult::Value { value: 4, bit_offset: Some(32) };
/// assert_eq!(at.to_string(), "4 (bit offset 32)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CandidateResult {
    /// It matched: the value, and for field kinds where the field starts.
    Value {
        /// The relocated value.
        value: u64,
        /// For field-based kinds, the field's bit offset in the root type.
        bit_offset: Option<u64>,
    },
    /// It did not match: the record is poisoned, or 0 for existence kinds.
    Unmatched(Rejection),
}

impl fmt::Display for CandidateResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CandidateResult::Value {
                value,
                bit_offset: Some(bits),
            } => write!(f, "{value} (bit offset {bits})"),
            CandidateResult::Value { value, .. } => write!(f, "{value}"),
            CandidateResult::Unmatched(why) => write!(f, "no match ({why})"),
        }
    }
}

/// Candidates tied at the best score that disagree: which local type, which candidates, and
/// the first record where they differ.
///
/// ```
/// use core_reloc::btf::TypeId;
/// use core_reloc::engine::{AccessPath, Ambiguity, CandidateResult, TypeKeyword, TypeName};
/// use core_reloc::ext::CoreReloKind;
/// use core_reloc::target::TargetRef;
/// use core_reloc::BtfOrigin;
/// let s = TypeName { id: TypeId(2), keyword: TypeKeyword::Struct, name: Some("s".into()) };
/// let ambiguity = Ambiguity {
///     local_type: s.clone(),
///     program: "kprobe/f".into(),
///     candidates: vec![
///         TargetRef { origin: BtfOrigin::module("e1000"), id: TypeId(90) },
///         TargetRef { origin: BtfOrigin::module("e1000e"), id: TypeId(95) },
///     ],
///     misses: 0,
///     record_index: 3,
///     kind: CoreReloKind::FieldByteOffset,
///     access: AccessPath { root: s, steps: vec![] },
///     results: vec![
///         CandidateResult::Value { value: 0, bit_offset: Some(0) },
///         CandidateResult::Value { value: 8, bit_offset: Some(64) },
///     ],
/// };
/// assert!(ambiguity.to_string().contains("[90] in e1000 gives 0 (bit offset 0)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguity {
    /// The local root type that could not be bound.
    pub local_type: TypeName,
    /// The program (entry section) whose records were scored.
    pub program: String,
    /// The tied candidates, in search order, each with its origin.
    pub candidates: Vec<TargetRef>,
    /// How many of the type's records each tied candidate leaves poisoned or absent.
    pub misses: usize,
    /// The first record (in file order) where they disagree.
    pub record_index: usize,
    /// That record's kind.
    pub kind: CoreReloKind,
    /// That record's access.
    pub access: AccessPath,
    /// What each tied candidate gives there, in the order of `candidates`.
    pub results: Vec<CandidateResult>,
}

impl fmt::Display for Ambiguity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ambiguous: {} candidates for {}",
            self.candidates.len(),
            self.local_type
        )?;
        if !self.program.is_empty() {
            write!(f, " in {}", self.program)?;
        }
        write!(
            f,
            " each leave {} record(s) unmatched, and they disagree at relocation #{} ({} of `{}`):",
            self.misses, self.record_index, self.kind, self.access
        )?;
        for (position, (candidate, result)) in self.candidates.iter().zip(&self.results).enumerate()
        {
            let separator = if position == 0 { " " } else { ", " };
            write!(f, "{separator}{candidate} gives {result}")?;
        }
        Ok(())
    }
}

/// How one program resolved a record it shares with another program.
///
/// ```
/// use core_reloc::engine::ProgramBinding;
/// use core_reloc::ext::CoreReloKind;
/// use core_reloc::fixup::{Fixup, RelocationSite};
/// let site = RelocationSite { record_index: 0, section_index: 2, insn_index: 5 };
/// let binding = ProgramBinding {
///     program: "kprobe/f".into(),
///     target: None,
///     fixup: Fixup::rewrite(site, CoreReloKind::FieldExists, 1, 0),
/// };
/// assert_eq!(binding.to_string(), "kprobe/f writes 0 (no target)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramBinding {
    /// The program (entry section).
    pub program: String,
    /// The candidate its binding chose, if it matched the record.
    pub target: Option<TargetRef>,
    /// What the record gets in that program.
    pub fixup: Fixup,
}

impl fmt::Display for ProgramBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.program)?;
        match self.fixup.poison {
            Some(reason) => write!(f, "poisons it ({reason})")?,
            None => write!(f, "writes {}", self.fixup.new_val)?,
        }
        match &self.target {
            Some(target) => write!(f, " from {target}"),
            None => write!(f, " (no target)"),
        }
    }
}

/// Whether `value` prints as `text`, without building the string.
fn prints_as(value: &impl fmt::Display, text: &str) -> bool {
    struct Compare<'a> {
        rest: &'a str,
        equal: bool,
    }
    impl fmt::Write for Compare<'_> {
        fn write_str(&mut self, piece: &str) -> fmt::Result {
            match self.rest.strip_prefix(piece) {
                Some(rest) if self.equal => self.rest = rest,
                _ => self.equal = false,
            }
            Ok(())
        }
    }
    let mut compare = Compare {
        rest: text,
        equal: true,
    };
    let _ = fmt::Write::write_fmt(&mut compare, format_args!("{value}"));
    compare.equal && compare.rest.is_empty()
}

/// Compares with the printed form, so `access == "struct btrfs_inode.vfs_inode.i_ino"` reads as
/// the explanation does.
impl PartialEq<str> for AccessPath {
    fn eq(&self, other: &str) -> bool {
        prints_as(self, other)
    }
}

impl PartialEq<&str> for AccessPath {
    fn eq(&self, other: &&str) -> bool {
        prints_as(self, other)
    }
}

/// Compares with the printed form (`struct btrfs_inode`).
impl PartialEq<str> for TypeName {
    fn eq(&self, other: &str) -> bool {
        prints_as(self, other)
    }
}

impl PartialEq<&str> for TypeName {
    fn eq(&self, other: &&str) -> bool {
        prints_as(self, other)
    }
}
