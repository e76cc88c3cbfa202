//! The event-time clock of the dataflow: timely time is whole seconds of event time
//! ("ticks"), and checkpoint boundaries fall on round multiples of the interval.

use crate::time::Timestamp;

/// Nanoseconds per tick of timely time: one second of event time.
pub const TICK: i64 = 1_000_000_000;

/// Tick 1 is this second of the epoch (the earliest whole second an `i64` of nanoseconds
/// holds, in 1677); ticks are whole epoch seconds from there. Tick 0 holds every time
/// before it, down to `i64::MIN` (the order key of alerts written before any timestamp).
const BASE: i64 = i64::MIN / TICK;

/// The tick an event time falls in (monotonic).
pub fn tick(Timestamp(ts): Timestamp) -> u64 {
    if ts < BASE * TICK {
        0
    } else {
        (ts.div_euclid(TICK) - BASE + 1) as u64
    }
}

/// The first event time of a tick.
pub fn tick_start(t: u64) -> Timestamp {
    if t == 0 {
        return Timestamp(i64::MIN);
    }
    let ns = (t as i128 - 1 + BASE as i128) * TICK as i128;
    Timestamp(ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// Epoch second of tick `t` (≥ 1).
fn second(t: u64) -> i64 {
    t as i64 - 1 + BASE
}

/// The latest checkpoint boundary at or before tick `t`: boundaries fall on whole
/// multiples of `every` seconds since the epoch (every 10m: at :00, :10, …).
pub fn boundary_at_or_before(t: u64, every: u64) -> u64 {
    let every = every.max(1) as i64;
    let s = second(t.max(1));
    (s - s.rem_euclid(every) + 1 - BASE).max(0) as u64
}

/// Whether tick `t` is a checkpoint boundary.
pub fn is_boundary(t: u64, every: u64) -> bool {
    t >= 1 && second(t).rem_euclid(every.max(1) as i64) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_epoch_seconds() {
        for ts in [
            i64::MIN,
            -1_500_000_000,
            -1,
            0,
            1,
            999_999_999,
            1_000_000_000,
            i64::MAX,
        ] {
            let t = tick(Timestamp(ts));
            assert!(tick_start(t).0 <= ts, "{ts}");
            assert!(t == u64::MAX || tick_start(t + 1).0 > ts || tick_start(t + 1).0 == i64::MAX);
        }
        let tk = |ns: i64| tick(Timestamp(ns));
        assert_eq!(tk(-1) + 1, tk(0));
        assert_eq!(tk(0), tk(999_999_999));
        assert_eq!(tk(0) + 1, tk(1_000_000_000));
        assert_eq!(
            tick_start(tk(1_714_521_600_000_000_123)),
            Timestamp(1_714_521_600_000_000_000)
        );
    }

    #[test]
    fn boundaries_fall_on_round_times() {
        let t = tick(Timestamp(1_714_521_600 * TICK + 3_599 * TICK)); // 2024-05-01T00:59:59Z
        let b = boundary_at_or_before(t, 600);
        assert_eq!(tick_start(b), Timestamp((1_714_521_600 + 3_000) * TICK)); // 00:50:00
        assert!(is_boundary(b, 600));
        assert!(!is_boundary(b + 1, 600));
        assert_eq!(boundary_at_or_before(b, 600), b);
    }
}
