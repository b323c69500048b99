//! Text dumps of BTF, one type per line as `bpftool btf dump file F format raw` prints them
//! (bpftool v7), for `core-reloc btf dump` and for comparing BTF type by type.

use std::fmt::{self, Write};

use crate::btf::{Btf, BtfError, Kind, Linkage, Type};

/// Why a dump failed: the BTF could not be read, or the output could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// A name or referenced type could not be read.
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// A type of a kind bpftool cannot print either.
    #[error("type [{id}] has kind {kind}, which has no raw dump")]
    UnknownKind {
        /// The type.
        id: crate::btf::TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// The writer failed.
    #[error("writing the dump failed")]
    Write(#[from] fmt::Error),
}

/// Dumps every own type of `btf` (a split BTF's own types only, as bpftool does with `-B`).
///
/// # Examples
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding};
/// use core_reloc::btf_dump::dump_raw;
/// let mut b = BtfBuilder::new();
/// let int = b.add_int("int", 4, IntEncoding::SIGNED);
/// b.add_ptr(int);
/// let btf = Btf::parse(b.build())?;
/// assert_eq!(
///     dump_raw(&btf)?,
///     "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n[2] PTR '(anon)' type_id=1\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dump_raw(btf: &Btf<'_>) -> Result<String, DumpError> {
    let mut out = String::new();
    for ty in btf.types() {
        write_raw(btf, &ty, &mut out)?;
    }
    Ok(out)
}

/// Writes `ty` (of `btf` or its base) as bpftool's raw format does, with a final newline.
///
/// # Examples
///
/// ```
/// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};
/// use core_reloc::btf_dump::write_raw;
/// let mut b = BtfBuilder::new();
/// let int = b.add_int("int", 4, IntEncoding::SIGNED);
/// let s = b.add_struct("pair", 8, &[MemberSpec::new("a", int, 0), MemberSpec::new("b", int, 32)]);
/// let btf = Btf::parse(b.build())?;
/// let mut out = String::new();
/// write_raw(&btf, &btf.type_by_id(s)?, &mut out)?;
/// assert_eq!(out, "[2] STRUCT 'pair' size=8 vlen=2\n\t'a' type_id=1 bits_offset=0\n\t'b' type_id=1 bits_offset=32\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_raw(btf: &Btf<'_>, ty: &Type<'_>, out: &mut impl Write) -> Result<(), DumpError> {
    let name = |offset: u32| -> Result<String, BtfError> {
        Ok(match btf.str_at(offset)? {
            "" => "(anon)".to_owned(),
            name => name.to_owned(),
        })
    };
    let linkage = |linkage: Option<Linkage>| match linkage {
        Some(Linkage::Static) => "static".to_owned(),
        Some(Linkage::Global) => "global".to_owned(),
        Some(Linkage::Extern) => "extern".to_owned(),
        Some(Linkage::Other(raw)) => format!("(unknown {raw})"),
        None => "(none)".to_owned(),
    };
    let kind = ty.kind();
    write!(
        out,
        "[{}] {} '{}'",
        ty.id(),
        kind.name(),
        name(ty.name_offset())?
    )?;
    let type_ref = ty.size_or_type();
    match kind {
        Kind::Int => {
            if let Some(int) = ty.int() {
                let encoding = match int.encoding.0 {
                    0 => "(none)",
                    1 => "SIGNED",
                    2 => "CHAR",
                    4 => "BOOL",
                    _ => "UNKN",
                };
                write!(
                    out,
                    " size={} bits_offset={} nr_bits={} encoding={encoding}",
                    int.size, int.offset, int.bits
                )?;
            }
        }
        Kind::Ptr
        | Kind::Const
        | Kind::Volatile
        | Kind::Restrict
        | Kind::Typedef
        | Kind::TypeTag => write!(out, " type_id={type_ref}")?,
        Kind::Array => {
            if let Some(a) = ty.array() {
                write!(
                    out,
                    " type_id={} index_type_id={} nr_elems={}",
                    a.elem_type, a.index_type, a.nelems
                )?;
            }
        }
        Kind::Struct | Kind::Union => {
            write!(out, " size={type_ref} vlen={}", ty.vlen())?;
            for m in ty.members().into_iter().flatten() {
                write!(
                    out,
                    "\n\t'{}' type_id={} bits_offset={}",
                    name(m.name_offset)?,
                    m.type_id,
                    m.bit_offset
                )?;
                if m.bitfield_size != 0 {
                    write!(out, " bitfield_size={}", m.bitfield_size)?;
                }
            }
        }
        Kind::Enum | Kind::Enum64 => {
            let signed = ty.kind_flag();
            let encoding = if signed { "SIGNED" } else { "UNSIGNED" };
            write!(
                out,
                " encoding={encoding} size={type_ref} vlen={}",
                ty.vlen()
            )?;
            for v in ty.enum_values().into_iter().flatten() {
                let value = match (kind, signed) {
                    (Kind::Enum, true) => format!("{}", v.as_i64()),
                    (Kind::Enum, false) => format!("{}", v.value),
                    (_, true) => format!("{}LL", v.as_i64()),
                    (_, false) => format!("{}ULL", v.value),
                };
                write!(out, "\n\t'{}' val={value}", name(v.name_offset)?)?;
            }
        }
        Kind::Fwd => {
            let fwd_kind = if ty.kind_flag() { "union" } else { "struct" };
            write!(out, " fwd_kind={fwd_kind}")?;
        }
        Kind::Func => write!(out, " type_id={type_ref} linkage={}", linkage(ty.linkage()))?,
        Kind::FuncProto => {
            write!(out, " ret_type_id={type_ref} vlen={}", ty.vlen())?;
            for p in ty.params().into_iter().flatten() {
                write!(out, "\n\t'{}' type_id={}", name(p.name_offset)?, p.type_id)?;
            }
        }
        Kind::Var => write!(
            out,
            " type_id={type_ref}, linkage={}",
            linkage(ty.linkage())
        )?,
        Kind::Datasec => {
            write!(out, " size={type_ref} vlen={}", ty.vlen())?;
            for e in ty.datasec_entries().into_iter().flatten() {
                let var = btf.type_by_id(e.type_id)?;
                write!(
                    out,
                    "\n\ttype_id={} offset={} size={} ({} '{}')",
                    e.type_id,
                    e.offset,
                    e.size,
                    var.kind().name(),
                    name(var.name_offset())?
                )?;
            }
        }
        Kind::Float => write!(out, " size={type_ref}")?,
        Kind::DeclTag => write!(
            out,
            " type_id={type_ref} component_idx={}",
            ty.decl_tag_component().unwrap_or(-1)
        )?,
        Kind::Void | Kind::Unknown(_) => return Err(DumpError::UnknownKind { id: ty.id(), kind }),
    }
    out.write_char('\n')?;
    Ok(())
}
