//! Paths of the fixtures these tests use: the workspace's one copy, in `kernel-fixtures`.

#![allow(unused_imports)]

pub use kernel_fixtures::{ebpf_object, kernel_btf_dir, workspace};
