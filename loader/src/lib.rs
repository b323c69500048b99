//! Loads eBPF objects into the kernel after module-aware CO-RE relocation.
