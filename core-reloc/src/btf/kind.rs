//! BTF kinds and the record layout each known kind has.

use std::fmt;

/// The kind of a BTF type (bits 24..30 of `btf_type.info`, as in the 2026 UAPI; the kernel's
/// `btf.h` widened it from 5 bits when `vlen` grew to 24 bits).
///
/// [`Kind::Void`] is used only for type id 0, which has no record. Kinds this reader does not
/// know (and that a layout section allowed it to skip) are [`Kind::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Type id 0.
    Void,
    /// `BTF_KIND_INT` (1).
    Int,
    /// `BTF_KIND_PTR` (2).
    Ptr,
    /// `BTF_KIND_ARRAY` (3).
    Array,
    /// `BTF_KIND_STRUCT` (4).
    Struct,
    /// `BTF_KIND_UNION` (5).
    Union,
    /// `BTF_KIND_ENUM` (6), 32-bit values.
    Enum,
    /// `BTF_KIND_FWD` (7).
    Fwd,
    /// `BTF_KIND_TYPEDEF` (8).
    Typedef,
    /// `BTF_KIND_VOLATILE` (9).
    Volatile,
    /// `BTF_KIND_CONST` (10).
    Const,
    /// `BTF_KIND_RESTRICT` (11).
    Restrict,
    /// `BTF_KIND_FUNC` (12).
    Func,
    /// `BTF_KIND_FUNC_PROTO` (13).
    FuncProto,
    /// `BTF_KIND_VAR` (14).
    Var,
    /// `BTF_KIND_DATASEC` (15).
    Datasec,
    /// `BTF_KIND_FLOAT` (16).
    Float,
    /// `BTF_KIND_DECL_TAG` (17).
    DeclTag,
    /// `BTF_KIND_TYPE_TAG` (18).
    TypeTag,
    /// `BTF_KIND_ENUM64` (19), 64-bit values.
    Enum64,
    /// A kind number this reader does not know.
    Unknown(u8),
}

/// Highest kind number this reader understands.
#[cfg(feature = "builder")]
pub(crate) const MAX_KNOWN_KIND: u8 = 19;

/// Highest kind number the 7-bit kind field can hold.
pub const MAX_KIND: u8 = 127;

impl Kind {
    /// Decodes a raw kind number (0 is [`Kind::Void`]).
    ///
    /// ```
    /// use core_reloc::btf::Kind;
    /// assert_eq!(Kind::from_raw(4), Kind::Struct);
    /// assert_eq!(Kind::from_raw(30), Kind::Unknown(30));
    /// assert_eq!(Kind::from_raw(100), Kind::Unknown(100));
    /// ```
    pub fn from_raw(raw: u8) -> Kind {
        match raw {
            0 => Kind::Void,
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            other => Kind::Unknown(other),
        }
    }

    /// The raw kind number.
    pub fn raw(self) -> u8 {
        match self {
            Kind::Void => 0,
            Kind::Int => 1,
            Kind::Ptr => 2,
            Kind::Array => 3,
            Kind::Struct => 4,
            Kind::Union => 5,
            Kind::Enum => 6,
            Kind::Fwd => 7,
            Kind::Typedef => 8,
            Kind::Volatile => 9,
            Kind::Const => 10,
            Kind::Restrict => 11,
            Kind::Func => 12,
            Kind::FuncProto => 13,
            Kind::Var => 14,
            Kind::Datasec => 15,
            Kind::Float => 16,
            Kind::DeclTag => 17,
            Kind::TypeTag => 18,
            Kind::Enum64 => 19,
            Kind::Unknown(raw) => raw,
        }
    }

    /// The name bpftool and the kernel use (`"STRUCT"`, `"FUNC_PROTO"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Void => "VOID",
            Kind::Int => "INT",
            Kind::Ptr => "PTR",
            Kind::Array => "ARRAY",
            Kind::Struct => "STRUCT",
            Kind::Union => "UNION",
            Kind::Enum => "ENUM",
            Kind::Fwd => "FWD",
            Kind::Typedef => "TYPEDEF",
            Kind::Volatile => "VOLATILE",
            Kind::Const => "CONST",
            Kind::Restrict => "RESTRICT",
            Kind::Func => "FUNC",
            Kind::FuncProto => "FUNC_PROTO",
            Kind::Var => "VAR",
            Kind::Datasec => "DATASEC",
            Kind::Float => "FLOAT",
            Kind::DeclTag => "DECL_TAG",
            Kind::TypeTag => "TYPE_TAG",
            Kind::Enum64 => "ENUM64",
            Kind::Unknown(_) => "UNKNOWN",
        }
    }

    /// Whether the 32-bit `size_or_type` field is a size (as opposed to a type id).
    pub fn has_size(self) -> bool {
        matches!(
            self,
            Kind::Int
                | Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Datasec
                | Kind::Float
                | Kind::Enum64
        )
    }

    /// Whether `size_or_type` is a type id (pointers, modifiers, typedefs, funcs, vars, tags and
    /// the return type of a function prototype).
    pub fn has_type_ref(self) -> bool {
        matches!(
            self,
            Kind::Ptr
                | Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::Func
                | Kind::FuncProto
                | Kind::Var
                | Kind::DeclTag
                | Kind::TypeTag
        )
    }

    /// Whether this is a modifier that CO-RE looks through: volatile, const, restrict, type tag.
    pub fn is_modifier(self) -> bool {
        matches!(
            self,
            Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag
        )
    }

    /// Whether this is a struct or a union.
    pub fn is_composite(self) -> bool {
        matches!(self, Kind::Struct | Kind::Union)
    }

    /// Whether this is an enum of either width.
    pub fn is_enum(self) -> bool {
        matches!(self, Kind::Enum | Kind::Enum64)
    }

    /// The record layout of a known kind: bytes of kind-specific data after the 12-byte
    /// `btf_type`, and bytes per `vlen` element. `None` for void and unknown kinds.
    pub fn known_layout(self) -> Option<KindLayout> {
        let (info_size, elem_size) = match self {
            Kind::Void | Kind::Unknown(_) => return None,
            Kind::Int => (4, 0),
            Kind::Array => (12, 0),
            Kind::Struct | Kind::Union => (0, 12),
            Kind::Enum => (0, 8),
            Kind::FuncProto => (0, 8),
            Kind::Var => (4, 0),
            Kind::Datasec => (0, 12),
            Kind::DeclTag => (4, 0),
            Kind::Enum64 => (0, 12),
            Kind::Ptr
            | Kind::Fwd
            | Kind::Typedef
            | Kind::Volatile
            | Kind::Const
            | Kind::Restrict
            | Kind::Func
            | Kind::Float
            | Kind::TypeTag => (0, 0),
        };
        Some(KindLayout {
            info_size,
            elem_size,
            flags: 0,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Unknown(raw) => write!(f, "UNKNOWN({raw})"),
            known => f.write_str(known.name()),
        }
    }
}

/// One entry of the layout section (`struct btf_layout`): how a kind's records are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindLayout {
    /// Bytes of kind-specific data after the 12-byte `btf_type` (`info_sz`).
    pub info_size: u8,
    /// Bytes per `vlen` element (`elem_sz`).
    pub elem_size: u8,
    /// `flags`, passed through uninterpreted.
    pub flags: u16,
}
