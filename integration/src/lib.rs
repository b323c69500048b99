//! Shared helpers of the integration tests.

pub mod libbpf_reference;
