//! Essential names: a type name without its `___flavor` suffix.

/// The name up to its last flavor separator, as CO-RE matches names.
///
/// `task_struct___v1` and `task_struct` share the essential name `task_struct`. A separator is
/// three underscores between a character that is not `_` and one that is not `_`, so
/// `a____b` and `___x` have none.
///
/// ```
/// use core_reloc::engine::essential_name;
/// assert_eq!(essential_name("task_struct___v1"), "task_struct");
/// assert_eq!(essential_name("a___b___c"), "a___b");
/// assert_eq!(essential_name("btrfs_inode"), "btrfs_inode");
/// assert_eq!(essential_name("___x"), "___x");
/// ```
pub fn essential_name(name: &str) -> &str {
    // The cut is always before an ASCII `_`, so it is a character boundary.
    &name[..essential_len(name.as_bytes())]
}

/// Length of the essential part of a name given as bytes (see [`essential_name`]).
pub(crate) fn essential_len(bytes: &[u8]) -> usize {
    let flavor_separator_at =
        |i: usize| bytes[i] != b'_' && &bytes[i + 1..i + 4] == b"___" && bytes[i + 4] != b'_';
    (0..bytes.len().saturating_sub(4))
        .rev()
        .find(|&i| flavor_separator_at(i))
        .map_or(bytes.len(), |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::essential_name;

    #[test]
    fn cuts_at_the_last_separator_only() {
        assert_eq!(essential_name("s___1___2"), "s___1");
        assert_eq!(essential_name("s___flavor"), "s");
    }

    #[test]
    fn underscore_runs_are_not_separators() {
        for name in ["s____x", "s___", "___", "_", "", "s__x", "__s___"] {
            assert_eq!(essential_name(name), name, "{name:?}");
        }
        assert_eq!(essential_name("_s___x"), "_s");
    }

    #[test]
    fn non_ascii_names_cut_on_byte_boundaries_without_panicking() {
        // Bytes decide, as in libbpf; the cut is always before an ASCII `_`.
        assert_eq!(essential_name("é___ü"), "é");
        assert_eq!(essential_name("aé___b"), "aé");
        assert_eq!(essential_name("x___é"), "x");
    }
}
