//! Alerts held for their place in the output (docs/semantics.md §4.1): everything raised
//! is kept with its [`AlertOrder`] until no alert before it can still come, then written
//! in order. The engine releases what is older than the time it is about to process;
//! cluster mode's output releases what is older than the dataflow's frontier. Both go
//! through [`Held`], so they write the same sequence.

use crate::alert::AlertOrder;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Items (alerts, or their rendered lines) waiting for their place in the output, in a
/// heap by their order (then by arrival, so equal keys keep the order they were raised
/// in): a push and a release cost O(log n) whatever is held, not a sort of everything.
#[derive(Debug)]
pub(crate) struct Held<T> {
    items: BinaryHeap<Reverse<Item<T>>>,
    /// Items pushed so far (the tie-break).
    pushed: u64,
}

#[derive(Debug)]
struct Item<T> {
    order: AlertOrder,
    n: u64,
    item: T,
}

impl<T> PartialEq for Item<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Item<T> {}

impl<T> PartialOrd for Item<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Item<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order
            .cmp(&other.order)
            .then(self.n.cmp(&other.n))
    }
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held {
            items: BinaryHeap::new(),
            pushed: 0,
        }
    }
}

impl<T> Held<T> {
    /// Keeps an item until its place comes.
    pub(crate) fn push(&mut self, order: AlertOrder, item: T) {
        self.pushed += 1;
        self.items.push(Reverse(Item {
            order,
            n: self.pushed,
            item,
        }));
    }

    /// How many are held.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The held items in their order (as they will be released; a checkpoint keeps them
    /// so, and restoring them in this order keeps ties in order).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&AlertOrder, &T)> {
        let mut all: Vec<&Item<T>> = self.items.iter().map(|Reverse(i)| i).collect();
        all.sort_unstable();
        all.into_iter().map(|i| (&i.order, &i.item))
    }

    /// Hands `f` every item ordered before `frontier`, in order. Items with equal keys
    /// keep the order they were raised in.
    pub(crate) fn release_before(&mut self, frontier: &AlertOrder, mut f: impl FnMut(T)) {
        while self
            .items
            .peek()
            .is_some_and(|Reverse(i)| i.order < *frontier)
        {
            if let Some(Reverse(i)) = self.items.pop() {
                f(i.item);
            }
        }
    }

    /// Hands `f` every item, in order.
    pub(crate) fn release_all(&mut self, mut f: impl FnMut(T)) {
        while let Some(Reverse(i)) = self.items.pop() {
            f(i.item);
        }
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
