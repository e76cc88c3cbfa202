//! The HTML of `report --html`: one file, its style, script and data inline (nothing is
//! fetched), drawn by the browser from the data: a row per user and host, sessions as bars,
//! marks for lock/unlock/disconnect/reconnect, failed logons and alerts as markers.

use crate::alert::Alert;
use crate::engine::Stats;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = r#"
body{font:13px system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:18px;margin:0 0 8px}
.filters{margin:8px 0;display:flex;gap:8px}
.filters input,.filters select{font:inherit;padding:2px 4px}
.axis{display:flex;justify-content:space-between;margin-left:260px;color:#666;font-size:11px}
.row{display:flex;align-items:center;border-top:1px solid #eee;height:22px}
.label{width:252px;padding-right:8px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
.track{position:relative;flex:1;height:16px;background:#fafafa}
.session{position:absolute;top:3px;height:10px;background:#7aa6d8;border-radius:2px;min-width:2px}
.session.open{background:repeating-linear-gradient(90deg,#7aa6d8 0 6px,#b9d0ea 6px 10px)}
.session.rdp{background:#8e7ad8}
.session.rdp.open{background:repeating-linear-gradient(90deg,#8e7ad8 0 6px,#cfc5ef 6px 10px)}
.mark{position:absolute;top:1px;width:2px;height:14px}
.mark.lock{background:#555}.mark.unlock{background:#5a5}
.mark.disconnect{background:#d88a2a}.mark.reconnect{background:#2a9dd8}
.failed{position:absolute;top:5px;width:6px;height:6px;margin-left:-3px;border-radius:3px;background:#999}
.alert{position:absolute;top:0;width:10px;height:10px;margin-left:-5px;transform:rotate(45deg);border:1px solid #222}
.alert.critical,.alert.high{background:#d33}.alert.medium{background:#f0a020}
.alert.low{background:#e8d44d}.alert.informational{background:#bbb}
table{border-collapse:collapse;margin:12px 16px 12px 0;display:inline-table;vertical-align:top}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
td.n{text-align:right}
.legend span{margin-right:12px}
"#;

const SCRIPT: &str = r#"
const data = JSON.parse(document.getElementById('data').textContent);
const span = Math.max(1, data.end - data.start);
const pct = t => ((t - data.start) / span * 100).toFixed(3) + '%';
const iso = t => new Date(t).toISOString();
const rows = document.getElementById('rows');
const ruleSel = document.getElementById('f-rule');
const rules = [...new Set(data.rows.flatMap(r => r.alerts.map(a => a.rule)))].sort();
for (const r of rules) { const o = document.createElement('option'); o.value = r; o.textContent = r; ruleSel.appendChild(o); }
document.getElementById('axis-start').textContent = iso(data.start);
document.getElementById('axis-end').textContent = iso(data.end);
function el(cls, left, title) {
  const d = document.createElement('div'); d.className = cls; d.style.left = left;
  if (title) d.title = title; return d;
}
for (const r of data.rows) {
  const row = document.createElement('div'); row.className = 'row';
  row.dataset.user = r.user; row.dataset.host = r.host;
  const label = document.createElement('div'); label.className = 'label';
  label.textContent = (r.user || '—') + ' @ ' + (r.host || '—'); label.title = label.textContent;
  const track = document.createElement('div'); track.className = 'track';
  for (const s of r.sessions) {
    const b = el('session ' + s.action + (s.open ? ' open' : ''), pct(s.s),
      s.action + ' ' + iso(s.s) + ' → ' + (s.open ? 'no logoff in the data' : iso(s.e)));
    b.style.width = 'max(2px, calc(' + pct(s.e) + ' - ' + pct(s.s) + '))';
    track.appendChild(b);
    for (const [t, k] of s.marks) track.appendChild(el('mark ' + k, pct(t), k + ' ' + iso(t)));
  }
  for (const t of r.failed) track.appendChild(el('failed', pct(t), 'failed logon ' + iso(t)));
  for (const a of r.alerts) {
    const m = el('alert ' + a.level, pct(a.t), a.title + ' (' + a.rule + ', ' + a.level + ') ' + iso(a.t));
    m.dataset.rule = a.rule; track.appendChild(m);
  }
  row.appendChild(label); row.appendChild(track); rows.appendChild(row);
}
function filter() {
  const u = document.getElementById('f-user').value.toLowerCase();
  const h = document.getElementById('f-host').value.toLowerCase();
  const rule = ruleSel.value;
  for (const row of rows.children) {
    let show = row.dataset.user.toLowerCase().includes(u) && row.dataset.host.toLowerCase().includes(h);
    let any = false;
    for (const m of row.querySelectorAll('.alert')) {
      const on = !rule || m.dataset.rule === rule; m.style.display = on ? '' : 'none'; any = any || on;
    }
    if (rule && !any) show = false;
    row.style.display = show ? '' : 'none';
  }
}
for (const id of ['f-user', 'f-host', 'f-rule']) document.getElementById(id).addEventListener('input', filter);
// A link may carry filters: report.html#user=bob&host=DC01&rule=rdp_logon
const given = new URLSearchParams(location.hash.slice(1));
for (const [k, id] of [['user', 'f-user'], ['host', 'f-host'], ['rule', 'f-rule']]) {
  if (given.has(k)) document.getElementById(id).value = given.get(k);
}
if (given.toString()) filter();
"#;

/// The whole page.
pub fn page(
    data: &Value,
    stats: &Stats,
    alerts: &[Alert],
    actions: &BTreeMap<String, u64>,
) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<title>session-sigma report</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body>\n<h1>Session timeline</h1>\n");
    let _ = writeln!(
        out,
        "<p>{} events, {} alerts, {} invalid, {} late, {} skipped records.</p>",
        stats.events,
        alerts.len(),
        stats.invalid,
        stats.late,
        stats.skipped.values().sum::<u64>()
    );
    out.push_str(
        "<div class=\"filters\"><input id=\"f-user\" placeholder=\"user\"><input id=\"f-host\" placeholder=\"host\"><select id=\"f-rule\"><option value=\"\">every rule</option></select></div>\n",
    );
    out.push_str("<div class=\"legend\"><span>▬ session (striped: no logoff)</span><span>| lock / unlock / disconnect / reconnect</span><span>• failed logon</span><span>◆ alert, by level</span></div>\n");
    out.push_str(
        "<div class=\"axis\"><span id=\"axis-start\"></span><span id=\"axis-end\"></span></div>\n",
    );
    out.push_str("<div id=\"rows\"></div>\n");
    // Alerts per rule and level, noisiest first; events per action.
    let mut per_rule: BTreeMap<(String, String), u64> = BTreeMap::new();
    for a in alerts {
        *per_rule
            .entry((
                a.rule.handle().to_string(),
                a.rule.level.clone().unwrap_or_default(),
            ))
            .or_default() += 1;
    }
    let mut per_rule: Vec<((String, String), u64)> = per_rule.into_iter().collect();
    per_rule.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out.push_str(
        "<table id=\"alerts-per-rule\"><tr><th>rule</th><th>level</th><th>alerts</th></tr>",
    );
    for ((rule, level), n) in &per_rule {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{n}</td></tr>",
            esc(rule),
            esc(level)
        );
    }
    out.push_str(
        "</table>\n<table id=\"events-per-action\"><tr><th>action</th><th>events</th></tr>",
    );
    for (action, n) in actions {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{n}</td></tr>",
            esc(action)
        );
    }
    out.push_str("</table>\n");
    // The data, safe inside a script element.
    let json = data
        .to_string()
        .replace("</", "<\\/")
        .replace("<!--", "<\\!--");
    let _ = write!(
        out,
        "<script id=\"data\" type=\"application/json\">{json}</script>\n<script>{SCRIPT}</script>\n"
    );
    out.push_str("</body></html>\n");
    out
}
