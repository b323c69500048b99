//! Where a record keeps its type ids and its string offsets, kind by kind (libbpf's
//! `btf_field_iter`): relocation and distillation rewrite exactly these `u32` fields.

use crate::btf::{Kind, Type};

/// Size of `struct btf_type`.
const HEADER: usize = 12;

/// The `u32` fields of one kind: some in the record's fixed part, one per element.
struct Layout {
    fixed: &'static [usize],
    elem_size: usize,
    elem: &'static [usize],
}

const NONE: Layout = Layout {
    fixed: &[],
    elem_size: 0,
    elem: &[],
};

/// Which of a record's fields to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fields {
    /// Type ids (`BTF_FIELD_ITER_IDS`).
    Ids,
    /// String offsets (`BTF_FIELD_ITER_STRS`).
    Strings,
}

fn layout(kind: Kind, fields: Fields) -> Option<Layout> {
    let name_only = Layout {
        fixed: &[0],
        ..NONE
    };
    Some(match (fields, kind) {
        (Fields::Ids, Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64) => NONE,
        (
            Fields::Ids,
            Kind::Fwd
            | Kind::Const
            | Kind::Volatile
            | Kind::Restrict
            | Kind::Ptr
            | Kind::Typedef
            | Kind::Func
            | Kind::Var
            | Kind::DeclTag
            | Kind::TypeTag,
        ) => Layout {
            fixed: &[8],
            ..NONE
        },
        (Fields::Ids, Kind::Array) => Layout {
            fixed: &[HEADER, HEADER + 4],
            ..NONE
        },
        (Fields::Ids, Kind::Struct | Kind::Union) => Layout {
            fixed: &[],
            elem_size: 12,
            elem: &[4],
        },
        (Fields::Ids, Kind::FuncProto) => Layout {
            fixed: &[8],
            elem_size: 8,
            elem: &[4],
        },
        (Fields::Ids, Kind::Datasec) => Layout {
            fixed: &[],
            elem_size: 12,
            elem: &[0],
        },
        (Fields::Strings, Kind::Enum) => Layout {
            fixed: &[0],
            elem_size: 8,
            elem: &[0],
        },
        (Fields::Strings, Kind::Enum64) => Layout {
            fixed: &[0],
            elem_size: 12,
            elem: &[0],
        },
        (Fields::Strings, Kind::Struct | Kind::Union) => Layout {
            fixed: &[0],
            elem_size: 12,
            elem: &[0],
        },
        (Fields::Strings, Kind::FuncProto) => Layout {
            fixed: &[0],
            elem_size: 8,
            elem: &[0],
        },
        (Fields::Strings, Kind::Void | Kind::Unknown(_)) | (Fields::Ids, _) => return None,
        (Fields::Strings, _) => name_only,
    })
}

/// Byte offsets inside `ty`'s record of its `fields`, in libbpf's order (fixed part first,
/// then element by element). `None` for kinds libbpf cannot iterate (unknown kinds) and for
/// records whose length is not the kind's known layout (a layout section enlarged it).
pub(crate) fn offsets(ty: &Type<'_>, fields: Fields) -> Option<Vec<usize>> {
    let kind = ty.kind();
    let layout = layout(kind, fields)?;
    let known = kind.known_layout()?;
    let len = ty.record().len();
    let fixed_len = HEADER + usize::from(known.info_size);
    let elems_len = len.checked_sub(fixed_len)?;
    let elem_size = usize::from(known.elem_size);
    let count = match elem_size {
        0 if elems_len == 0 => 0,
        0 => return None,
        size if elems_len.is_multiple_of(size) => elems_len / size,
        _ => return None,
    };
    let mut offsets = layout.fixed.to_vec();
    if layout.elem_size != 0 {
        offsets.reserve(count * layout.elem.len());
        for index in 0..count {
            let start = fixed_len + index * layout.elem_size;
            offsets.extend(layout.elem.iter().map(|field| start + field));
        }
    }
    Some(offsets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};

    #[test]
    fn struct_and_proto_fields() {
        let mut b = BtfBuilder::new();
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let s = b.add_struct(
            "s",
            8,
            &[MemberSpec::new("a", int, 0), MemberSpec::new("b", int, 32)],
        );
        let proto = b.add_func_proto(int, &[("x", int)]);
        let arr = b.add_array(int, int, 3);
        let btf = Btf::parse(b.build()).unwrap();
        let ty = |id| btf.type_by_id(id).unwrap();
        assert_eq!(offsets(&ty(s), Fields::Ids), Some(vec![16, 28]));
        assert_eq!(offsets(&ty(s), Fields::Strings), Some(vec![0, 12, 24]));
        assert_eq!(offsets(&ty(proto), Fields::Ids), Some(vec![8, 16]));
        assert_eq!(offsets(&ty(proto), Fields::Strings), Some(vec![0, 12]));
        assert_eq!(offsets(&ty(arr), Fields::Ids), Some(vec![12, 16]));
        assert_eq!(offsets(&ty(int), Fields::Ids), Some(vec![]));
    }
}
