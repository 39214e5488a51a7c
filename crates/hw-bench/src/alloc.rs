//! A global allocator that counts live bytes and their peak, to bound what one input may make
//! the code allocate. Install it in a binary with `#[global_allocator]`; it counts only after
//! [`enable`], because shared counters cost every allocation a contended atomic (measured: 15% of
//! the paging benchmark's time), which the benchmarks must not pay.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The system allocator with counters.
pub struct Counting;

// Signed: memory allocated before counting began may be freed after it. Only differences from
// `start` are meaningful.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns counting on for the rest of the process; returns whether this allocator is the one in
/// use (it saw an allocation).
pub fn enable() -> bool {
    ENABLED.store(true, Ordering::Relaxed);
    let before = start();
    let probe = std::hint::black_box(vec![0u8; 64]);
    let seen = peak_since(before) >= 64;
    drop(probe);
    seen
}

/// Adds `delta` bytes to the live count (when counting) and raises the peak.
fn count(delta: isize) {
    if ENABLED.load(Ordering::Relaxed) {
        let live = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }
}

// Sizes of live allocations never exceed `isize::MAX`, so the casts below are exact.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        new
    }
}

/// Starts a measurement: the peak is reset to the bytes live now, which are returned.
pub fn start() -> isize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

/// The most bytes live since [`start`] above what was live then.
pub fn peak_since(start: isize) -> usize {
    usize::try_from(PEAK.load(Ordering::Relaxed) - start).unwrap_or(0)
}
