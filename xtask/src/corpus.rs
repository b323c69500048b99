//! `cargo xtask build-corpus`: compiles the C CO-RE corpus of `ebpf-tests/corpus/`.
//!
//! Output in `target/ebpf/corpus/`:
//! - `<case>.bpf.o` for every `<case>.bpf.c` (the objects to relocate), and
//!   `bpfeb/<case>.bpf.o`, the same compiled big-endian (for byte-order tests);
//! - `targets/<case>__<variant>.o` for every `targets/<case>__<variant>.c`, and
//!   `targets/<case>__<variant>.btf`, its raw `.BTF`: the target BTF for `<case>.bpf.o`.
//!
//! Work is skipped when an output is newer than its inputs (and the shared header). Every
//! program object must carry CO-RE records, every target a `.BTF`; the build fails otherwise.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use object::{Object, ObjectSection};

use crate::{Result, workspace_root};

const CLANG: &str = "clang-22";
const SHARED_HEADER: &str = "corpus.h";

/// What `build` produced.
pub struct Corpus {
    /// `target/ebpf/corpus`.
    pub out_dir: PathBuf,
    /// Program objects.
    pub objects: Vec<PathBuf>,
    /// Raw target BTF blobs.
    pub target_btfs: Vec<PathBuf>,
}

/// Entry point of `cargo xtask build-corpus`.
pub fn run() -> Result<()> {
    let corpus = build()?;
    println!(
        "corpus: {} objects, {} target BTFs in {}",
        corpus.objects.len(),
        corpus.target_btfs.len(),
        corpus.out_dir.display()
    );
    Ok(())
}

/// Builds every out-of-date corpus object and target BTF.
pub fn build() -> Result<Corpus> {
    let root = workspace_root();
    let src_dir = root.join("ebpf-tests/corpus");
    let out_dir = root.join("target/ebpf/corpus");
    fs::create_dir_all(out_dir.join("targets"))?;
    fs::create_dir_all(out_dir.join("bpfeb"))?;
    let header_time = modified(&src_dir.join(SHARED_HEADER))?;

    let mut objects = Vec::new();
    for source in sources(&src_dir, ".bpf.c")? {
        let stem = file_name(&source).trim_end_matches(".c").to_owned();
        let inputs_time = modified(&source)?.max(header_time);
        for (target, object) in [
            ("bpfel", out_dir.join(format!("{stem}.o"))),
            ("bpfeb", out_dir.join("bpfeb").join(format!("{stem}.o"))),
        ] {
            if !is_fresh(&object, inputs_time) {
                let flags = ["-D__TARGET_ARCH_x86", "-I/usr/include/x86_64-linux-gnu"];
                compile(&source, &object, target, &flags)?;
            }
            if core_relo_len(&object)? == 0 {
                return Err(format!("{} has no CO-RE records", object.display()).into());
            }
            objects.push(object);
        }
    }

    let mut target_btfs = Vec::new();
    for source in sources(&src_dir.join("targets"), ".c")? {
        let stem = file_name(&source).trim_end_matches(".c").to_owned();
        let case = stem.split("__").next().unwrap_or_default();
        if !src_dir.join(format!("{case}.bpf.c")).exists() {
            return Err(format!(
                "{}: a target is named <case>__<variant>.c after an existing <case>.bpf.c",
                source.display()
            )
            .into());
        }
        let object = out_dir.join("targets").join(format!("{stem}.o"));
        let btf = out_dir.join("targets").join(format!("{stem}.btf"));
        let source_time = modified(&source)?;
        if !is_fresh(&object, source_time) {
            compile(&source, &object, "bpfel", &[])?;
        }
        if !is_fresh(&btf, modified(&object)?) {
            let bytes = fs::read(&object)?;
            let file = object::File::parse(&*bytes)?;
            let section = file
                .section_by_name(".BTF")
                .ok_or_else(|| format!("{} has no .BTF", object.display()))?;
            fs::write(&btf, section.data()?)?;
        }
        target_btfs.push(btf);
    }
    Ok(Corpus {
        out_dir,
        objects,
        target_btfs,
    })
}

/// Files of `dir` whose name ends with `suffix`, sorted.
fn sources(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && file_name(&path).ends_with(suffix) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

fn modified(path: &Path) -> Result<SystemTime> {
    Ok(fs::metadata(path)?.modified()?)
}

fn is_fresh(output: &Path, inputs_time: SystemTime) -> bool {
    modified(output).is_ok_and(|time| time >= inputs_time)
}

/// Compiles `source` for `target` (`bpfel` or `bpfeb`).
fn compile(source: &Path, output: &Path, target: &str, extra: &[&str]) -> Result<()> {
    let sh = xshell::Shell::new()?;
    xshell::cmd!(
        sh,
        "{CLANG} -g -O2 -target {target} {extra...} -c {source} -o {output}"
    )
    .quiet()
    .run()?;
    Ok(())
}

/// The `core_relo_len` of the object's `.BTF.ext` header (0 when absent).
fn core_relo_len(path: &Path) -> Result<u32> {
    let bytes = fs::read(path)?;
    let file = object::File::parse(&*bytes)?;
    let Some(section) = file.section_by_name(".BTF.ext") else {
        return Ok(0);
    };
    let data = section.data()?;
    // hdr_len at 4, core_relo_len at 28 (present when hdr_len >= 32).
    let word = |at: usize| -> Option<u32> {
        let bytes: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(if file.is_little_endian() {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    };
    match word(4) {
        Some(hdr_len) if hdr_len >= 32 => Ok(word(28).unwrap_or(0)),
        _ => Ok(0),
    }
}
