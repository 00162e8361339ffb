//! Giving memory back to the system.
//!
//! glibc's allocator keeps freed memory in each thread's arena; a recording's start (device
//! negotiation, the seconds held while the sides' clocks are first fitted) leaves pages that
//! the rest of the call never needs, and a call's end leaves the whole call's. A daemon that
//! runs all session long returns them.

/// Returns freed heap pages of every arena to the system. Takes the allocator's locks: never
/// on a real-time path.
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own state, under its locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Caps the allocator's arenas at two, before any thread starts. By default glibc gives each
/// thread that allocates an arena of its own (up to eight per core), and each keeps its own
/// free pages: a recording's threads (the writer, the devices' supervisors, the sound
/// server's) left about half a MiB more resident. Two keep the D-Bus side and a recording off
/// one lock; the real-time callbacks never allocate.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
