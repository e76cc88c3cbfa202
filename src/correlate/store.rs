//! Per-correlation group state with a bound: at most `max_groups` groups, least recently
//! used first out (each eviction counted), and groups whose state can no longer matter
//! dropped as time moves on.
//!
//! Groups live in a slab threaded on a doubly linked list in order of last use, so a touch,
//! an insertion and an eviction are O(1) and allocate nothing but a long key. A group's key
//! is stored once, in its slot: the index is a table of slot numbers, hashed and compared
//! by the slot's key bytes (4 bytes per group, not a second key).
//! Because events are processed in time order, the least recently used group is also the
//! one touched longest ago in event time, so expiry sweeps from the same end.

use super::group::GroupKey;
use super::text::hash;
use crate::time::Timestamp;
use hashbrown::HashTable;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Slot<G> {
    key: GroupKey,
    state: G,
    /// Event time of the last touch.
    touched: Timestamp,
    prev: u32,
    next: u32,
}

/// Groups of one correlation.
#[derive(Debug, Clone)]
pub struct GroupStore<G> {
    /// Slot numbers of the live groups, by their key's hash.
    index: HashTable<u32>,
    slots: Vec<Option<Slot<G>>>,
    free: Vec<u32>,
    /// Least recently used.
    head: u32,
    /// Most recently used.
    tail: u32,
    max_groups: usize,
    /// Groups pushed out by `max_groups`.
    pub evicted: u64,
    /// What changed since the last [`take_changes`](Self::take_changes), when tracked.
    changes: Option<Box<Changes>>,
}

/// What a store records for incremental checkpoints, besides the touched groups (which
/// are the most recently used end of the list: touches happen in event-time order).
#[derive(Debug, Clone, Default)]
struct Changes {
    /// Slots changed in place, without a touch (a duplicate or a reused slot is harmless:
    /// the slot's current group is read when the changes are taken).
    in_place: Vec<u32>,
    /// Keys of removed groups.
    removed: Vec<GroupKey>,
}

/// The groups of a store changed since a time: see [`GroupStore::take_changes`].
#[derive(Debug)]
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub struct StoreChanges<G> {
    /// Groups touched at or after the time, least recently used first.
    pub touched: Vec<(GroupKey, Timestamp, G)>,
    /// Groups changed without a touch (last touched before the time), by key.
    pub in_place: Vec<(GroupKey, Timestamp, G)>,
    /// Keys removed (evicted, expired or ended) since then.
    pub removed: Vec<GroupKey>,
}

impl<G> GroupStore<G> {
    /// An empty store holding at most `max_groups` groups (at least 1).
    pub fn new(max_groups: usize) -> Self {
        GroupStore {
            index: HashTable::new(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            max_groups: max_groups.max(1),
            evicted: 0,
            changes: None,
        }
    }

    /// Starts recording what changes, for [`take_changes`](Self::take_changes).
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub fn track_changes(&mut self) {
        self.changes.get_or_insert_with(Default::default);
    }

    /// Number of live groups.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// The slot of the group with this key.
    fn find(&self, key: &str) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash(key.as_bytes()), |&i| {
                slots[i as usize]
                    .as_ref()
                    .is_some_and(|s| s.key.as_bytes() == key.as_bytes())
            })
            .copied()
    }

    /// True when the group exists.
    pub fn contains(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// The group's state, without touching it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut G> {
        let i = self.find(key)?;
        if let Some(c) = self.changes.as_mut() {
            c.in_place.push(i);
            if c.in_place.len() > 2 * self.slots.len() + 64 {
                c.in_place.sort_unstable();
                c.in_place.dedup();
            }
        }
        self.slots[i as usize].as_mut().map(|s| &mut s.state)
    }

    /// The group's state, without touching it.
    pub fn get(&self, key: &str) -> Option<&G> {
        let i = self.find(key)?;
        self.slots[i as usize].as_ref().map(|s| &s.state)
    }

    /// Removes a group.
    pub fn remove(&mut self, key: &str) -> Option<G> {
        let slots = &self.slots;
        let entry = self
            .index
            .find_entry(hash(key.as_bytes()), |&i| {
                slots[i as usize]
                    .as_ref()
                    .is_some_and(|s| s.key.as_bytes() == key.as_bytes())
            })
            .ok()?;
        let (i, _) = entry.remove();
        self.unlink(i);
        self.free.push(i);
        let slot = self.slots[i as usize].take()?;
        if let Some(c) = self.changes.as_mut() {
            c.removed.push(slot.key);
        }
        Some(slot.state)
    }

    /// The group's state, created with `make` if new, marked most recently used at `now`.
    /// Creating a group in a full store evicts the least recently used one.
    pub fn touch(&mut self, key: &str, now: Timestamp, make: impl FnOnce() -> G) -> &mut G {
        self.touch_keyed(key, now, make).1
    }

    /// As [`touch`](Self::touch), with the group's shared key.
    pub fn touch_keyed(
        &mut self,
        key: &str,
        now: Timestamp,
        make: impl FnOnce() -> G,
    ) -> (&GroupKey, &mut G) {
        let i = match self.find(key) {
            Some(i) => {
                self.unlink(i);
                i
            }
            None => {
                if self.index.len() >= self.max_groups && self.head != NIL {
                    let oldest = self.slots[self.head as usize]
                        .as_ref()
                        .map(|s| s.key.clone());
                    if let Some(k) = oldest {
                        self.remove(k.as_str());
                        self.evicted += 1;
                    }
                }
                let slot = Slot {
                    key: GroupKey::from(key),
                    state: make(),
                    touched: now,
                    prev: NIL,
                    next: NIL,
                };
                let i = match self.free.pop() {
                    Some(i) => {
                        self.slots[i as usize] = Some(slot);
                        i
                    }
                    None => {
                        self.slots.push(Some(slot));
                        u32::try_from(self.slots.len() - 1).unwrap_or(NIL)
                    }
                };
                let slots = &self.slots;
                self.index.insert_unique(hash(key.as_bytes()), i, |&j| {
                    slots[j as usize]
                        .as_ref()
                        .map_or(0, |s| hash(s.key.as_bytes()))
                });
                i
            }
        };
        self.link_tail(i);
        let slot = self.slots[i as usize]
            .as_mut()
            .expect("slot linked above is live");
        slot.touched = now;
        (&slot.key, &mut slot.state)
    }

    /// Drops groups last touched before `cutoff` (their state can no longer matter).
    pub fn expire_before(&mut self, cutoff: Timestamp) {
        while self.head != NIL {
            let Some(s) = self.slots[self.head as usize].as_ref() else {
                break;
            };
            if s.touched >= cutoff {
                break;
            }
            let k = s.key.clone();
            self.remove(k.as_str());
        }
    }

    /// Every live group with its state, least recently used first.
    pub fn iter(&self) -> impl Iterator<Item = (&GroupKey, &G)> {
        let mut at = self.head;
        std::iter::from_fn(move || {
            let s = self.slots.get(at as usize)?.as_ref()?;
            at = s.next;
            Some((&s.key, &s.state))
        })
    }

    /// Every group with its last-touch time and state, least recently used first.
    pub fn snapshot(&self) -> Vec<(GroupKey, Timestamp, G)>
    where
        G: Clone,
    {
        let mut out = Vec::with_capacity(self.len());
        let mut at = self.head;
        while let Some(Some(s)) = self.slots.get(at as usize) {
            out.push((s.key.clone(), s.touched, s.state.clone()));
            at = s.next;
        }
        out
    }

    /// What changed since `since` (a time no touch before the last call was at or after),
    /// and forgets it: the groups touched since, those changed in place, the keys removed.
    /// The last two are known only while changes are tracked.
    /// Each changed group is given as `f` makes it of its state.
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub fn take_changes<T>(&mut self, since: Timestamp, mut f: impl FnMut(&G) -> T) -> StoreChanges<T> {
        let mut touched = Vec::new();
        let mut at = self.tail;
        while let Some(Some(s)) = self.slots.get(at as usize) {
            if s.touched < since {
                break;
            }
            touched.push((s.key.clone(), s.touched, f(&s.state)));
            at = s.prev;
        }
        touched.reverse();
        let Some(c) = self.changes.as_mut() else {
            return StoreChanges {
                touched,
                in_place: Vec::new(),
                removed: Vec::new(),
            };
        };
        let mut slots = std::mem::take(&mut c.in_place);
        slots.sort_unstable();
        slots.dedup();
        let in_place = slots
            .into_iter()
            .filter_map(|i| self.slots.get(i as usize)?.as_ref())
            .filter(|s| s.touched < since)
            .map(|s| (s.key.clone(), s.touched, f(&s.state)))
            .collect();
        StoreChanges {
            touched,
            in_place,
            removed: {
                let n = c.removed.len();
                std::mem::replace(&mut c.removed, Vec::with_capacity(n))
            },
        }
    }

    /// Forgets the changes recorded so far.
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub fn forget_changes(&mut self) {
        if let Some(c) = self.changes.as_mut() {
            c.in_place.clear();
            c.removed.clear();
        }
    }

    /// Rebuilds a store from [`snapshot`](Self::snapshot) output (same order of use).
    pub fn restore(max_groups: usize, groups: Vec<(GroupKey, Timestamp, G)>, evicted: u64) -> Self {
        let mut st = GroupStore::new(max_groups);
        for (key, touched, state) in groups {
            let mut state = Some(state);
            st.touch(key.as_str(), touched, || {
                state.take().expect("each group is restored once")
            });
        }
        st.evicted += evicted;
        st
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = match self.slots[i as usize].as_ref() {
            Some(s) => (s.prev, s.next),
            None => return,
        };
        if prev == NIL {
            self.head = next;
        } else if let Some(p) = self.slots[prev as usize].as_mut() {
            p.next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else if let Some(n) = self.slots[next as usize].as_mut() {
            n.prev = prev;
        }
        if let Some(s) = self.slots[i as usize].as_mut() {
            s.prev = NIL;
            s.next = NIL;
        }
    }

    fn link_tail(&mut self, i: u32) {
        let old = self.tail;
        if let Some(s) = self.slots[i as usize].as_mut() {
            s.prev = old;
            s.next = NIL;
        }
        if old == NIL {
            self.head = i;
        } else if let Some(t) = self.slots[old as usize].as_mut() {
            t.next = i;
        }
        self.tail = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> String {
        GroupKey::of(&[s]).as_str().to_string()
    }

    #[test]
    fn lru_eviction_and_expiry() {
        let mut st: GroupStore<u32> = GroupStore::new(2);
        *st.touch(&k("a"), Timestamp(1), || 0) += 1;
        *st.touch(&k("b"), Timestamp(2), || 0) += 1;
        *st.touch(&k("a"), Timestamp(3), || 0) += 1; // a is now most recent
        st.touch(&k("c"), Timestamp(4), || 7); // evicts b
        assert_eq!(st.evicted, 1);
        assert!(!st.contains(&k("b")));
        assert_eq!(st.get(&k("a")), Some(&2));
        let order: Vec<String> = st.iter().map(|(k, _)| k.parts().concat()).collect();
        assert_eq!(order, ["a", "c"]);
        st.expire_before(Timestamp(4));
        assert_eq!(
            st.iter().map(|(k, _)| k.parts().concat()).collect::<Vec<_>>(),
            ["c"]
        );
        assert_eq!(st.remove(&k("c")), Some(7));
        assert_eq!(st.len(), 0);
        st.touch(&k("d"), Timestamp(5), || 1);
        assert_eq!(st.len(), 1);
    }
}
