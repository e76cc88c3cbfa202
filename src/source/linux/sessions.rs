//! The user of each open systemd-logind session, so that `Removed session S.` (which names
//! no user) gets the user of its `New session S of user U.`.
//!
//! Sessions are keyed by host and session id (ids are per host; one stream may hold many
//! hosts). The memory is bounded: past [`CAPACITY`] remembered sessions, the oldest is
//! forgotten first, and its removal then has no user.

use std::collections::{HashMap, VecDeque};

/// Most sessions remembered per stream.
pub(super) const CAPACITY: usize = 100_000;

/// Session id → user, per host, oldest forgotten first.
#[derive(Debug, Clone)]
pub(super) struct Sessions {
    capacity: usize,
    /// key → (user, sequence number of the insertion that set it).
    users: HashMap<String, (String, u64)>,
    /// Insertions, oldest first; an entry whose sequence number no longer matches `users`
    /// (the session was removed or opened again) is stale and skipped.
    order: VecDeque<(String, u64)>,
    sequence: u64,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::with_capacity(CAPACITY)
    }
}

fn key(host: Option<&str>, id: &str) -> String {
    // A newline is in neither a host name nor a session id.
    format!("{}\n{id}", host.unwrap_or(""))
}

impl Sessions {
    /// A memory of at most `capacity` sessions (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Sessions {
            capacity: capacity.max(1),
            users: HashMap::new(),
            order: VecDeque::new(),
            sequence: 0,
        }
    }

    /// Remembers that session `id` on `host` belongs to `user`.
    pub fn open(&mut self, host: Option<&str>, id: &str, user: &str) {
        let k = key(host, id);
        self.sequence += 1;
        self.users
            .insert(k.clone(), (user.to_string(), self.sequence));
        self.order.push_back((k, self.sequence));
        // `order` holds every live entry (and stale ones), so bounding it bounds `users`.
        while self.order.len() > self.capacity {
            let Some((old, seq)) = self.order.pop_front() else {
                break;
            };
            if self.users.get(&old).is_some_and(|(_, s)| *s == seq) {
                self.users.remove(&old);
            }
        }
    }

    /// The user of session `id` on `host`, forgotten: the session is over.
    pub fn close(&mut self, host: Option<&str>, id: &str) -> Option<String> {
        self.users.remove(&key(host, id)).map(|(user, _)| user)
    }

    /// Sessions remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.users.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_host() {
        let mut s = Sessions::default();
        s.open(Some("a"), "5", "alice");
        s.open(Some("b"), "5", "bob");
        assert_eq!(s.close(Some("a"), "5").as_deref(), Some("alice"));
        assert_eq!(s.close(Some("a"), "5"), None);
        assert_eq!(s.close(Some("b"), "5").as_deref(), Some("bob"));
        s.open(None, "c1", "gdm");
        assert_eq!(s.close(None, "c1").as_deref(), Some("gdm"));
    }

    #[test]
    fn bounded_oldest_first() {
        let mut s = Sessions::with_capacity(3);
        for (id, user) in [("1", "u1"), ("2", "u2"), ("3", "u3"), ("4", "u4")] {
            s.open(Some("h"), id, user);
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.close(Some("h"), "1"), None);
        assert_eq!(s.close(Some("h"), "2").as_deref(), Some("u2"));
        // A session opened again is as new as its last opening.
        let mut s = Sessions::with_capacity(2);
        s.open(Some("h"), "1", "old");
        s.open(Some("h"), "2", "u2");
        s.open(Some("h"), "1", "new");
        assert_eq!(s.len(), 2);
        assert_eq!(s.close(Some("h"), "1").as_deref(), Some("new"));
        assert_eq!(s.close(Some("h"), "2").as_deref(), Some("u2"));
        // Many short sessions never grow the memory.
        let mut s = Sessions::with_capacity(10);
        for i in 0..1000 {
            let id = i.to_string();
            s.open(Some("h"), &id, "u");
            assert!(s.close(Some("h"), &id).is_some());
        }
        assert_eq!(s.len(), 0);
        assert!(s.order.len() <= 10);
    }
}
