//! Attach targets named by program section names, and the kernel symbols that own them.
//!
//! A program in `kprobe/btrfs_getattr` runs inside btrfs, so the types it reads most likely
//! live in btrfs's BTF: the loader looks the symbol up in `/proc/kallsyms` to find the module.

/// What a program section says it attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachTarget<'a> {
    /// A kernel function (kprobe, kretprobe, fentry, fexit, fmod_ret).
    Function(&'a str),
    /// A tracepoint event (`tracepoint/<category>/<event>`, `tp_btf/<event>`,
    /// `raw_tp/<event>`).
    Tracepoint(&'a str),
}

impl AttachTarget<'_> {
    /// The symbol in `/proc/kallsyms` whose owner is the module to search: the function itself,
    /// or the tracepoint's `__tracepoint_<event>` structure, which the defining module owns.
    ///
    /// ```
    /// use core_reloc_loader::attach::{attach_target, AttachTarget};
    /// let target = attach_target("tracepoint/btrfs/btrfs_sync_file").unwrap();
    /// assert_eq!(target, AttachTarget::Tracepoint("btrfs_sync_file"));
    /// assert_eq!(target.kallsyms_symbol(), "__tracepoint_btrfs_sync_file");
    /// ```
    pub fn kallsyms_symbol(&self) -> String {
        match self {
            AttachTarget::Function(name) => (*name).to_string(),
            AttachTarget::Tracepoint(event) => format!("__tracepoint_{event}"),
        }
    }
}

/// Section prefixes whose rest names a kernel function.
const FUNCTION_PREFIXES: &[&str] = &[
    "kprobe/",
    "kretprobe/",
    "fentry/",
    "fexit/",
    "fmod_ret/",
    "fentry.s/",
    "fexit.s/",
    "fmod_ret.s/",
];

/// Section prefixes whose rest names a tracepoint event directly.
const EVENT_PREFIXES: &[&str] = &["tp_btf/", "raw_tp/", "raw_tracepoint/", "raw_tp.w/"];

/// Section prefixes whose rest is `<category>/<event>`.
const CATEGORY_EVENT_PREFIXES: &[&str] = &["tracepoint/", "tp/"];

/// The attach target a section name declares, if it declares one in the kernel.
///
/// Offsets (`kprobe/f+0x10`) are dropped; wildcard patterns (`kprobe.multi/btrfs_*`) and
/// user-space probes name no single kernel symbol and give `None`.
///
/// ```
/// use core_reloc_loader::attach::{attach_target, AttachTarget};
/// assert_eq!(attach_target("kprobe/btrfs_getattr"), Some(AttachTarget::Function("btrfs_getattr")));
/// assert_eq!(attach_target("fexit/btrfs_sync_file"), Some(AttachTarget::Function("btrfs_sync_file")));
/// assert_eq!(attach_target("kprobe/vfs_read+0x10"), Some(AttachTarget::Function("vfs_read")));
/// assert_eq!(attach_target("xdp"), None);
/// ```
pub fn attach_target(section: &str) -> Option<AttachTarget<'_>> {
    let named = |rest: &str| !rest.is_empty() && !rest.contains(['*', '?', '/', ' ']);
    for prefix in FUNCTION_PREFIXES {
        if let Some(rest) = section.strip_prefix(prefix) {
            let function = rest.split_once('+').map_or(rest, |(function, _)| function);
            // libbpf's `fentry/MODULE:FUNC`: the symbol is FUNC (the module is checked by
            // `btf_attach` when the program is loaded).
            let function = function
                .split_once(':')
                .map_or(function, |(_, function)| function);
            return named(function).then_some(AttachTarget::Function(function));
        }
    }
    for prefix in EVENT_PREFIXES {
        if let Some(event) = section.strip_prefix(prefix) {
            return named(event).then_some(AttachTarget::Tracepoint(event));
        }
    }
    for prefix in CATEGORY_EVENT_PREFIXES {
        if let Some(rest) = section.strip_prefix(prefix) {
            let (_, event) = rest.split_once('/')?;
            return named(event).then_some(AttachTarget::Tracepoint(event));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_sections() {
        for (section, function) in [
            ("kprobe/btrfs_getattr", "btrfs_getattr"),
            ("kretprobe/btrfs_getattr", "btrfs_getattr"),
            ("fentry/btrfs_getattr", "btrfs_getattr"),
            ("fentry.s/btrfs_getattr", "btrfs_getattr"),
            ("fmod_ret/security_x", "security_x"),
            ("kprobe/f+16", "f"),
            ("fexit/btrfs:btrfs_getattr", "btrfs_getattr"),
        ] {
            assert_eq!(
                attach_target(section),
                Some(AttachTarget::Function(function)),
                "{section}"
            );
        }
    }

    #[test]
    fn tracepoint_sections() {
        assert_eq!(
            attach_target("tp/btrfs/btrfs_transaction_commit"),
            Some(AttachTarget::Tracepoint("btrfs_transaction_commit"))
        );
        assert_eq!(
            attach_target("raw_tp/sched_switch"),
            Some(AttachTarget::Tracepoint("sched_switch"))
        );
        assert_eq!(
            attach_target("tp_btf/sched_switch")
                .unwrap()
                .kallsyms_symbol(),
            "__tracepoint_sched_switch"
        );
    }

    #[test]
    fn sections_without_a_single_kernel_target() {
        for section in [
            "kprobe/",
            "kprobe.multi/btrfs_*",
            "kprobe/btrfs_*",
            "tracepoint/btrfs",
            "tracepoint/",
            "uprobe/libc.so:malloc",
            "xdp",
            ".text",
            "socket",
        ] {
            assert_eq!(attach_target(section), None, "{section}");
        }
    }
}
