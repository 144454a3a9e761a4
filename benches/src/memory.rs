//! Peak resident memory (Linux `VmHWM`), for the proving reports.

/// Peak resident memory of process `pid` so far, in bytes (0 where `/proc` cannot tell).
pub fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// This process's peak resident memory so far, in bytes.
pub fn own_peak_rss() -> u64 {
    peak_rss(std::process::id())
}

/// Resets this process's peak to its current resident memory (`5` written to
/// `/proc/self/clear_refs`, Linux 4.0 and later), so that the next [`own_peak_rss`] measures
/// what runs in between, on top of what is already resident. Returns whether it worked.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_follows_an_allocation_and_resets() {
        if !reset_peak() {
            return; // not Linux, or /proc not writable: nothing to measure
        }
        let before = own_peak_rss();
        assert!(before > 0);
        let v = vec![1u8; 64 << 20];
        std::hint::black_box(&v);
        let during = own_peak_rss();
        assert!(during >= before + (60 << 20), "{before} -> {during}");
        drop(v);
        assert!(reset_peak());
        assert!(own_peak_rss() < during, "the peak was reset");
    }
}
