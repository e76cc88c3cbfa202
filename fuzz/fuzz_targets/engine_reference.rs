//! The whole engine on (rule set, event stream) pairs against the brute-force reference model
//! of `tests/reference/model.rs` (the one the property tests in `tests/reference.rs` use).
//! The fuzz bytes are decoded into a `Scenario` the way those tests' strategies generate one:
//! the same correlation families with the same option lists, the same event streams (drawn
//! as `RawEvent`s and built by the model's `stream_events`), so the same properties hold:
//! the same alerts in the same order, `events`, late / no_timestamp counts, pending
//! obligations and detection alerts.

#![no_main]

#[allow(dead_code)]
#[path = "../../tests/reference/model.rs"]
mod model;

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use model::*;

fn pick<T: Clone>(u: &mut Unstructured<'_>, options: &[T]) -> Result<T> {
    u.choose(options).cloned()
}

fn picks(u: &mut Unstructured<'_>, options: &[&[&str]]) -> Result<Vec<String>> {
    Ok(strs(pick(u, options)?))
}

/// `prop::option::weighted(p, ..)`: `Some` with probability about `num/den`.
fn weighted<T>(
    u: &mut Unstructured<'_>,
    num: u8,
    den: u8,
    f: impl FnOnce(&mut Unstructured<'_>) -> Result<T>,
) -> Result<Option<T>> {
    Ok(if u.ratio(num, den)? {
        Some(f(u)?)
    } else {
        None
    })
}

fn timespan(u: &mut Unstructured<'_>) -> Result<i64> {
    pick(u, &[MIN, 2 * MIN, 5 * MIN, 10 * MIN, 20 * MIN])
}

fn group_by(u: &mut Unstructured<'_>) -> Result<Vec<String>> {
    picks(u, &[&["user"], &["user", "host"]])
}

fn suppress(u: &mut Unstructured<'_>) -> Result<Option<i64>> {
    pick(u, &[None, None, Some(2 * MIN), Some(5 * MIN)])
}

fn op(u: &mut Unstructured<'_>) -> Result<Op> {
    pick(
        u,
        &[Op::Gt, Op::Gte, Op::Gte, Op::Lt, Op::Lte, Op::Eq, Op::Neq],
    )
}

fn conds(u: &mut Unstructured<'_>, max: i64) -> Result<Vec<(Op, i64)>> {
    let a = (op(u)?, u.int_in_range(0..=max)?);
    let b = weighted(u, 1, 4, |u| Ok((op(u)?, u.int_in_range(0..=max)?)))?;
    // YAML keys are unique: a second condition uses another operator.
    Ok(std::iter::once(a).chain(b.filter(|b| b.0 != a.0)).collect())
}

fn counting(u: &mut Unstructured<'_>, kind: Kind) -> Result<Spec> {
    let max = match kind {
        Kind::EventCount => 5,
        Kind::ValueCount => 4,
        Kind::ValueSum => 30,
        _ => 9,
    };
    let rules = picks(u, &[&["r_a"], &["r_a", "r_b"], &["r_ab"], &["r_a", "r_ab"]])?;
    let reset = picks(u, &[&[], &[], &["r_c"], &["r_a"], &["r_ab"]])?;
    let trigger = picks(u, &[&[], &[], &["r_d"], &["r_d"], &["r_a"], &["r_b"]])?;
    let field = match kind {
        Kind::ValueCount => pick(u, &["host", "bytes"])?,
        Kind::EventCount => "",
        _ => "bytes",
    };
    Ok(Spec {
        rules,
        group_by: group_by(u)?,
        conds: conds(u, max)?,
        field: (!field.is_empty()).then(|| field.to_string()),
        keep: u.arbitrary()?,
        suppress: suppress(u)?,
        reset,
        trigger,
        generate: u.arbitrary()?,
        ..Spec::new("corr", kind, &[], &[], timespan(u)?)
    })
}

fn temporal(u: &mut Unstructured<'_>, kind: Kind) -> Result<Spec> {
    let rules = if kind == Kind::Temporal {
        picks(
            u,
            &[
                &["r_a", "r_b"],
                &["r_a", "r_b", "r_c"],
                &["r_a", "r_ab"],
                &["r_ab", "r_c"],
            ],
        )?
    } else {
        picks(
            u,
            &[
                &["r_a", "r_b"],
                &["r_b", "r_a"],
                &["r_a", "r_b", "r_c"],
                &["r_a", "r_ab"],
                &["r_ab", "r_a"],
                &["r_c", "r_ab", "r_b"],
                &["r_a", "r_a"],
            ],
        )?
    };
    Ok(Spec {
        rules,
        reset: picks(u, &[&[], &[], &["r_d"], &["r_c"]])?,
        group_by: group_by(u)?,
        keep: u.arbitrary()?,
        suppress: suppress(u)?,
        generate: u.arbitrary()?,
        ..Spec::new("corr", kind, &[], &[], timespan(u)?)
    })
}

fn first_seen(u: &mut Unstructured<'_>) -> Result<Spec> {
    Ok(Spec {
        rules: picks(u, &[&["r_a"], &["r_a", "r_b"], &["r_ab"]])?,
        field: Some(pick(u, &["host", "bytes", "[host, bytes]"])?.to_string()),
        history: pick(u, &[2 * MIN, 5 * MIN, 10 * MIN, 30 * MIN])?,
        new_group_alert: u.arbitrary()?,
        learning: pick(u, &[0, 0, 5 * MIN, 15 * MIN])?,
        generate: u.arbitrary()?,
        suppress: suppress(u)?,
        ..Spec::new("corr", Kind::FirstSeen, &[], &["user"], 0)
    })
}

fn anchor(u: &mut Unstructured<'_>) -> Result<AnchorMode> {
    pick(
        u,
        &[AnchorMode::First, AnchorMode::Each, AnchorMode::Restart],
    )
}

fn absence(u: &mut Unstructured<'_>) -> Result<Spec> {
    Ok(Spec {
        rules: picks(u, &[&["r_a"], &["r_a", "r_c"], &["r_ab"]])?,
        expected: picks(u, &[&["r_b"], &["r_b", "r_d"], &["r_ab"]])?,
        group_by: group_by(u)?,
        anchor: anchor(u)?,
        generate: u.arbitrary()?,
        suppress: suppress(u)?,
        ..Spec::new(
            "corr",
            Kind::Absence,
            &[],
            &[],
            pick(u, &[2 * MIN, 5 * MIN, 10 * MIN])?,
        )
    })
}

fn chained(u: &mut Unstructured<'_>) -> Result<Vec<Spec>> {
    let inner = Spec {
        conds: vec![(Op::Gte, u.int_in_range(1..=3)?)],
        keep: u.arbitrary()?,
        suppress: suppress(u)?,
        generate: u.arbitrary()?,
        ..Spec::new("many", Kind::EventCount, &["r_a"], &["user"], timespan(u)?)
    };
    let kind = pick(u, &[Kind::Ordered, Kind::Ordered, Kind::Temporal])?;
    let outer = Spec {
        rules: picks(
            u,
            &[&["many", "r_b"], &["r_b", "many"], &["r_c", "many", "r_b"]],
        )?,
        keep: u.arbitrary()?,
        generate: u.arbitrary()?,
        ..Spec::new("outer", kind, &[], &["user"], timespan(u)?)
    };
    Ok(vec![inner, outer])
}

fn chained_absence(u: &mut Unstructured<'_>) -> Result<Vec<Spec>> {
    let inner = Spec {
        expected: strs(&["r_b"]),
        anchor: anchor(u)?,
        generate: u.arbitrary()?,
        ..Spec::new(
            "gone",
            Kind::Absence,
            &["r_a"],
            &["user"],
            pick(u, &[2 * MIN, 5 * MIN, 10 * MIN])?,
        )
    };
    let kind = pick(u, &[Kind::EventCount, Kind::Ordered])?;
    let t2 = pick(u, &[5 * MIN, 10 * MIN, 30 * MIN])?;
    let outer = if kind == Kind::EventCount {
        Spec {
            conds: vec![(Op::Gte, u.int_in_range(1..=3)?)],
            keep: u.arbitrary()?,
            generate: u.arbitrary()?,
            ..Spec::new("outer", kind, &["gone"], &["user"], t2)
        }
    } else {
        Spec {
            rules: picks(u, &[&["gone", "r_c"], &["r_c", "gone"]])?,
            keep: u.arbitrary()?,
            generate: u.arbitrary()?,
            ..Spec::new("outer", kind, &[], &["user"], t2)
        }
    };
    Ok(vec![inner, outer])
}

fn aliased(u: &mut Unstructured<'_>) -> Result<Spec> {
    let kind = pick(u, &[Kind::EventCount, Kind::Temporal, Kind::Ordered])?;
    let aliases = vec![(
        "acct".to_string(),
        vec![
            ("r_a".to_string(), "user".to_string()),
            ("r_b".to_string(), "peer".to_string()),
            ("r_c".to_string(), "peer".to_string()),
        ],
    )];
    Ok(Spec {
        rules: picks(u, &[&["r_a", "r_b"], &["r_b", "r_a"]])?,
        reset: picks(u, &[&[], &["r_c"]])?,
        conds: if kind == Kind::EventCount {
            vec![(Op::Gte, u.int_in_range(1..=3)?)]
        } else {
            Vec::new()
        },
        keep: u.arbitrary()?,
        generate: u.arbitrary()?,
        aliases,
        ..Spec::new("corr", kind, &[], &["acct"], timespan(u)?)
    })
}

fn one(u: &mut Unstructured<'_>) -> Result<Spec> {
    match u.int_in_range(0..=7)? {
        0 => counting(u, Kind::EventCount),
        1 => counting(u, Kind::ValueCount),
        2 => counting(u, Kind::ValueSum),
        3 => counting(u, Kind::ValueAvg),
        4 => temporal(u, Kind::Temporal),
        5 => temporal(u, Kind::Ordered),
        6 => first_seen(u),
        _ => absence(u),
    }
}

fn several(u: &mut Unstructured<'_>) -> Result<Vec<Spec>> {
    let n = u.int_in_range(2..=3)?;
    let mut v = Vec::new();
    for i in 0..n {
        let mut s = one(u)?;
        s.name = format!("c{i}");
        v.push(s);
    }
    Ok(v)
}

/// The `stream` strategy: up to 60 events.
fn stream(u: &mut Unstructured<'_>) -> Result<(Vec<serde_json::Value>, i64)> {
    let span = pick(u, &[10i64, 60, 60, 60, 300])?;
    let users = u.int_in_range(2usize..=5)?;
    let amp = pick(u, &[0i64, 2, 5, 15])?;
    let lateness = pick(u, &[0, 2 * MIN, 10 * MIN])?;
    let mut raw: Vec<RawEvent> = Vec::new();
    while raw.len() < 60 && !u.is_empty() {
        raw.push((
            u.int_in_range(0i64..=59)?,
            u.choose_index(ACTIONS.len())?,
            u.int_in_range(0usize..=11)?,
            u.int_in_range(0usize..=19)?,
            weighted(u, 9, 10, |u| u.int_in_range(0i64..=13))?,
            u.int_in_range(-10i64..=10)?,
            u.int_in_range(0usize..=29)?,
            u.int_in_range(0usize..=11)?,
        ));
    }
    Ok((stream_events(span, users, amp, raw), lateness))
}

fn scenario(u: &mut Unstructured<'_>) -> Result<Scenario> {
    let family = u.int_in_range(0..=11)?;
    let (specs, may_flush) = match family {
        0 => (vec![counting(u, Kind::EventCount)?], false),
        1 => (vec![counting(u, Kind::ValueCount)?], false),
        2 => (vec![counting(u, Kind::ValueSum)?], false),
        3 => (vec![counting(u, Kind::ValueAvg)?], false),
        4 => (vec![temporal(u, Kind::Temporal)?], false),
        5 => (vec![temporal(u, Kind::Ordered)?], false),
        6 => (vec![first_seen(u)?], false),
        7 => (vec![absence(u)?], true),
        8 => (several(u)?, true),
        9 => (chained_absence(u)?, true),
        10 => (vec![aliased(u)?], false),
        _ => (chained(u)?, false),
    };
    let eof_flush = may_flush && u.arbitrary()?;
    let (events, lateness) = stream(u)?;
    Ok(Scenario {
        specs,
        events,
        lateness,
        eof_flush,
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(sc) = scenario(&mut u) else {
        return;
    };
    if let Err(e) = check(&sc, true) {
        panic!("engine and reference disagree: {e}");
    }
});
