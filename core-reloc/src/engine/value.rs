//! The value a relocation takes for one spec (local or target): libbpf's
//! `bpf_core_calc_{field,type,enumval}_relo`.

use crate::btf::{Endianness, Kind, TypeId};
use crate::ext::CoreReloKind;
use crate::fixup::{FieldAccess, FieldClass};

use super::error::ReloErrorKind;
use super::spec::Spec;

/// Why a value cannot be computed. BTF errors are attributed (local or which target) by the
/// caller, which knows whose spec this is.
#[derive(Debug)]
pub(crate) enum ValueError {
    Btf(crate::btf::BtfError),
    Relo(ReloErrorKind),
}

impl From<crate::btf::BtfError> for ValueError {
    fn from(error: crate::btf::BtfError) -> Self {
        ValueError::Btf(error)
    }
}

impl From<ReloErrorKind> for ValueError {
    fn from(error: ReloErrorKind) -> Self {
        ValueError::Relo(error)
    }
}

/// An accessor that does not name what it should; specs are built valid, so this only
/// guards against a BTF changing under us.
fn inconsistent(id: TypeId, index: u32) -> ValueError {
    ValueError::Relo(ReloErrorKind::InconsistentSpec { id, index })
}

/// A computed value and what the patch step needs to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Value {
    pub value: u64,
    /// For `byte_off` of a non-bitfield field: the accessed field (element size for arrays).
    pub access: Option<FieldAccess>,
    /// Whether the compiler's value can be trusted to equal the local value.
    pub validate: bool,
}

impl Value {
    fn plain(value: u64) -> Value {
        Value {
            value,
            access: None,
            validate: true,
        }
    }
}

/// `None` means "poison": the kind needs a target and there is none.
pub(crate) fn compute(
    spec: Option<&Spec<'_>>,
    kind: CoreReloKind,
    endian: Endianness,
) -> Result<Option<Value>, ValueError> {
    if kind.is_field_based() {
        field_value(spec, kind, endian)
    } else if kind.is_type_based() {
        type_value(spec, kind).map(Some)
    } else {
        enumerator_value(spec, kind)
    }
}

/// Size and class of a field, looking through arrays to their element.
fn field_access(spec: &Spec<'_>, field_type: TypeId) -> Result<FieldAccess, ValueError> {
    let btf = spec.btf;
    let mut element = btf.skip_mods_and_typedefs(field_type)?;
    for _ in 0..crate::btf::MAX_RESOLVE_DEPTH {
        let Some(array) = btf.type_by_id(element)?.array() else {
            break;
        };
        element = btf.skip_mods_and_typedefs(array.elem_type)?;
    }
    let size = btf.resolved_size(element)?;
    // The class is that of the field's own type (an array member is neither pointer nor int),
    // as libbpf decides whether a load may be resized.
    let ty = btf.type_by_id(field_type)?;
    let class = match ty.kind() {
        Kind::Ptr => FieldClass::Pointer,
        Kind::Int if ty.int().is_some_and(|int| !int.encoding.is_signed()) => {
            FieldClass::UnsignedInt
        }
        _ => FieldClass::Other,
    };
    Ok(FieldAccess { size, class })
}

fn field_value(
    spec: Option<&Spec<'_>>,
    kind: CoreReloKind,
    endian: Endianness,
) -> Result<Option<Value>, ValueError> {
    if kind == CoreReloKind::FieldExists {
        return Ok(Some(Value::plain(u64::from(spec.is_some()))));
    }
    let Some(spec) = spec else { return Ok(None) };
    let btf = spec.btf;
    let Some(last) = spec.accessors.last() else {
        return Ok(None);
    };

    if last.name.is_none() {
        // An array element (or the root itself): only offset and size make sense.
        return match kind {
            CoreReloKind::FieldByteOffset => Ok(Some(Value {
                value: spec.bit_offset / 8,
                access: Some(field_access(spec, last.type_id)?),
                validate: true,
            })),
            CoreReloKind::FieldByteSize => Ok(Some(Value::plain(u64::from(
                btf.resolved_size(last.type_id)?,
            )))),
            other => Err(ReloErrorKind::ArrayElementKind { kind: other }.into()),
        };
    }

    let holder = btf.type_by_id(last.type_id)?;
    let member = holder
        .members()
        .and_then(|members| members.get(last.index as usize))
        .ok_or_else(|| inconsistent(last.type_id, last.index))?;
    let field_type = btf.skip_mods_and_typedefs(member.type_id)?;
    let field = btf.type_by_id(field_type)?;
    let bit_offset = spec.bit_offset;
    let bitfield_size = u32::from(member.bitfield_size);
    let bitfield = bitfield_size > 0;

    let (byte_offset, byte_size, bit_size) = if bitfield {
        let mut byte_size = u64::from(field.size().unwrap_or(0));
        if byte_size == 0 {
            return Err(ReloErrorKind::BitfieldTooWide {
                bit_offset,
                bit_size: bitfield_size,
            }
            .into());
        }
        // The smallest aligned load, doubling from the member's size, that holds the bits.
        let mut byte_offset = bit_offset / 8 / byte_size * byte_size;
        while bit_offset + u64::from(bitfield_size) - byte_offset * 8 > byte_size * 8 {
            if byte_size >= 8 {
                return Err(ReloErrorKind::BitfieldTooWide {
                    bit_offset,
                    bit_size: bitfield_size,
                }
                .into());
            }
            byte_size *= 2;
            byte_offset = bit_offset / 8 / byte_size * byte_size;
        }
        (byte_offset, byte_size, u64::from(bitfield_size))
    } else {
        let byte_size = u64::from(btf.resolved_size(field_type)?);
        (bit_offset / 8, byte_size, byte_size * 8)
    };

    // The compiler may lay out bitfield accesses differently from us: trust only what is
    // unambiguous (signedness and the right shift).
    let mut value = Value {
        value: 0,
        access: None,
        validate: !bitfield,
    };
    match kind {
        CoreReloKind::FieldByteOffset => {
            value.value = byte_offset;
            if !bitfield {
                value.access = Some(field_access(spec, field_type)?);
            }
        }
        CoreReloKind::FieldByteSize => value.value = byte_size,
        CoreReloKind::FieldSigned => {
            let signed = match field.kind() {
                Kind::Enum | Kind::Enum64 => field.kind_flag(),
                Kind::Int => field.int().is_some_and(|int| int.encoding.is_signed()),
                _ => false,
            };
            value.value = u64::from(signed);
            value.validate = true;
        }
        CoreReloKind::FieldLshiftU64 => {
            let shift = match endian {
                Endianness::Little => 64 - (bit_offset + bit_size - byte_offset * 8) as i128,
                Endianness::Big => {
                    ((8 - byte_size as i128) * 8) + (bit_offset - byte_offset * 8) as i128
                }
            };
            value.value = u64::try_from(shift).map_err(|_| ReloErrorKind::Overflow {
                value: shift as u128,
            })?;
        }
        CoreReloKind::FieldRshiftU64 => {
            value.value = 64 - bit_size.min(64);
            value.validate = true;
        }
        _ => unreachable!("field-based kinds are handled above"),
    }
    Ok(Some(value))
}

fn type_value(spec: Option<&Spec<'_>>, kind: CoreReloKind) -> Result<Value, ValueError> {
    let Some(spec) = spec else {
        return Ok(Value::plain(0));
    };
    Ok(match kind {
        // Linking renumbers types, so the compiler's id is not checked.
        CoreReloKind::TypeIdLocal | CoreReloKind::TypeIdTarget => Value {
            value: u64::from(spec.root.0),
            access: None,
            validate: false,
        },
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => Value::plain(1),
        CoreReloKind::TypeSize => Value::plain(u64::from(spec.btf.resolved_size(spec.root)?)),
        _ => unreachable!("type-based kinds are handled above"),
    })
}

fn enumerator_value(
    spec: Option<&Spec<'_>>,
    kind: CoreReloKind,
) -> Result<Option<Value>, ValueError> {
    match kind {
        CoreReloKind::EnumvalExists => Ok(Some(Value::plain(u64::from(spec.is_some())))),
        CoreReloKind::EnumvalValue => {
            let Some(spec) = spec else { return Ok(None) };
            let Some(&accessor) = spec.accessors.first() else {
                return Err(inconsistent(spec.root, 0));
            };
            let value = spec
                .btf
                .type_by_id(accessor.type_id)?
                .enum_values()
                .and_then(|values| values.get(accessor.index as usize))
                .ok_or_else(|| inconsistent(accessor.type_id, accessor.index))?;
            // A 32-bit enumerator widens by the enum's signedness (its kind flag); libbpf
            // sign-extends every 32-bit value.
            Ok(Some(Value::plain(value.value)))
        }
        _ => unreachable!("enumerator kinds are handled above"),
    }
}
