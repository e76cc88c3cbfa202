//! Seeded generators of session events and rule sets, shared by the benches and by
//! `examples/generate.rs`. Deterministic: the same seed gives the same bytes.

#![allow(dead_code)]

use std::fmt::Write as _;

/// xorshift64*: small, fast, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Skewed towards small values (a few users and hosts are very active).
    pub fn skewed(&mut self, n: u64) -> u64 {
        let a = self.below(n);
        let b = self.below(n);
        a.min(b)
    }
}

const ACTIONS: &[(&str, &str, u64)] = &[
    ("remote", "remote", 40),
    ("login", "", 15),
    ("interactive", "interactive", 10),
    ("rdp", "rdp", 8),
    ("logout", "", 12),
    ("lock", "", 4),
    ("unlock", "", 4),
    ("failed", "remote", 5),
    ("reconnect", "rdp", 1),
    ("disconnect", "rdp", 1),
];

/// One session event as a JSON line (about 200–230 bytes), `i`-th of a stream.
pub fn event(rng: &mut Rng, i: u64, start_epoch: i64) -> String {
    event_among(rng, i, start_epoch, 5000, 800, 4)
}

/// Like [`event`], drawing users uniformly from `users` and hosts from `hosts`, with
/// `per_second` events per second of event time.
pub fn event_among(
    rng: &mut Rng,
    i: u64,
    start_epoch: i64,
    users: u64,
    hosts: u64,
    per_second: u64,
) -> String {
    let total: u64 = ACTIONS.iter().map(|a| a.2).sum();
    let mut pick = rng.below(total);
    let (action, login_type) = ACTIONS
        .iter()
        .find(|a| {
            if pick < a.2 {
                true
            } else {
                pick -= a.2;
                false
            }
        })
        .map_or(("login", ""), |a| (a.0, a.1));
    let ts = start_epoch + (i / per_second.max(1)) as i64;
    let (y, mo, d, h, mi, s) = civil(ts);
    let (user, host) = if users == 5000 && hosts == 800 {
        (rng.skewed(users), rng.skewed(hosts))
    } else {
        (rng.below(users), rng.below(hosts))
    };
    let hostname = if host < 5 {
        format!("DC{host:02}")
    } else {
        format!("WS{host:04}")
    };
    let src_ip = if rng.below(50) == 0 {
        format!(
            "{}.{}.{}.{}",
            20 + rng.below(180),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        )
    } else {
        format!(
            "10.{}.{}.{}",
            rng.below(16),
            rng.below(256),
            1 + rng.below(254)
        )
    };
    let mut line = String::with_capacity(240);
    let _ = write!(
        line,
        r#"{{"timestamp":"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z","action":"{action}","hostname":"{hostname}","user":"CORP\\user{user}","logon_id":"0x{:x}","src_ip":"{src_ip}","src_port":{},"dest_port":{}"#,
        0x10000 + rng.below(0xfffff),
        1024 + rng.below(60000),
        if action == "rdp" { 3389 } else { 445 },
    );
    if !login_type.is_empty() {
        let _ = write!(line, r#","login_type":"{login_type}""#);
    }
    line.push('}');
    line
}

fn civil(t: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = t.div_euclid(86_400);
    let sod = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, sod / 3600, (sod / 60) % 60, sod % 60)
}

/// `n` events as JSON lines, starting 2024-05-01T00:00:00Z.
pub fn events(seed: u64, n: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..n).map(|i| event(&mut rng, i, 1_714_521_600)).collect()
}

/// A rule file (several YAML documents) holding `n` varied detection rules.
pub fn rules(seed: u64, n: usize) -> String {
    let mut rng = Rng::new(seed ^ 0xABCD);
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push_str("---\n");
        }
        let _ = writeln!(
            out,
            "title: generated rule {i}\nname: gen_{i}\nid: 00000000-0000-4000-8000-{i:012}\nlevel: medium\nlogsource: {{category: user_session}}\ndetection:"
        );
        let action = ACTIONS[rng.below(ACTIONS.len() as u64) as usize].0;
        match i % 8 {
            0 => {
                let _ = writeln!(
                    out,
                    "  sel:\n    action: {action}\n    user|endswith: '\\user{}'\n  condition: sel",
                    rng.below(5000)
                );
            }
            1 => {
                let _ = writeln!(
                    out,
                    "  sel:\n    action: rdp\n    src_ip|cidr: '10.{}.{}.0/24'\n  condition: sel",
                    rng.below(16),
                    rng.below(256)
                );
            }
            2 => {
                let _ = writeln!(
                    out,
                    "  sel:\n    hostname|startswith: 'WS0{:03}'\n    action: [{action}, interactive]\n    src_ip|cidr: '10.{}.0.0/16'\n  condition: sel",
                    rng.below(800),
                    rng.below(16)
                );
            }
            3 => {
                let _ = writeln!(
                    out,
                    "  sel:\n    action: [rdp, remote]\n    user|contains: 'user{}'\n  private:\n    src_ip|cidr: [10.0.0.0/8, 192.168.0.0/16]\n  condition: sel and not private",
                    rng.below(5000)
                );
            }
            4 => {
                let _ = writeln!(
                    out,
                    "  sel:\n    action: {action}\n    dest_port: {}\n    src_port|lt: {}\n  condition: sel",
                    [445, 3389, 22][i % 3],
                    1024 + rng.below(200)
                );
            }
            5 => {
                let _ = writeln!(
                    out,
                    "  sel:\n    action: {action}\n    logon_id|re: '^0x{:x}[0-9a-f]+$'\n  condition: sel",
                    1 + rng.below(15)
                );
            }
            6 => {
                let _ = writeln!(
                    out,
                    "  sel_a:\n    action: failed\n    user|startswith: 'CORP\\user{}'\n  sel_b:\n    action: {action}\n    hostname: 'DC0{}'\n  condition: 1 of sel_*",
                    rng.below(500),
                    rng.below(5)
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  sel:\n    action: {action}\n    timestamp|hour|gte: {}\n    hostname|endswith: '{:03}'\n  condition: sel",
                    rng.below(24),
                    rng.below(1000)
                );
            }
        }
    }
    out
}

/// Detection rules and two correlations (a count window and a first_seen history) keyed by
/// user, for the state benches.
pub const STATEFUL_RULES: &str = r#"
title: failed
name: failed
logsource: {category: user_session}
detection: {sel: {action: failed}, condition: sel}
---
title: rdp
name: rdp
logsource: {category: user_session}
detection: {sel: {action: rdp}, condition: sel}
---
title: brute
name: brute
correlation: {type: event_count, rules: [failed], group-by: [user], timespan: 1h, condition: {gte: 1000000}}
---
title: new source
name: new_src
correlation: {type: first_seen, rules: [rdp], group-by: [user], field: src_ip, history: 30d}
"#;
