//! Heap accounting for `cargo xtask bench`: peak live heap bytes during one measured call.
//!
//! Two counters, because the libraries allocate through two doors:
//! - Rust code (ours, aya-obj) allocates through the `#[global_allocator]` below, which counts
//!   requested bytes (`Layout::size`).
//! - libbpf (C) calls `malloc` directly. This binary defines `malloc` & co., forwarding to
//!   glibc's `__libc_*` entry points; the executable's definitions take precedence over libc's
//!   for every caller in the process (libbpf, libelf, libc's own `fopen`). They count
//!   `malloc_usable_size` bytes, which exceeds the request by at most a few words per block.
//!
//! Counting happens only while armed, so measured timings pay nothing but a relaxed load.
//! Each counter's peak is relative to the moment it was armed; memory freed during the
//! measurement that was allocated before it lowers the current count (net growth is what
//! is reported).

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

static ARMED: AtomicBool = AtomicBool::new(false);

/// Live-bytes counter with a high-water mark.
struct Counter {
    current: AtomicIsize,
    peak: AtomicIsize,
}

impl Counter {
    const fn new() -> Counter {
        Counter {
            current: AtomicIsize::new(0),
            peak: AtomicIsize::new(0),
        }
    }

    fn add(&self, bytes: usize) {
        let now = self.current.fetch_add(bytes as isize, Relaxed) + bytes as isize;
        self.peak.fetch_max(now, Relaxed);
    }

    fn sub(&self, bytes: usize) {
        self.current.fetch_sub(bytes as isize, Relaxed);
    }

    fn reset(&self) {
        self.current.store(0, Relaxed);
        self.peak.store(0, Relaxed);
    }
}

static RUST_HEAP: Counter = Counter::new();
static C_HEAP: Counter = Counter::new();

/// Peak heap growth seen by each counter during one [`measure_peak`] call.
#[derive(Debug, Clone, Copy)]
pub struct Peaks {
    /// Through the Rust global allocator, requested bytes.
    pub rust: u64,
    /// Through `malloc` & co. called by C code (usable bytes). Rust allocations reach
    /// `malloc` too, through `System`, but are not counted here again.
    pub c: u64,
}

/// Runs `f` once with both counters armed and returns their peaks. Keep `f`'s result alive
/// inside `f` if what it keeps should count (the peak is a high-water mark either way).
pub fn measure_peak<R>(f: impl FnOnce() -> R) -> (R, Peaks) {
    RUST_HEAP.reset();
    C_HEAP.reset();
    ARMED.store(true, Relaxed);
    let result = f();
    ARMED.store(false, Relaxed);
    let peak = |counter: &Counter| counter.peak.load(Relaxed).max(0) as u64;
    (
        result,
        Peaks {
            rust: peak(&RUST_HEAP),
            c: peak(&C_HEAP),
        },
    )
}

/// The counting global allocator.
pub struct CountingAllocator;

// While Rust code is inside `System`'s calls to `malloc`, the C counter must not count the
// same bytes again.
thread_local! {
    static IN_RUST_ALLOCATOR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn in_rust_allocator<R>(f: impl FnOnce() -> R) -> R {
    // `try_with`: thread-local storage may be gone while a thread exits.
    let _ = IN_RUST_ALLOCATOR.try_with(|flag| flag.set(true));
    let result = f();
    let _ = IN_RUST_ALLOCATOR.try_with(|flag| flag.set(false));
    result
}

fn c_counting() -> bool {
    ARMED.load(Relaxed)
        && !IN_RUST_ALLOCATOR
            .try_with(|flag| flag.get())
            .unwrap_or(true)
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = in_rust_allocator(|| unsafe { System.alloc(layout) });
        if !ptr.is_null() && ARMED.load(Relaxed) {
            RUST_HEAP.add(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = in_rust_allocator(|| unsafe { System.alloc_zeroed(layout) });
        if !ptr.is_null() && ARMED.load(Relaxed) {
            RUST_HEAP.add(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        in_rust_allocator(|| unsafe { System.dealloc(ptr, layout) });
        if ARMED.load(Relaxed) {
            RUST_HEAP.sub(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = in_rust_allocator(|| unsafe { System.realloc(ptr, layout, new_size) });
        if !new.is_null() && ARMED.load(Relaxed) {
            RUST_HEAP.sub(layout.size());
            RUST_HEAP.add(new_size);
        }
        new
    }
}

unsafe extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_calloc(count: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_free(ptr: *mut c_void);
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
    fn malloc_usable_size(ptr: *mut c_void) -> usize;
}

fn usable(ptr: *mut c_void) -> usize {
    if ptr.is_null() {
        0
    } else {
        // SAFETY: `ptr` is a live block from glibc's allocator.
        unsafe { malloc_usable_size(ptr) }
    }
}

// The replacements glibc documents as required ("Replacing malloc"): malloc, free, calloc,
// realloc, plus the aligned variants. Each forwards to glibc's implementation.

/// # Safety
/// As C `malloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    let ptr = unsafe { __libc_malloc(size) };
    if c_counting() {
        C_HEAP.add(usable(ptr));
    }
    ptr
}

/// # Safety
/// As C `calloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    let ptr = unsafe { __libc_calloc(count, size) };
    if c_counting() {
        C_HEAP.add(usable(ptr));
    }
    ptr
}

/// # Safety
/// As C `realloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    let counting = c_counting();
    let old = if counting { usable(ptr) } else { 0 };
    let new = unsafe { __libc_realloc(ptr, size) };
    // On failure (null with size > 0) the old block stays.
    if counting && (!new.is_null() || size == 0) {
        C_HEAP.sub(old);
        C_HEAP.add(usable(new));
    }
    new
}

/// # Safety
/// As C `free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if c_counting() {
        C_HEAP.sub(usable(ptr));
    }
    unsafe { __libc_free(ptr) }
}

/// # Safety
/// As C `memalign`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    let ptr = unsafe { __libc_memalign(align, size) };
    if c_counting() {
        C_HEAP.add(usable(ptr));
    }
    ptr
}

/// # Safety
/// As C `aligned_alloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    unsafe { memalign(align, size) }
}

/// # Safety
/// As C `posix_memalign`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    const EINVAL: c_int = 22;
    const ENOMEM: c_int = 12;
    if !align.is_power_of_two() || !align.is_multiple_of(size_of::<*mut c_void>()) {
        return EINVAL;
    }
    let ptr = unsafe { memalign(align, size) };
    if ptr.is_null() {
        return ENOMEM;
    }
    unsafe { *out = ptr };
    0
}
