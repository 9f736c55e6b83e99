//! Handing freed heap memory back to the system.
//!
//! glibc's allocator keeps what a thread frees in that thread's arena for
//! later use, so after a reload has compiled a new set and the old one has
//! been dropped, the process still holds both in its resident memory until
//! the pages happen to be reused. `malloc_trim` returns the free pages of
//! every arena. Calling it is the one `unsafe` step here.

/// Return the heap's free pages to the system (glibc only; elsewhere nothing).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointers and touches only the
    // allocator's own free lists, under the allocator's locks; any thread may
    // call it at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
