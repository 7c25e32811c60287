//! Small helpers over frames and bins shared by the detail statistics (`analysis::detail`) and
//! the tone tracks (`plan::tone`): a clipped sliding window and the median of a short slice.

/// Median of a small slice (sorted in place).
pub(crate) fn median(buf: &mut [f32]) -> f32 {
    if buf.is_empty() {
        return 0.0;
    }
    buf.sort_unstable_by(f32::total_cmp);
    let n = buf.len();
    if n % 2 == 1 {
        buf[n / 2]
    } else {
        0.5 * (buf[n / 2 - 1] + buf[n / 2])
    }
}

/// The window `[i - w/2, i + w/2]` clipped to `0..n`.
pub(crate) fn window(i: usize, w: usize, n: usize) -> std::ops::Range<usize> {
    let h = w / 2;
    i.saturating_sub(h)..(i + h + 1).min(n)
}
