//! Alerts held for their place in the output (docs/semantics.md §4.1): everything raised
//! is kept with its [`AlertOrder`] until no alert before it can still come, then written
//! in order. The engine releases what is older than the time it is about to process;
//! cluster mode's output releases what is older than the dataflow's frontier. Both go
//! through [`Held`], so they write the same sequence.

use crate::alert::AlertOrder;

/// Items (alerts, or their rendered lines) waiting for their place in the output.
#[derive(Debug)]
pub(crate) struct Held<T> {
    items: Vec<(AlertOrder, T)>,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held { items: Vec::new() }
    }
}

impl<T> Held<T> {
    /// Keeps an item until its place comes.
    pub(crate) fn push(&mut self, order: AlertOrder, item: T) {
        self.items.push((order, item));
    }

    /// How many are held.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The held items, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(AlertOrder, T)> {
        self.items.iter()
    }

    /// Hands `f` every item ordered before `frontier`, in order. Items with equal keys
    /// keep the order they were raised in (the sort is stable).
    pub(crate) fn release_before(&mut self, frontier: &AlertOrder, f: impl FnMut(T)) {
        if self.items.is_empty() {
            return;
        }
        self.items.sort_by(|a, b| a.0.cmp(&b.0));
        let n = self.items.partition_point(|(o, _)| o < frontier);
        self.items.drain(..n).map(|(_, t)| t).for_each(f);
    }

    /// Hands `f` every item, in order.
    pub(crate) fn release_all(&mut self, f: impl FnMut(T)) {
        self.items.sort_by(|a, b| a.0.cmp(&b.0));
        self.items.drain(..).map(|(_, t)| t).for_each(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn t(s: i64) -> Timestamp {
        Timestamp(s * 1_000_000_000)
    }

    /// Alerts of a late event are keyed by the watermark at arrival: after every alert
    /// older than it, before the in-order alerts of that same time.
    #[test]
    fn releases_in_order_up_to_the_frontier() {
        let mut h = Held::default();
        h.push(AlertOrder::in_order(t(20), 1, String::new(), 9), "b@20");
        h.push(AlertOrder::in_order(t(20), 0, "g2".into(), 8), "a@20 g2");
        h.push(AlertOrder::in_order(t(20), 0, "g1".into(), 9), "a@20 g1");
        h.push(AlertOrder::on_arrival(Some(t(20)), 10, 3), "late at W=20");
        h.push(AlertOrder::in_order(t(10), 5, String::new(), 2), "c@10");
        let mut out = Vec::new();
        h.release_before(&AlertOrder::first_at(t(20)), |x| out.push(x));
        assert_eq!(out, ["c@10"]);
        h.release_before(&AlertOrder::after_arrival(Some(t(20)), 10), |x| out.push(x));
        assert_eq!(out, ["c@10", "late at W=20"]);
        assert_eq!(h.len(), 3);
        h.release_all(|x| out.push(x));
        assert_eq!(out, ["c@10", "late at W=20", "a@20 g1", "a@20 g2", "b@20"]);
    }

    #[test]
    fn equal_keys_keep_their_order() {
        let mut h = Held::default();
        for i in 0..5 {
            h.push(AlertOrder::in_order(t(1), 0, "g".into(), u64::MAX), i);
        }
        let mut out = Vec::new();
        h.release_all(|x| out.push(x));
        assert_eq!(out, [0, 1, 2, 3, 4]);
    }
}
