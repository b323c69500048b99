//! Named relocations: CO-RE for programs whose compiler has none (Rust), stated in the name of
//! an undefined extern symbol.
//!
//! An eBPF program takes the address of an extern symbol whose name says what it wants, e.g.
//! `core_reloc:v1:field_byte_offset:struct:btrfs_inode:vfs_inode.i_ino`. The LLVM BPF backend
//! turns the address into an `ld_imm64` (`r1 = 0 ll`) with an `R_BPF_64_64` relocation
//! against the undefined symbol. The loader resolves the name against the kernel's BTF like a
//! `.BTF.ext` CO-RE record (same candidate search, module selection, binding and
//! explanations), writes the value into the `ld_imm64` and removes the relocation, so aya
//! never sees the symbol. It is the mechanism of libbpf's `__ksym` / `__kconfig` externs,
//! applied to CO-RE. The `core-reloc-ebpf` crate (`core-reloc/ebpf/`) writes these names for
//! you (`field_offset!`, `core_read!`, ...).
//!
//! # Symbol name format, version 1
//!
//! ```text
//! symbol    = "core_reloc:v1:" kind ":" type-kind ":" type-name [ ":" access ]
//! kind      = "field_byte_offset" | "field_byte_size" | "field_exists" | "field_signed"
//!           | "field_lshift_u64" | "field_rshift_u64"          ; access = path (required)
//!           | "type_exists" | "type_size"                       ; no access
//!           | "enumval_exists" | "enumval_value"                ; access = enumerator (required)
//! type-kind = "struct" | "union" | "enum" | "typedef"
//! type-name = ident                    ; flavors allowed: `task_struct___v2` finds `task_struct`
//! path      = ident ( "." ident | "[" digits "]" )*
//! ident     = ( ALPHA | "_" ) ( ALPHA | DIGIT | "_" )*
//! digits    = DIGIT+                   ; decimal, fits in u32, no sign
//! ```
//!
//! There is no escaping: every component is a C identifier or a decimal index, so no component
//! can contain a separator. Any other character, an empty component, a missing or extra part, an
//! unknown kind or type kind makes the name malformed, and the loader refuses the object with an
//! error quoting the name ([`NameError`]). A symbol that does not start with `core_reloc:` is
//! not a named relocation and is left alone; one that starts with `core_reloc:` but has another
//! version than `v1` is refused, so a newer program never gets an old loader's guess.
//!
//! # What each kind means
//!
//! The same as the `.BTF.ext` kind of the same name (libbpf's `bpf_core_*` macros), with the
//! root type found by kind and essential name among the kernel's types and the path followed
//! **by member names** (anonymous structs and unions are looked through, as libbpf does; `[N]`
//! indexes an array):
//!
//! | kind | value | when nothing matches |
//! | --- | --- | --- |
//! | `field_byte_offset` | byte offset of the field from the start of the root type | poison |
//! | `field_byte_size` | byte size of the field (of the load holding a bitfield) | poison |
//! | `field_exists` | 1 | 0 |
//! | `field_signed` | 1 when the field is a signed integer or signed enum | poison |
//! | `field_lshift_u64`, `field_rshift_u64` | shifts that extract a bitfield from a u64 load | poison |
//! | `type_exists` | 1 | 0 |
//! | `type_size` | byte size of the type | 0 |
//! | `enumval_exists` | 1 | 0 |
//! | `enumval_value` | the enumerator's value (a 32-bit value widened by the enum's sign) | poison |
//!
//! "Poison" is what libbpf does for an `ld_imm64` whose relocation fails: both instruction slots
//! become `call 0xbad2310`, which the verifier rejects if the program can reach it, and the
//! loader reports that rejection as the relocation that failed, in words. A missing field's
//! offset therefore never becomes 0 silently; guard the read with `field_exists` (the
//! `core_read!` helpers do) and the poisoned instruction is dead code the verifier skips.
//!
//! There is no local type, so unlike a `.BTF.ext` record a named relocation does not check that
//! the kernel's field has the type the program expects; the read helpers of `core-reloc-ebpf`
//! compare the field's relocated byte size with the size of the Rust type they read into.
//!
//! ```
//! use core_reloc::named::{NamedReloc, Step};
//! let reloc = NamedReloc::parse("core_reloc:v1:field_byte_offset:struct:btrfs_inode:vfs_inode.i_ino")?
//!     .expect("a named relocation");
//! assert_eq!(reloc.type_name, "btrfs_inode");
//! assert_eq!(reloc.path, [Step::Member("vfs_inode".into()), Step::Member("i_ino".into())]);
//! assert_eq!(reloc.to_string(), "struct btrfs_inode.vfs_inode.i_ino");
//! assert!(NamedReloc::parse("bpf_map_lookup_elem")?.is_none());
//! assert!(NamedReloc::parse("core_reloc:v1:field_byte_offset:struct:btrfs_inode").is_err());
//! # Ok::<(), core_reloc::named::NameError>(())
//! ```

pub mod elf;

use std::fmt;

use crate::btf::Kind;
use crate::ext::CoreReloKind;

/// Every named relocation symbol starts with this.
pub const PREFIX: &str = "core_reloc:";
/// The version of the symbol name format this crate reads.
pub const VERSION: &str = "v1";

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// A member, found by name (through anonymous members).
    Member(String),
    /// An array element.
    Index(u32),
}

/// A parsed named relocation: what the symbol name asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedReloc {
    /// The relocation kind (never `local_type_id`, `target_type_id` or `type_matches`, which
    /// need a local type).
    pub kind: CoreReloKind,
    /// `Struct`, `Union`, `Enum` or `Typedef`.
    pub type_kind: Kind,
    /// The root type's name, flavor included.
    pub type_name: String,
    /// For field kinds: the path from the root (at least one step).
    pub path: Vec<Step>,
    /// For enumerator kinds: the enumerator's name.
    pub enumerator: Option<String>,
}

/// Why a `core_reloc:` symbol name is not a valid named relocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameErrorReason {
    /// Not `core_reloc:v1:`.
    #[error("unsupported version {found:?} (this loader reads {VERSION})")]
    Version {
        /// What the name has instead.
        found: String,
    },
    /// Too few `:`-separated parts.
    #[error("expected kind:type-kind:type-name[:access] after the version")]
    MissingParts,
    /// An unknown relocation kind.
    #[error("unknown kind {0:?}")]
    Kind(String),
    /// A kind that needs a local type, which a name cannot give.
    #[error("kind {0:?} needs a local type and cannot be named")]
    UnnamableKind(String),
    /// An unknown type kind.
    #[error("unknown type kind {0:?} (struct, union, enum or typedef)")]
    TypeKind(String),
    /// The kind does not apply to the type kind (e.g. an enumerator of a struct).
    #[error("{kind} does not apply to a {type_kind}")]
    KindMismatch {
        /// The relocation kind's name.
        kind: &'static str,
        /// The type kind's name.
        type_kind: &'static str,
    },
    /// Not a C identifier.
    #[error("{what} {found:?} is not a C identifier")]
    Identifier {
        /// Which part.
        what: &'static str,
        /// The text.
        found: String,
    },
    /// A field kind without a path, or a malformed path.
    #[error("malformed field path {0:?}")]
    Path(String),
    /// A type kind with an access part.
    #[error("{0} takes no access part")]
    UnexpectedAccess(&'static str),
    /// An enumerator kind without an enumerator.
    #[error("missing enumerator name")]
    MissingEnumerator,
}

/// A malformed named relocation, quoting the symbol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed named relocation {symbol:?}: {reason}")]
pub struct NameError {
    /// The whole symbol name.
    pub symbol: String,
    /// What is wrong.
    pub reason: NameErrorReason,
}

const NAMED_KINDS: &[(&str, CoreReloKind)] = &[
    ("field_byte_offset", CoreReloKind::FieldByteOffset),
    ("field_byte_size", CoreReloKind::FieldByteSize),
    ("field_exists", CoreReloKind::FieldExists),
    ("field_signed", CoreReloKind::FieldSigned),
    ("field_lshift_u64", CoreReloKind::FieldLshiftU64),
    ("field_rshift_u64", CoreReloKind::FieldRshiftU64),
    ("type_exists", CoreReloKind::TypeExists),
    ("type_size", CoreReloKind::TypeSize),
    ("enumval_exists", CoreReloKind::EnumvalExists),
    ("enumval_value", CoreReloKind::EnumvalValue),
];

const UNNAMABLE_KINDS: &[&str] = &["type_id_local", "type_id_target", "type_matches"];

const TYPE_KINDS: &[(&str, Kind)] = &[
    ("struct", Kind::Struct),
    ("union", Kind::Union),
    ("enum", Kind::Enum),
    ("typedef", Kind::Typedef),
];

/// The grammar's name of a kind (`field_byte_offset`, ...), for kinds that can be named.
///
/// ```
/// use core_reloc::ext::CoreReloKind;
/// assert_eq!(core_reloc::named::kind_name(CoreReloKind::FieldByteOffset), Some("field_byte_offset"));
/// assert_eq!(core_reloc::named::kind_name(CoreReloKind::TypeMatches), None);
/// ```
pub fn kind_name(kind: CoreReloKind) -> Option<&'static str> {
    NAMED_KINDS
        .iter()
        .find(|(_, known)| *known == kind)
        .map(|(name, _)| *name)
}

fn type_kind_name(kind: Kind) -> &'static str {
    TYPE_KINDS
        .iter()
        .find(|(_, known)| *known == kind)
        .map_or("type", |(name, _)| name)
}

fn is_identifier(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn parse_path(text: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = text;
    let mut expect_member = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            if steps.is_empty() {
                return None;
            }
            let end = after.find(']')?;
            let digits = &after[..end];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            steps.push(Step::Index(digits.parse().ok()?));
            rest = &after[end + 1..];
            expect_member = false;
            continue;
        }
        if !expect_member {
            rest = rest.strip_prefix('.')?;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let member = &rest[..end];
        if !is_identifier(member) {
            return None;
        }
        steps.push(Step::Member(member.to_string()));
        rest = &rest[end..];
        expect_member = false;
    }
    (!steps.is_empty() && steps.len() < crate::engine::MAX_SPEC_LEN).then_some(steps)
}

impl NamedReloc {
    /// Parses a symbol name: `Ok(None)` when it is not a named relocation (no `core_reloc:`
    /// prefix), an error quoting it when it is one but malformed.
    pub fn parse(symbol: &str) -> Result<Option<NamedReloc>, NameError> {
        let Some(rest) = symbol.strip_prefix(PREFIX) else {
            return Ok(None);
        };
        let fail = |reason| NameError {
            symbol: symbol.to_string(),
            reason,
        };
        let (version, rest) = rest.split_once(':').unwrap_or((rest, ""));
        if version != VERSION {
            return Err(fail(NameErrorReason::Version {
                found: version.to_string(),
            }));
        }
        let mut parts = rest.splitn(4, ':');
        let (Some(kind), Some(type_kind), Some(type_name)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(fail(NameErrorReason::MissingParts));
        };
        let access = parts.next();
        let kind = match NAMED_KINDS.iter().find(|(name, _)| *name == kind) {
            Some((_, kind)) => *kind,
            None if UNNAMABLE_KINDS.contains(&kind) => {
                return Err(fail(NameErrorReason::UnnamableKind(kind.to_string())));
            }
            None => return Err(fail(NameErrorReason::Kind(kind.to_string()))),
        };
        let type_kind = TYPE_KINDS
            .iter()
            .find(|(name, _)| *name == type_kind)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| fail(NameErrorReason::TypeKind(type_kind.to_string())))?;
        if !is_identifier(type_name) {
            return Err(fail(NameErrorReason::Identifier {
                what: "type name",
                found: type_name.to_string(),
            }));
        }
        let mismatch = || {
            fail(NameErrorReason::KindMismatch {
                kind: kind_name(kind).unwrap_or("?"),
                type_kind: type_kind_name(type_kind),
            })
        };
        let mut reloc = NamedReloc {
            kind,
            type_kind,
            type_name: type_name.to_string(),
            path: Vec::new(),
            enumerator: None,
        };
        if kind.is_field_based() {
            if type_kind == Kind::Enum {
                return Err(mismatch());
            }
            let access = access.unwrap_or("");
            reloc.path = parse_path(access)
                .ok_or_else(|| fail(NameErrorReason::Path(access.to_string())))?;
        } else if kind.is_enumval_based() {
            if !matches!(type_kind, Kind::Enum | Kind::Typedef) {
                return Err(mismatch());
            }
            let enumerator = access.ok_or_else(|| fail(NameErrorReason::MissingEnumerator))?;
            if !is_identifier(enumerator) {
                return Err(fail(NameErrorReason::Identifier {
                    what: "enumerator",
                    found: enumerator.to_string(),
                }));
            }
            reloc.enumerator = Some(enumerator.to_string());
        } else if access.is_some() {
            return Err(fail(NameErrorReason::UnexpectedAccess(
                kind_name(kind).unwrap_or("?"),
            )));
        }
        Ok(Some(reloc))
    }

    /// The root type in words, e.g. `struct btrfs_inode`.
    pub fn describe_type(&self) -> String {
        format!("{} {}", type_kind_name(self.type_kind), self.type_name)
    }
}

impl fmt::Display for NamedReloc {
    /// The access in the words `.BTF.ext` explanations use: `struct btrfs_inode.vfs_inode.i_ino`,
    /// `struct s.a[3]`, `enum btrfs_map_op::BTRFS_MAP_DISCARD`, `struct btrfs_inode`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe_type())?;
        for step in &self.path {
            match step {
                Step::Member(name) => write!(f, ".{name}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        if let Some(enumerator) = &self.enumerator {
            write!(f, "::{enumerator}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(symbol: &str) -> NamedReloc {
        NamedReloc::parse(symbol).unwrap().unwrap()
    }

    fn reason(symbol: &str) -> NameErrorReason {
        NamedReloc::parse(symbol).unwrap_err().reason
    }

    #[test]
    fn every_kind_parses() {
        let field = parse("core_reloc:v1:field_rshift_u64:union:u:a.b[3].c");
        assert_eq!(field.kind, CoreReloKind::FieldRshiftU64);
        assert_eq!(field.type_kind, Kind::Union);
        assert_eq!(
            field.path,
            [
                Step::Member("a".into()),
                Step::Member("b".into()),
                Step::Index(3),
                Step::Member("c".into())
            ]
        );
        assert_eq!(field.to_string(), "union u.a.b[3].c");
        let size = parse("core_reloc:v1:type_size:typedef:pid_t");
        assert_eq!(
            (size.kind, size.type_kind),
            (CoreReloKind::TypeSize, Kind::Typedef)
        );
        let value = parse("core_reloc:v1:enumval_value:enum:btrfs_map_op:BTRFS_MAP_DISCARD");
        assert_eq!(value.enumerator.as_deref(), Some("BTRFS_MAP_DISCARD"));
        assert_eq!(value.to_string(), "enum btrfs_map_op::BTRFS_MAP_DISCARD");
        assert_eq!(
            parse("core_reloc:v1:field_exists:struct:task_struct___v2:x[0][1]").path,
            [Step::Member("x".into()), Step::Index(0), Step::Index(1)]
        );
        for (name, kind) in NAMED_KINDS {
            assert_eq!(kind_name(*kind), Some(*name));
        }
    }

    #[test]
    fn other_symbols_are_not_named_relocations() {
        for symbol in [
            "",
            "bpf_probe_read",
            "core_reloc",
            "core_relocv1:x",
            "CORE_RELOC:v1",
        ] {
            assert_eq!(NamedReloc::parse(symbol), Ok(None), "{symbol:?}");
        }
    }

    #[test]
    fn malformed_names_are_refused_with_the_name_quoted() {
        let error = NamedReloc::parse("core_reloc:v2:type_size:struct:s").unwrap_err();
        assert_eq!(
            error.reason,
            NameErrorReason::Version { found: "v2".into() }
        );
        assert!(
            error
                .to_string()
                .contains("\"core_reloc:v2:type_size:struct:s\""),
            "{error}"
        );
        assert_eq!(
            reason("core_reloc:"),
            NameErrorReason::Version { found: "".into() }
        );
        assert_eq!(
            reason("core_reloc:v1:type_size:struct"),
            NameErrorReason::MissingParts
        );
        assert_eq!(
            reason("core_reloc:v1:byte_off:struct:s:a"),
            NameErrorReason::Kind("byte_off".into())
        );
        assert_eq!(
            reason("core_reloc:v1:type_matches:struct:s"),
            NameErrorReason::UnnamableKind("type_matches".into())
        );
        assert_eq!(
            reason("core_reloc:v1:type_size:class:s"),
            NameErrorReason::TypeKind("class".into())
        );
        assert!(matches!(
            reason("core_reloc:v1:type_size:struct:1s"),
            NameErrorReason::Identifier { .. }
        ));
        assert!(matches!(
            reason("core_reloc:v1:type_size:struct:"),
            NameErrorReason::Identifier { .. }
        ));
        assert!(matches!(
            reason("core_reloc:v1:enumval_value:struct:s:A"),
            NameErrorReason::KindMismatch { .. }
        ));
        assert!(matches!(
            reason("core_reloc:v1:field_exists:enum:e:a"),
            NameErrorReason::KindMismatch { .. }
        ));
        assert_eq!(
            reason("core_reloc:v1:type_exists:struct:s:a"),
            NameErrorReason::UnexpectedAccess("type_exists")
        );
        assert_eq!(
            reason("core_reloc:v1:enumval_exists:enum:e"),
            NameErrorReason::MissingEnumerator
        );
        assert!(matches!(
            reason("core_reloc:v1:enumval_exists:enum:e:A B"),
            NameErrorReason::Identifier { .. }
        ));
        for path in [
            "",
            ".a",
            "a.",
            "a..b",
            "[0]",
            "a[]",
            "a[-1]",
            "a[x]",
            "a[0",
            "a]",
            "a b",
            "a:b",
            "a[4294967296]",
            "a[0]b",
            "a.1",
        ] {
            let symbol = format!("core_reloc:v1:field_byte_offset:struct:s:{path}");
            assert!(
                matches!(reason(&symbol), NameErrorReason::Path(_)),
                "{symbol:?}: {:?}",
                NamedReloc::parse(&symbol)
            );
        }
        let deep = vec!["a"; crate::engine::MAX_SPEC_LEN].join(".");
        assert!(matches!(
            reason(&format!("core_reloc:v1:field_exists:struct:s:{deep}")),
            NameErrorReason::Path(_)
        ));
    }
}
