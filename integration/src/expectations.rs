//! The expectations file: `key = value` lines written by `cargo xtask vm` on the host.
//!
//! The values come from tools independent of this project: bpftool's dump of the kernel's BTF
//! (type sizes, member offsets, enum values), the parameters given to `mkfs.btrfs`, and the files
//! put into the image. Keys (see `xtask/src/expectations.rs` for the writer):
//! - `kernel.series`, `kernel.release`, `modules.load_order` (comma-separated module names);
//! - `btf.blob.<module>.size`, `btf.blob.<module>.fnv1a64`: the module BTF the host extracted;
//! - `btf.struct.<name>.exists|size`, `btf.struct.<name>.member.<member>.exists|offset|size`;
//! - `btf.enum.<name>.<enumerator>.exists|value`;
//! - `fs.sectorsize`, `fs.nodesize`, `fs.files` (comma-separated relative paths),
//!   `fs.file.<path>.size`, `fs.file.<path>.fnv1a64`;
//! - `ebpf.objects` (comma-separated file names in the eBPF directory).

use std::collections::BTreeMap;
use std::path::Path;

/// Parsed expectations, looked up by key.
#[derive(Debug, Default, Clone)]
pub struct Expectations {
    values: BTreeMap<String, String>,
}

impl Expectations {
    /// Reads and parses a file.
    pub fn read(path: &Path) -> std::io::Result<Expectations> {
        Ok(Expectations::parse(&std::fs::read_to_string(path)?))
    }

    /// Parses `key = value` lines; blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Expectations {
        let values = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
            .collect();
        Expectations { values }
    }

    /// The value of `key`, if present.
    pub fn try_get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The value of `key`; panics naming the key when it is missing.
    pub fn get(&self, key: &str) -> &str {
        self.try_get(key)
            .unwrap_or_else(|| panic!("expectation {key:?} is missing"))
    }

    /// The value of `key` as an integer (decimal, or hexadecimal with `0x`).
    pub fn u64(&self, key: &str) -> u64 {
        let value = self.get(key);
        let parsed = match value.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => value.parse(),
        };
        parsed.unwrap_or_else(|_| panic!("expectation {key} = {value:?} is not an integer"))
    }

    /// The value of `key` as a comma-separated list (empty items dropped).
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.get(key)
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .collect()
    }

    /// Every `(key, value)` pair, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// 64-bit FNV-1a, the checksum used in the expectations file (host and guest agree on it
/// without a dependency).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_values_and_lists() {
        let expectations = Expectations::parse(
            "# comment\n\nkernel.series = 6.12\nbtf.struct.btrfs_inode.size=1016\n\
             fs.files = a.txt, dir/b.bin,\nhex = 0x10\n",
        );
        assert_eq!(expectations.get("kernel.series"), "6.12");
        assert_eq!(expectations.u64("btf.struct.btrfs_inode.size"), 1016);
        assert_eq!(expectations.u64("hex"), 16);
        assert_eq!(expectations.list("fs.files"), ["a.txt", "dir/b.bin"]);
        assert_eq!(expectations.try_get("missing"), None);
    }

    #[test]
    fn fnv1a64_matches_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
