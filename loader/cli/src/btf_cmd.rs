//! `core-reloc btf dump | relocate | distill`: file handling around the library's
//! `btf_dump` and `split_base`.

use std::path::Path;
use std::sync::Arc;

use core_reloc::btf::Btf;
use core_reloc::btf_dump::dump_raw;
use core_reloc::btf_file::BtfFile;
use core_reloc::split_base::{distill_base, relocate_split};

use crate::btf_args::{BtfArgs, BtfCommand, DistillArgs, DumpArgs, RelocateBtfArgs};
use crate::error::CliError;

/// Runs a `btf` subcommand.
pub fn run(args: &BtfArgs) -> Result<(), CliError> {
    match &args.command {
        BtfCommand::Dump(args) => dump(args),
        BtfCommand::Relocate(args) => relocate(args),
        BtfCommand::Distill(args) => distill(args),
    }
}

/// The BTF of a file in any format the library detects: raw BTF, or an ELF (a vmlinux, a
/// `.ko`, plain or xz/zstd-compressed) with `.BTF` and, for a distilled module, `.BTF.base`.
fn load(path: &Path) -> Result<BtfFile<'static>, CliError> {
    BtfFile::open(path).map_err(CliError::BtfFile)
}

fn parse<'a>(
    path: &Path,
    bytes: &'a [u8],
    base: Option<Arc<Btf<'a>>>,
) -> Result<Btf<'a>, CliError> {
    let parsed = match base {
        Some(base) => Btf::parse_split(bytes, base),
        None => Btf::parse(bytes),
    };
    parsed.map_err(|source| CliError::Btf {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|source| CliError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn dump(args: &DumpArgs) -> Result<(), CliError> {
    let file = load(&args.file)?;
    let base_file = args.base.as_deref().map(load).transpose()?;
    let base_bytes: Option<(&Path, &[u8])> = match (&base_file, &file.btf_base) {
        (Some(base), _) => Some((args.base.as_deref().unwrap_or(&args.file), &base.btf)),
        (None, Some(distilled)) => Some((args.file.as_path(), distilled)),
        (None, None) => None,
    };
    let base = base_bytes
        .map(|(path, bytes)| parse(path, bytes, None).map(Arc::new))
        .transpose()?;
    let btf = parse(&args.file, &file.btf, base)?;
    let text = dump_raw(&btf).map_err(|source| CliError::Dump {
        path: args.file.clone(),
        source,
    })?;
    print!("{text}");
    Ok(())
}

fn relocate(args: &RelocateBtfArgs) -> Result<(), CliError> {
    let file = load(&args.file)?;
    let distilled_file = args.distilled_base.as_deref().map(load).transpose()?;
    let distilled_bytes: &[u8] = match (&distilled_file, &file.btf_base) {
        (Some(distilled), _) => &distilled.btf,
        (None, Some(distilled)) => distilled,
        (None, None) => {
            return Err(CliError::Usage {
                message: format!(
                    "{} has no .BTF.base: give its distilled base with --distilled-base",
                    args.file.display()
                ),
            });
        }
    };
    let distilled_path = args.distilled_base.as_deref().unwrap_or(&args.file);
    let distilled = Arc::new(parse(distilled_path, distilled_bytes, None)?);
    let split = parse(&args.file, &file.btf, Some(distilled))?;
    let vmlinux_file = load(&args.base)?;
    let vmlinux = parse(&args.base, &vmlinux_file.btf, None)?;
    let relocated = relocate_split(&split, &vmlinux).map_err(CliError::Relocate)?;
    write(&args.output, &relocated)?;
    eprintln!(
        "{}: {} types relocated onto {}, written to {}",
        args.file.display(),
        split.own_type_count(),
        args.base.display(),
        args.output.display()
    );
    Ok(())
}

fn distill(args: &DistillArgs) -> Result<(), CliError> {
    let file = load(&args.file)?;
    let vmlinux_file = load(&args.base)?;
    let vmlinux = Arc::new(parse(&args.base, &vmlinux_file.btf, None)?);
    let split = parse(&args.file, &file.btf, Some(vmlinux))?;
    let distilled = distill_base(&split).map_err(CliError::Distill)?;
    write(&args.out_split, &distilled.split)?;
    write(&args.out_base, &distilled.base)?;
    eprintln!(
        "{}: distilled base {} bytes ({}), split {} bytes ({})",
        args.file.display(),
        distilled.base.len(),
        args.out_base.display(),
        distilled.split.len(),
        args.out_split.display()
    );
    Ok(())
}
