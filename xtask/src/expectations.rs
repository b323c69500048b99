//! Expected values for the VM tests, computed on the host by tools independent of this project.
//!
//! BTF facts (type sizes, member offsets and sizes, enum values) come from bpftool's raw dump of
//! the kernel cache's BTF (`bpftool -B btf/vmlinux btf dump file btf/btrfs format raw`), parsed
//! here; filesystem facts from the parameters and files given to `mkfs.btrfs`. The result is
//! a `key = value` file read in the guest by `integration::Expectations`, which documents the keys.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use xshell::{Shell, cmd};

use crate::Result;

/// Struct members whose existence, offset and size the tests check, per struct.
const STRUCT_QUERIES: &[(&str, &[&str])] = &[
    (
        "btrfs_inode",
        &["location", "vfs_inode", "generation", "root"],
    ),
    ("btrfs_fs_info", &["nodesize", "sectorsize"]),
    ("btrfs_root", &["root_key", "fs_info"]),
];

/// Enumerators whose existence and value the tests check, per enum.
const ENUM_QUERIES: &[(&str, &[&str])] = &[(
    "btrfs_map_op",
    &["BTRFS_MAP_DISCARD", "BTRFS_MAP_GET_READ_MIRRORS"],
)];

/// One type of a bpftool raw dump: only what the queries need.
#[derive(Debug, Default)]
struct RawType {
    kind: String,
    name: String,
    /// `size=` (structs, unions, enums, ints).
    size: Option<u64>,
    /// `type_id=` (modifiers, typedefs, pointers, arrays' element).
    type_id: Option<u32>,
    nr_elems: Option<u64>,
    /// `(name, type_id, bits_offset)` of struct and union members.
    members: Vec<(String, u32, u64)>,
    /// `(name, value)` of enumerators.
    enumerators: Vec<(String, i128)>,
}

/// The types of a base dump and a split dump on top of it, by id.
#[derive(Debug, Default)]
struct RawBtf {
    types: HashMap<u32, RawType>,
    /// Ids of the split (module) types, in dump order.
    split_ids: Vec<u32>,
}

impl RawBtf {
    /// Runs bpftool on `vmlinux` and the split `module` BTF and parses both dumps.
    fn dump(sh: &Shell, vmlinux: &Path, module: &Path) -> Result<RawBtf> {
        let base = cmd!(sh, "bpftool btf dump file {vmlinux} format raw")
            .quiet()
            .read()?;
        let split = cmd!(sh, "bpftool -B {vmlinux} btf dump file {module} format raw")
            .quiet()
            .read()?;
        let mut btf = RawBtf::default();
        btf.parse(&base, false)?;
        btf.parse(&split, true)?;
        Ok(btf)
    }

    fn parse(&mut self, dump: &str, split: bool) -> Result<()> {
        let mut current: Option<u32> = None;
        for line in dump.lines() {
            if let Some(member) = line.strip_prefix('\t') {
                let id = current.ok_or("member line before any type")?;
                let ty = self.types.get_mut(&id).expect("current type was inserted");
                let name = quoted(member).unwrap_or_default();
                if let Some(value) = field(member, "val=") {
                    ty.enumerators.push((name, value.parse()?));
                } else if let (Some(type_id), Some(offset)) =
                    (field(member, "type_id="), field(member, "bits_offset="))
                {
                    ty.members.push((name, type_id.parse()?, offset.parse()?));
                }
                continue;
            }
            // `[id] KIND 'name' key=value ...`
            let Some(rest) = line.strip_prefix('[') else {
                continue;
            };
            let (id, rest) = rest.split_once("] ").ok_or("malformed type line")?;
            let id: u32 = id.parse()?;
            let kind = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            let ty = RawType {
                kind,
                name: quoted(rest).unwrap_or_default(),
                size: field(rest, "size=").map(str::parse).transpose()?,
                type_id: field(rest, "type_id=").map(str::parse).transpose()?,
                nr_elems: field(rest, "nr_elems=").map(str::parse).transpose()?,
                ..RawType::default()
            };
            self.types.insert(id, ty);
            if split {
                self.split_ids.push(id);
            }
            current = Some(id);
        }
        Ok(())
    }

    /// The module's complete (non-forward) type of `kind` named `name`.
    fn module_type(&self, kind: &[&str], name: &str) -> Option<&RawType> {
        self.split_ids
            .iter()
            .map(|id| &self.types[id])
            .find(|ty| kind.contains(&ty.kind.as_str()) && ty.name == name)
    }

    /// Byte size of a type, following modifiers and typedefs.
    fn size_of(&self, id: u32) -> Option<u64> {
        let ty = self.types.get(&id)?;
        match ty.kind.as_str() {
            "PTR" => Some(8),
            "ARRAY" => Some(self.size_of(ty.type_id?)? * ty.nr_elems?),
            "TYPEDEF" | "CONST" | "VOLATILE" | "RESTRICT" | "TYPE_TAG" => self.size_of(ty.type_id?),
            _ => ty.size,
        }
    }
}

/// The text between the first pair of single quotes.
fn quoted(text: &str) -> Option<String> {
    let (_, rest) = text.split_once('\'')?;
    let (name, _) = rest.split_once('\'')?;
    Some(if name == "(anon)" {
        String::new()
    } else {
        name.to_string()
    })
}

/// The number after `key`, without what bpftool appends to some (`type_id=5,` of VARs,
/// `val=1024ULL` of ENUM64s).
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split_whitespace()
        .find_map(|word| word.strip_prefix(key))
        .map(|value| {
            value
                .trim_end_matches(',')
                .trim_end_matches("ULL")
                .trim_end_matches("LL")
        })
}

/// The `btf.*` keys of a kernel, cached in `cache`: bpftool's dump of a whole vmlinux takes
/// seconds. The cache is keyed by the queries and the BTF files' sizes and times.
pub fn btf_facts_cached(sh: &Shell, vmlinux: &Path, module: &Path, cache: &Path) -> Result<String> {
    let mut key = format!("# key {:?} {:?}", STRUCT_QUERIES, ENUM_QUERIES);
    for path in [vmlinux, module] {
        let metadata = std::fs::metadata(path)?;
        write!(
            key,
            " {}:{}:{:?}",
            path.display(),
            metadata.len(),
            metadata.modified()?
        )?;
    }
    let key = format!("# key {:#x}\n", fnv1a64(key.as_bytes()));
    if let Ok(cached) = std::fs::read_to_string(cache)
        && let Some(facts) = cached.strip_prefix(&key)
    {
        return Ok(facts.to_string());
    }
    let mut facts = String::new();
    write_btf_facts(&RawBtf::dump(sh, vmlinux, module)?, &mut facts)?;
    std::fs::write(cache, format!("{key}{facts}"))?;
    Ok(facts)
}

/// Appends the `btf.*` keys for the queried structs and enums.
fn write_btf_facts(btf: &RawBtf, out: &mut String) -> Result<()> {
    for (struct_name, members) in STRUCT_QUERIES {
        let prefix = format!("btf.struct.{struct_name}");
        let ty = btf.module_type(&["STRUCT"], struct_name);
        writeln!(out, "{prefix}.exists = {}", u8::from(ty.is_some()))?;
        writeln!(
            out,
            "{prefix}.size = {}",
            ty.and_then(|t| t.size).unwrap_or(0)
        )?;
        for member in *members {
            let found = ty.and_then(|t| t.members.iter().find(|(name, ..)| name == member));
            let (offset, size) = match found {
                Some(&(_, type_id, bits_offset)) => (
                    bits_offset / 8,
                    btf.size_of(type_id)
                        .ok_or_else(|| format!("{struct_name}.{member}: size unknown"))?,
                ),
                None => (0, 0),
            };
            let prefix = format!("{prefix}.member.{member}");
            writeln!(out, "{prefix}.exists = {}", u8::from(found.is_some()))?;
            writeln!(out, "{prefix}.offset = {offset}")?;
            writeln!(out, "{prefix}.size = {size}")?;
        }
    }
    for (enum_name, enumerators) in ENUM_QUERIES {
        let ty = btf.module_type(&["ENUM", "ENUM64"], enum_name);
        writeln!(
            out,
            "btf.enum.{enum_name}.exists = {}",
            u8::from(ty.is_some())
        )?;
        for enumerator in *enumerators {
            let value = ty.and_then(|t| {
                t.enumerators
                    .iter()
                    .find(|(name, _)| name == enumerator)
                    .map(|&(_, value)| value)
            });
            let prefix = format!("btf.enum.{enum_name}.{enumerator}");
            writeln!(out, "{prefix}.exists = {}", u8::from(value.is_some()))?;
            writeln!(out, "{prefix}.value = {}", value.unwrap_or(0))?;
        }
    }
    Ok(())
}

/// 64-bit FNV-1a, as `integration::expectations::fnv1a64`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "\
[1] INT 'unsigned int' size=4 bits_offset=0 nr_bits=32 encoding=(none)
[2] TYPEDEF 'u32' type_id=1
[3] STRUCT 'inode' size=600 vlen=0
";
    const SPLIT: &str = "\
[4] STRUCT 'btrfs_fs_info' size=3736 vlen=2
\t'nodesize' type_id=2 bits_offset=26432
\t'sectorsize' type_id=2 bits_offset=26464
[5] ARRAY '(anon)' type_id=2 index_type_id=1 nr_elems=3
[6] STRUCT 'btrfs_inode' size=1016 vlen=2
\t'generation' type_id=5 bits_offset=1280
\t'vfs_inode' type_id=3 bits_offset=3136
[7] ENUM 'btrfs_map_op' encoding=UNSIGNED size=4 vlen=2
\t'BTRFS_MAP_READ' val=0
\t'BTRFS_MAP_GET_READ_MIRRORS' val=2
[8] VAR 'some_var' type_id=2, linkage=static
[9] ENUM64 'wide' encoding=UNSIGNED size=8 vlen=1
\t'WIDE' val=1099511627776ULL
";

    #[test]
    fn facts_follow_typedefs_arrays_and_report_missing_members_as_zero() {
        let mut btf = RawBtf::default();
        btf.parse(BASE, false).unwrap();
        btf.parse(SPLIT, true).unwrap();
        let mut out = String::new();
        write_btf_facts(&btf, &mut out).unwrap();
        for line in [
            "btf.struct.btrfs_inode.exists = 1",
            "btf.struct.btrfs_inode.size = 1016",
            "btf.struct.btrfs_inode.member.location.exists = 0",
            "btf.struct.btrfs_inode.member.location.offset = 0",
            "btf.struct.btrfs_inode.member.vfs_inode.offset = 392",
            "btf.struct.btrfs_inode.member.vfs_inode.size = 600",
            "btf.struct.btrfs_inode.member.generation.size = 12",
            "btf.struct.btrfs_fs_info.member.nodesize.offset = 3304",
            "btf.struct.btrfs_fs_info.member.nodesize.size = 4",
            "btf.struct.btrfs_root.exists = 0",
            "btf.enum.btrfs_map_op.BTRFS_MAP_DISCARD.exists = 0",
            "btf.enum.btrfs_map_op.BTRFS_MAP_GET_READ_MIRRORS.value = 2",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }
}
