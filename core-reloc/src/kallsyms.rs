//! `/proc/kallsyms` parsing: which module owns a symbol.
//!
//! The loader uses this to find the module that owns a program's attach target
//! (`btrfs_getattr\t[btrfs]`), so that module's BTF is parsed without being named by the user.
//! Parsing borrows the text; nothing is copied. A single pass answers any number of look-ups,
//! since a kernel has hundreds of thousands of symbols and a program only a few targets.

use std::collections::HashMap;

/// Who defines a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymbolOwner<'a> {
    /// The kernel image itself.
    Vmlinux,
    /// A loadable module, by the name `/sys/kernel/btf` uses.
    Module(&'a str),
}

/// One line of `/proc/kallsyms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KallsymsEntry<'a> {
    /// The address (zero when the reader lacks the privilege to see addresses).
    pub address: u64,
    /// The symbol type letter (`T`, `t`, `d`, ...).
    pub symbol_type: char,
    /// The symbol name, including any compiler suffix such as `.isra.0`.
    pub name: &'a str,
    /// The owner, from the optional `[module]` column.
    pub owner: SymbolOwner<'a>,
}

/// A line that does not have the `address type name [module]` form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("/proc/kallsyms line {line}: {reason}: {text:?}")]
pub struct KallsymsError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
    /// The line itself.
    pub text: String,
}

/// Iterates over the entries of a kallsyms text.
///
/// ```
/// use core_reloc::kallsyms::{entries, SymbolOwner};
/// let text = "ffffffff81000000 T _stext\nffffffffc0a01230 t btrfs_getattr\t[btrfs]\n";
/// let all: Vec<_> = entries(text).collect::<Result<_, _>>().unwrap();
/// assert_eq!(all[0].owner, SymbolOwner::Vmlinux);
/// assert_eq!(all[1].name, "btrfs_getattr");
/// assert_eq!(all[1].owner, SymbolOwner::Module("btrfs"));
/// ```
pub fn entries(text: &str) -> impl Iterator<Item = Result<KallsymsEntry<'_>, KallsymsError>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| parse_line(index + 1, line))
}

fn parse_line(line_number: usize, line: &str) -> Result<KallsymsEntry<'_>, KallsymsError> {
    let error = |reason| KallsymsError {
        line: line_number,
        reason,
        text: line.to_string(),
    };
    let (symbol_part, module_part) = match line.split_once('\t') {
        Some((symbol, module)) => (symbol, Some(module)),
        None => (line, None),
    };
    let mut fields = symbol_part.split_ascii_whitespace();
    let address = fields.next().ok_or_else(|| error("missing address"))?;
    let address = u64::from_str_radix(address, 16).map_err(|_| error("address is not hex"))?;
    let symbol_type = fields.next().ok_or_else(|| error("missing symbol type"))?;
    let mut type_chars = symbol_type.chars();
    let symbol_type = match (type_chars.next(), type_chars.next()) {
        (Some(letter), None) => letter,
        _ => return Err(error("symbol type is not one letter")),
    };
    let name = fields.next().ok_or_else(|| error("missing symbol name"))?;
    if fields.next().is_some() {
        return Err(error("unexpected extra field"));
    }
    let owner = match module_part.map(str::trim) {
        None | Some("") => SymbolOwner::Vmlinux,
        Some(module) => {
            let module = module
                .strip_prefix('[')
                .and_then(|module| module.strip_suffix(']'))
                .filter(|module| !module.is_empty())
                .ok_or_else(|| error("module column is not [name]"))?;
            SymbolOwner::Module(module)
        }
    };
    Ok(KallsymsEntry {
        address,
        symbol_type,
        name,
        owner,
    })
}

/// The name without a compiler-generated suffix: `btrfs_getattr.isra.0` -> `btrfs_getattr`.
///
/// GCC clones functions under names like `f.isra.0`, `f.constprop.0`, `f.part.0` or
/// `f.cold`; a program that attaches to `f` must find the module of the clone.
///
/// ```
/// use core_reloc::kallsyms::base_symbol_name;
/// assert_eq!(base_symbol_name("btrfs_getattr.isra.0"), "btrfs_getattr");
/// assert_eq!(base_symbol_name("btrfs_getattr"), "btrfs_getattr");
/// ```
pub fn base_symbol_name(name: &str) -> &str {
    name.split_once('.').map_or(name, |(base, _)| base)
}

/// Finds, in one pass, the owners of the given function names.
///
/// A name matches a symbol with the same name or, failing that, a compiler clone of it
/// (`name.isra.0`). A name defined by several owners (static functions of the same name in
/// different modules) maps to all of them, in the order of the text, without repeats. Names
/// that no symbol has are absent from the result.
///
/// ```
/// use core_reloc::kallsyms::{owners_of, SymbolOwner};
/// let text = "0 T vfs_getattr\n0 t btrfs_getattr.isra.0\t[btrfs]\n";
/// let owners = owners_of(text, &["btrfs_getattr", "vfs_getattr", "missing"]).unwrap();
/// assert_eq!(owners["btrfs_getattr"], vec![SymbolOwner::Module("btrfs")]);
/// assert_eq!(owners["vfs_getattr"], vec![SymbolOwner::Vmlinux]);
/// assert!(!owners.contains_key("missing"));
/// ```
pub fn owners_of<'t, 'n>(
    text: &'t str,
    names: &[&'n str],
) -> Result<HashMap<&'n str, Vec<SymbolOwner<'t>>>, KallsymsError> {
    let wanted: HashMap<&str, &'n str> = names.iter().map(|name| (*name, *name)).collect();
    let mut exact: HashMap<&'n str, Vec<SymbolOwner<'t>>> = HashMap::new();
    let mut clones: HashMap<&'n str, Vec<SymbolOwner<'t>>> = HashMap::new();
    for entry in entries(text) {
        let entry = entry?;
        let (found, name) = if let Some(name) = wanted.get(entry.name) {
            (&mut exact, *name)
        } else if let Some(name) = wanted.get(base_symbol_name(entry.name)) {
            (&mut clones, *name)
        } else {
            continue;
        };
        let owners = found.entry(name).or_default();
        if !owners.contains(&entry.owner) {
            owners.push(entry.owner);
        }
    }
    // An exact symbol wins over clones: `f` itself is what a kprobe on `f` attaches to.
    for (name, owners) in clones {
        exact.entry(name).or_insert(owners);
    }
    Ok(exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
ffffffff81000000 T _stext
ffffffff812a3b40 T vfs_getattr
ffffffffc0a01230 t btrfs_getattr\t[btrfs]
ffffffffc0a05550 t btrfs_sync_file.cold\t[btrfs]
ffffffffc0b00010 t init_once\t[xfs]
ffffffffc0a00010 t init_once\t[btrfs]
ffffffffc0c00000 t nft_do_chain.isra.0\t[nf_tables]
ffffffffc0c00100 t nft_do_chain.constprop.0\t[nf_tables]
";

    #[test]
    fn parses_vmlinux_and_module_symbols() {
        let all: Vec<_> = entries(SAMPLE).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 8);
        assert_eq!(
            all[2],
            KallsymsEntry {
                address: 0xffffffffc0a01230,
                symbol_type: 't',
                name: "btrfs_getattr",
                owner: SymbolOwner::Module("btrfs"),
            }
        );
        assert_eq!(all[1].owner, SymbolOwner::Vmlinux);
    }

    #[test]
    fn unprivileged_zero_addresses_parse() {
        let entry = entries("0000000000000000 t btrfs_getattr\t[btrfs]")
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(entry.address, 0);
        assert_eq!(entry.owner, SymbolOwner::Module("btrfs"));
    }

    #[test]
    fn finds_owners_through_compiler_clones() {
        let owners = owners_of(
            SAMPLE,
            &["btrfs_getattr", "nft_do_chain", "btrfs_sync_file"],
        )
        .unwrap();
        assert_eq!(owners["btrfs_getattr"], [SymbolOwner::Module("btrfs")]);
        // Two clones of one function in one module: one owner.
        assert_eq!(owners["nft_do_chain"], [SymbolOwner::Module("nf_tables")]);
        assert_eq!(owners["btrfs_sync_file"], [SymbolOwner::Module("btrfs")]);
    }

    #[test]
    fn a_name_in_several_modules_reports_each() {
        let owners = owners_of(SAMPLE, &["init_once"]).unwrap();
        assert_eq!(
            owners["init_once"],
            [SymbolOwner::Module("xfs"), SymbolOwner::Module("btrfs")]
        );
    }

    #[test]
    fn exact_symbol_wins_over_a_clone() {
        let text = "0 t f.isra.0\t[a]\n0 T f\n";
        assert_eq!(
            owners_of(text, &["f"]).unwrap()["f"],
            [SymbolOwner::Vmlinux]
        );
    }

    #[test]
    fn malformed_lines_are_typed_errors_with_line_numbers() {
        for (text, reason) in [
            ("zz T f", "address is not hex"),
            ("0 TT f", "symbol type is not one letter"),
            ("0 T", "missing symbol name"),
            ("0 T f\t[]", "module column is not [name]"),
            ("0 T f\tbtrfs", "module column is not [name]"),
            ("0 T f g", "unexpected extra field"),
        ] {
            let error = entries(&format!("0 T ok\n{text}\n"))
                .find_map(Result::err)
                .unwrap_or_else(|| panic!("{text:?} parsed"));
            assert_eq!((error.line, error.reason), (2, reason), "{text:?}");
        }
    }

    #[test]
    fn any_bytes_never_panic() {
        // A cheap exhaustive-ish sweep over short lines of a small alphabet.
        let alphabet = ['0', 'f', ' ', '\t', '[', ']', 'T', '.', 'x'];
        let mut line = String::new();
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    for d in alphabet {
                        line.clear();
                        line.extend([a, b, c, d, a, c]);
                        let _ = entries(&line).count();
                        let _ = owners_of(&line, &["f", "x"]);
                    }
                }
            }
        }
    }
}
