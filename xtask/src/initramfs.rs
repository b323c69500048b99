//! A minimal writer of the "newc" cpio format the kernel unpacks as an initramfs.
//!
//! Only what an initramfs needs: directories, regular files (from memory or from disk),
//! character devices. Parent directories are emitted automatically, before their contents,
//! because the kernel's unpacker does not create them.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

const MAGIC: &str = "070701";
const TRAILER: &str = "TRAILER!!!";
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;

/// Streams a newc archive to a file.
pub struct Cpio {
    out: BufWriter<File>,
    written: u64,
    next_inode: u32,
    directories: BTreeSet<String>,
}

impl Cpio {
    /// Creates (truncates) the archive at `path`.
    pub fn create(path: &Path) -> io::Result<Cpio> {
        Ok(Cpio {
            out: BufWriter::with_capacity(1 << 20, File::create(path)?),
            written: 0,
            next_inode: 1,
            directories: BTreeSet::new(),
        })
    }

    /// Adds a directory (and its parents) with mode 0755.
    pub fn directory(&mut self, path: &str) -> io::Result<()> {
        let path = path.trim_matches('/');
        if path.is_empty() || self.directories.contains(path) {
            return Ok(());
        }
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.directory(parent)?;
        }
        self.directories.insert(path.to_string());
        self.entry(path, S_IFDIR | 0o755, (0, 0), &[])
    }

    /// Adds a regular file with the given contents and permission bits.
    pub fn file(&mut self, path: &str, mode: u32, contents: &[u8]) -> io::Result<()> {
        let path = self.parents(path)?;
        self.entry(&path, S_IFREG | mode, (0, 0), contents)
    }

    /// Adds a regular file copied from `source`, keeping its permission bits.
    pub fn file_from(&mut self, path: &str, source: &Path) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let contents = std::fs::read(source)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", source.display())))?;
        let mode = std::fs::metadata(source)?.permissions().mode() & 0o7777;
        self.file(path, mode, &contents)
    }

    /// Adds a character device node.
    pub fn char_device(&mut self, path: &str, mode: u32, major: u32, minor: u32) -> io::Result<()> {
        let path = self.parents(path)?;
        self.entry(&path, S_IFCHR | mode, (major, minor), &[])
    }

    /// Writes the trailer and flushes; returns the archive size in bytes.
    pub fn finish(mut self) -> io::Result<u64> {
        self.entry(TRAILER, 0, (0, 0), &[])?;
        self.out.flush()?;
        Ok(self.written)
    }

    /// Creates the parents of `path` and returns it without leading slashes.
    fn parents(&mut self, path: &str) -> io::Result<String> {
        let path = path.trim_start_matches('/').to_string();
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.directory(parent)?;
        }
        Ok(path)
    }

    /// One header, name and data, each padded to 4 bytes.
    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        (rdev_major, rdev_minor): (u32, u32),
        data: &[u8],
    ) -> io::Result<()> {
        let inode = if name == TRAILER { 0 } else { self.next_inode };
        self.next_inode += 1;
        let links = if mode & 0o170000 == S_IFDIR { 2 } else { 1 };
        let size = u32::try_from(data.len())
            .map_err(|_| io::Error::other(format!("{name}: larger than 4 GiB")))?;
        let header = format!(
            "{MAGIC}{inode:08x}{mode:08x}{uid:08x}{gid:08x}{links:08x}{mtime:08x}{size:08x}\
             {major:08x}{minor:08x}{rdev_major:08x}{rdev_minor:08x}{name_size:08x}{check:08x}",
            uid = 0,
            gid = 0,
            mtime = 0,
            major = 0,
            minor = 0,
            name_size = name.len() + 1,
            check = 0,
        );
        self.write(header.as_bytes())?;
        self.write(name.as_bytes())?;
        self.write(&[0])?;
        self.pad()?;
        self.write(data)?;
        self.pad()
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let padding = (4 - self.written % 4) % 4;
        self.write(&[0; 3][..padding as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_lists_parents_first_and_is_aligned() {
        let dir = std::env::temp_dir().join(format!("xtask-cpio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("test.cpio");
        let mut cpio = Cpio::create(&path).unwrap();
        cpio.file("/a/b/c.txt", 0o644, b"hello").unwrap();
        cpio.char_device("/dev/console", 0o600, 5, 1).unwrap();
        let size = cpio.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        assert_eq!(bytes.len() as u64, size);
        assert_eq!(size % 4, 0);
        let names: Vec<String> = entries(&bytes).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["a", "a/b", "a/b/c.txt", "dev", "dev/console", TRAILER]
        );
        let (_, data) = &entries(&bytes)[2];
        assert_eq!(data, b"hello");
    }

    /// A reader for the test: (name, data) per entry.
    fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let field = |at: usize, index: usize| {
            let text = std::str::from_utf8(&bytes[at + 6 + 8 * index..at + 14 + 8 * index]);
            usize::from_str_radix(text.unwrap(), 16).unwrap()
        };
        let align = |n: usize| n.div_ceil(4) * 4;
        let mut at = 0;
        let mut out = Vec::new();
        while at < bytes.len() {
            assert_eq!(&bytes[at..at + 6], MAGIC.as_bytes());
            let (size, name_size) = (field(at, 6), field(at, 11));
            let name_start = at + 110;
            let name = String::from_utf8(bytes[name_start..name_start + name_size - 1].to_vec());
            let data_start = align(name_start + name_size);
            out.push((name.unwrap(), bytes[data_start..data_start + size].to_vec()));
            at = align(data_start + size);
        }
        out
    }
}
