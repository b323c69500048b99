//! Access specifications: the `0:1:2` strings of CO-RE records, resolved against a BTF.
//!
//! A spec has two levels, as in libbpf: the raw indices (one per access string element, plus
//! anonymous members found while matching a target), and the accessors that matter for
//! matching: the root index, each *named* member and each array index.

use crate::btf::{Btf, BtfError, TypeId};
use crate::ext::CoreReloKind;

use super::error::SpecError;
use super::explain::{AccessPath, AccessStep, RawSpec, TypeName};

/// Longest access string accepted, as the kernel and libbpf allow.
pub const MAX_SPEC_LEN: usize = 64;

/// One semantically meaningful step of an access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accessor<'b> {
    /// For a member: the struct/union holding it. For an array index (and the root): the
    /// element type, modifiers and typedefs skipped. For an enumerator: the enum.
    pub type_id: TypeId,
    /// Member, element or enumerator index.
    pub index: u32,
    /// Member or enumerator name; `None` for array indices (and the root).
    pub name: Option<&'b str>,
}

/// A spec resolved against one BTF.
#[derive(Debug, Clone)]
pub(crate) struct Spec<'b> {
    pub btf: &'b Btf<'b>,
    pub root: TypeId,
    pub raw: Vec<u32>,
    pub accessors: Vec<Accessor<'b>>,
    pub bit_offset: u64,
}

impl<'b> Spec<'b> {
    pub fn empty(btf: &'b Btf<'b>, root: TypeId) -> Spec<'b> {
        Spec {
            btf,
            root,
            raw: Vec::new(),
            accessors: Vec::new(),
            bit_offset: 0,
        }
    }

    pub fn push_raw(&mut self, index: u32) -> Result<(), SpecError> {
        if self.raw.len() == MAX_SPEC_LEN {
            return Err(SpecError::TooLong);
        }
        self.raw.push(index);
        Ok(())
    }

    /// Whether `index` lies inside an array of `nelems` elements reached through this spec's
    /// last accessor (a flexible array member has no bound).
    pub fn index_in_bounds(&self, nelems: u32, index: u32) -> bool {
        index < nelems || is_flexible_array(self.btf, self.accessors.last(), nelems)
    }

    /// Adds the accessor of element `index` of type `element` (an array's element, or the
    /// root's `index`-th instance) and its offset: `index` times the element's size.
    pub fn push_element(&mut self, element: TypeId, index: u32) -> Result<(), BtfError> {
        self.accessors.push(Accessor {
            type_id: element,
            index,
            name: None,
        });
        let size = self.btf.resolved_size(element)?;
        self.bit_offset += u64::from(index) * u64::from(size) * 8;
        Ok(())
    }

    /// The raw indices, e.g. `0:3:1`.
    pub fn raw_spec(&self) -> RawSpec {
        RawSpec(self.raw.clone())
    }
}

/// Parses `0:1:2`. Stricter than libbpf: no empty, signed or trailing elements.
pub(crate) fn parse_access_string(text: &str) -> Result<Vec<u32>, SpecError> {
    if text.is_empty() {
        return Err(SpecError::Malformed(text.to_string()));
    }
    let mut indices = Vec::new();
    for element in text.split(':') {
        if indices.len() == MAX_SPEC_LEN {
            return Err(SpecError::TooLong);
        }
        if element.is_empty() || !element.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SpecError::Malformed(text.to_string()));
        }
        let index = element
            .parse::<u32>()
            .map_err(|_| SpecError::Malformed(text.to_string()))?;
        indices.push(index);
    }
    Ok(indices)
}

/// `a[i]` is a flexible array when `a` is the last member of its struct and has no elements;
/// `holder` is the accessor of the member that is the array.
fn is_flexible_array(btf: &Btf<'_>, holder: Option<&Accessor<'_>>, nelems: u32) -> bool {
    let Some(holder) = holder else { return false };
    if holder.name.is_none() || nelems > 0 {
        return false;
    }
    btf.type_by_id(holder.type_id)
        .is_ok_and(|ty| ty.vlen() == holder.index + 1)
}

/// Resolves a record's access string against the local BTF.
pub(crate) fn parse_local_spec<'b>(
    btf: &'b Btf<'b>,
    root: TypeId,
    kind: CoreReloKind,
    access: &str,
) -> Result<Spec<'b>, SpecError> {
    let mut spec = Spec::empty(btf, root);
    if kind.is_type_based() {
        return if access == "0" {
            Ok(spec)
        } else {
            Err(SpecError::TypeBasedNotZero(access.to_string()))
        };
    }
    let raw = parse_access_string(access)?;
    let first = raw[0];
    let mut id = btf.skip_mods_and_typedefs(root)?;
    spec.raw.push(first);
    spec.accessors.push(Accessor {
        type_id: id,
        index: first,
        name: None,
    });

    if kind.is_enumval_based() {
        let ty = btf.type_by_id(id)?;
        let values = ty.enum_values().ok_or(SpecError::NotAnEnum(id))?;
        if raw.len() > 1 {
            return Err(SpecError::Malformed(access.to_string()));
        }
        let value = values
            .get(first as usize)
            .ok_or(SpecError::IndexOutOfRange {
                id,
                index: first,
                len: ty.vlen(),
            })?;
        spec.accessors[0].name = Some(btf.str_at(value.name_offset)?);
        return Ok(spec);
    }

    let size = btf.resolved_size(id)?;
    spec.bit_offset = u64::from(first) * u64::from(size) * 8;
    for &index in &raw[1..] {
        id = btf.skip_mods_and_typedefs(id)?;
        let ty = btf.type_by_id(id)?;
        if let Some(members) = ty.members() {
            let member = members
                .get(index as usize)
                .ok_or(SpecError::IndexOutOfRange {
                    id,
                    index,
                    len: ty.vlen(),
                })?;
            spec.bit_offset += u64::from(member.bit_offset);
            if member.name_offset != 0 {
                let name = btf.str_at(member.name_offset)?;
                if name.is_empty() {
                    return Err(SpecError::EmptyMemberName { id, index });
                }
                spec.accessors.push(Accessor {
                    type_id: id,
                    index,
                    name: Some(name),
                });
            }
            id = member.type_id;
        } else if let Some(array) = ty.array() {
            let element = btf.skip_mods_and_typedefs(array.elem_type)?;
            if !spec.index_in_bounds(array.nelems, index) {
                return Err(SpecError::IndexOutOfRange {
                    id,
                    index,
                    len: array.nelems,
                });
            }
            spec.push_element(element, index)?;
            id = element;
        } else {
            return Err(SpecError::NotIndexable {
                id,
                kind: ty.kind(),
            });
        }
        spec.raw.push(index);
    }
    Ok(spec)
}

/// The access in C-like words: `struct btrfs_inode.vfs_inode.i_ino`, `struct s[2].a[3]`,
/// `enum e::VALUE`, or just the type for type-based kinds.
pub(crate) fn access_path(spec: &Spec<'_>, kind: CoreReloKind) -> AccessPath {
    let root = TypeName::of(spec.btf, spec.root);
    let mut steps = Vec::new();
    if kind.is_enumval_based() {
        if let Some(accessor) = spec.accessors.first()
            && let Some(name) = accessor.name
        {
            steps.push(AccessStep::Enumerator {
                name: name.to_string(),
            });
        }
        return AccessPath { root, steps };
    }
    for (position, accessor) in spec.accessors.iter().enumerate() {
        match accessor.name {
            Some(name) => steps.push(AccessStep::Member {
                name: name.to_string(),
            }),
            None if position > 0 || accessor.index > 0 => {
                steps.push(AccessStep::Index(accessor.index));
            }
            None => {}
        }
    }
    AccessPath { root, steps }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_strings_parse_strictly() {
        assert_eq!(parse_access_string("0").unwrap(), [0]);
        assert_eq!(parse_access_string("0:12:3").unwrap(), [0, 12, 3]);
        for bad in [
            "",
            ":",
            "0:",
            ":0",
            "0::1",
            "-1",
            "0:+1",
            "0:x",
            "0 :1",
            "4294967296",
        ] {
            assert!(parse_access_string(bad).is_err(), "{bad:?}");
        }
        let longest = vec!["0"; MAX_SPEC_LEN].join(":");
        assert_eq!(parse_access_string(&longest).unwrap().len(), MAX_SPEC_LEN);
        let too_long = vec!["0"; MAX_SPEC_LEN + 1].join(":");
        assert!(matches!(
            parse_access_string(&too_long),
            Err(SpecError::TooLong)
        ));
    }
}
