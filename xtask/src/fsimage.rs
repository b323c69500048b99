//! The btrfs test image: known files, made on the host by `mkfs.btrfs --rootdir`, shipped to the
//! guest in a sparse form (the smallest btrfs is ~100 MiB, nearly all zeros).

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use xshell::{Shell, cmd};

use crate::Result;
use crate::expectations::fnv1a64;

/// Sector size given to mkfs (the only one x86-64 can mount).
pub const SECTOR_SIZE: u32 = 4096;
/// Node size given to mkfs: not the 16 KiB default, so a test reading the wrong field or a
/// default cannot pass by accident.
pub const NODE_SIZE: u32 = 32768;

/// Magic of the sparse form read by guest-init: then `u64` total length, then records of `u64`
/// offset, `u64` length and the bytes, all little-endian.
const SPARSE_MAGIC: &[u8; 8] = b"CRSPARS1";
const SPARSE_BLOCK: usize = 4096;

/// The files of the image: relative path and contents.
fn known_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("hello.txt", b"hello from the host\n".to_vec()),
        ("empty", Vec::new()),
        ("dir/small.txt", b"small, inline in the metadata\n".to_vec()),
        // Large enough for data extents of its own, outside the metadata nodes.
        (
            "dir/nested/pattern.bin",
            (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect(),
        ),
    ]
}

/// Makes `<dir>/btrfs.img.sparse`; appends the `fs.*` expectations to `expectations`.
pub fn build(sh: &Shell, dir: &Path, expectations: &mut String) -> Result<()> {
    let root = dir.join("btrfs-root");
    if root.exists() {
        fs::remove_dir_all(&root)?;
    }
    let files = known_files();
    writeln!(expectations, "fs.sectorsize = {SECTOR_SIZE}")?;
    writeln!(expectations, "fs.nodesize = {NODE_SIZE}")?;
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    writeln!(expectations, "fs.files = {}", names.join(","))?;
    for (name, contents) in &files {
        let path = root.join(name);
        fs::create_dir_all(path.parent().expect("files are below the root"))?;
        fs::write(&path, contents)?;
        writeln!(expectations, "fs.file.{name}.size = {}", contents.len())?;
        writeln!(
            expectations,
            "fs.file.{name}.fnv1a64 = {:#x}",
            fnv1a64(contents)
        )?;
    }

    let image = dir.join("btrfs.img");
    // mkfs refuses to write into an existing non-empty image without -f.
    fs::write(&image, b"")?;
    let (sector, node) = (SECTOR_SIZE.to_string(), NODE_SIZE.to_string());
    crate::progress::quiet(
        cmd!(
            sh,
            "mkfs.btrfs -q -f --sectorsize {sector} --nodesize {node} --rootdir {root} --shrink {image}"
        ),
        "vm",
    )?;
    write_sparse(&image, &dir.join("btrfs.img.sparse"))?;
    fs::remove_file(&image)?;
    fs::remove_dir_all(&root)?;
    Ok(())
}

/// Writes the non-zero blocks of `image` in the sparse form.
fn write_sparse(image: &Path, sparse: &Path) -> Result<()> {
    let mut input = fs::File::open(image)?;
    let total = input.metadata()?.len();
    let mut out = BufWriter::new(fs::File::create(sparse)?);
    out.write_all(SPARSE_MAGIC)?;
    out.write_all(&total.to_le_bytes())?;
    let mut run_start = 0u64;
    let mut run: Vec<u8> = Vec::new();
    let mut offset = 0u64;
    let mut block = vec![0u8; SPARSE_BLOCK];
    loop {
        let read = read_full(&mut input, &mut block)?;
        if read == 0 {
            break;
        }
        let data = &block[..read];
        if data.iter().all(|&byte| byte == 0) {
            flush_run(&mut out, run_start, &mut run)?;
        } else {
            if run.is_empty() {
                run_start = offset;
            }
            run.extend_from_slice(data);
        }
        offset += read as u64;
    }
    flush_run(&mut out, run_start, &mut run)?;
    out.flush()?;
    Ok(())
}

fn flush_run(out: &mut impl Write, start: u64, run: &mut Vec<u8>) -> Result<()> {
    if !run.is_empty() {
        out.write_all(&start.to_le_bytes())?;
        out.write_all(&(run.len() as u64).to_le_bytes())?;
        out.write_all(run)?;
        run.clear();
    }
    Ok(())
}

fn read_full(input: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_form_keeps_only_non_zero_blocks() {
        let dir = std::env::temp_dir().join(format!("xtask-sparse-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut image = vec![0u8; 5 * SPARSE_BLOCK + 100];
        image[SPARSE_BLOCK + 1] = 1;
        image[2 * SPARSE_BLOCK] = 2;
        image[5 * SPARSE_BLOCK + 99] = 3;
        fs::write(dir.join("img"), &image).unwrap();
        write_sparse(&dir.join("img"), &dir.join("sparse")).unwrap();
        let sparse = fs::read(dir.join("sparse")).unwrap();
        fs::remove_dir_all(&dir).unwrap();

        let u64_at = |at: usize| u64::from_le_bytes(sparse[at..at + 8].try_into().unwrap());
        assert_eq!(&sparse[..8], SPARSE_MAGIC);
        assert_eq!(u64_at(8), image.len() as u64);
        // Blocks 1 and 2 form one run; the partial last block another.
        assert_eq!(
            (u64_at(16), u64_at(24)),
            (SPARSE_BLOCK as u64, 2 * SPARSE_BLOCK as u64)
        );
        let second = 32 + 2 * SPARSE_BLOCK;
        assert_eq!(
            (u64_at(second), u64_at(second + 8)),
            (5 * SPARSE_BLOCK as u64, 100)
        );
        assert_eq!(sparse.len(), second + 16 + 100);
    }
}
