//! The comparison rule sets: the project's seeded rule generator (`benches/gen/mod.rs`),
//! restricted to the rule shapes every compared engine supports.

use crate::generator;

/// Shapes of `generator::rules` (rule `i` has shape `i % 8`) left out, and why.
/// Shape 7 uses a time-part modifier with a comparison (`timestamp|hour|gte`): sigma-rust
/// has no time-part modifiers ("Unknown field modifier 'hour'"), and rsigma 0.23 accepts a
/// time part but not with `gte` ("at most one operator may be set per field").
pub const EXCLUDED_SHAPES: &[(usize, &str)] = &[(
    7,
    "`timestamp|hour|gte` (sigma-rust: unknown modifier `hour`; rsigma: `hour` with `gte` rejected)",
)];

/// What the kept shapes use, for the report.
pub const KEPT_SHAPES: &str = "action + `endswith`; `cidr`; `startswith` + action list + `cidr`; \
`contains` + `not cidr`; number equality + `lt`; `re`; `1 of sel_*`";

/// One rule file holding `n` generated rules of the shapes all engines support: the
/// generator's rules in order, minus the excluded shapes (titles and ids keep the
/// generator's numbering, so rule `generated rule 8` is the generator's rule 8).
pub fn comparable(seed: u64, n: usize) -> String {
    // Enough generated rules that `n` remain once every eighth is dropped.
    let total = n + n / 7 + 8;
    let text = generator::rules(seed, total);
    let kept: Vec<&str> = split_documents(&text)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !EXCLUDED_SHAPES.iter().any(|(shape, _)| i % 8 == *shape))
        .map(|(_, doc)| doc)
        .take(n)
        .collect();
    let mut out = String::with_capacity(kept.iter().map(|d| d.len() + 4).sum());
    for (i, doc) in kept.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(doc);
    }
    out
}

/// `n` generated watch rules (issue 14): each watches a few users, hosts or source
/// networks, by value, `contains` or `re` on several fields, in five shapes taken in turn.
/// Values are drawn from the generator's ranges, so most rules match some events.
pub fn watch(seed: u64, n: usize) -> String {
    let mut rng = generator::Rng::new(seed ^ 0x5741_5443_4800);
    let mut out = String::with_capacity(n * 260);
    for i in 0..n {
        if i > 0 {
            out.push_str("---\n");
        }
        let mut user = || rng.below(5000);
        let (a, b, c) = (user(), user(), user());
        let mut host = || 5 + rng.below(795);
        let (h1, h2) = (host(), host());
        let (n1, n2) = (rng.below(16), rng.below(256));
        let body = match i % 5 {
            0 => format!(
                "  sel:\n    user: ['CORP\\\\user{a}', 'CORP\\\\user{b}', 'CORP\\\\user{c}']\n  condition: sel"
            ),
            1 => format!(
                "  sel:\n    hostname: ['WS{h1:04}', 'WS{h2:04}']\n    action: [login, rdp, remote]\n  condition: sel"
            ),
            2 => format!(
                "  sel:\n    src_ip|cidr: ['10.{n1}.{n2}.0/24', '10.{n2_}.{n1}.0/24']\n  condition: sel",
                n2_ = n2 % 16
            ),
            3 => format!(
                "  sel:\n    user|contains: 'user{a}'\n    hostname|contains: '{}'\n  condition: sel",
                h1 % 100
            ),
            _ => format!(
                "  sel:\n    hostname|re: '^WS0{}[0-9]$'\n  who:\n    user|re: 'user{}[0-9]*$'\n  condition: sel and who",
                h1 / 10 % 80,
                a % 50
            ),
        };
        out.push_str(&format!(
            "title: watch rule {i}\nid: 00000000-0000-4000-b000-{i:012}\nlogsource: {{category: user_session}}\ndetection:\n{body}\n"
        ));
    }
    out
}

/// Splits a multi-document YAML text at lines that are exactly `---`.
pub fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(&text[start..pos]);
            start = pos + line.len();
        }
        pos += line.len();
    }
    docs.push(&text[start..]);
    docs.retain(|d| !d.trim().is_empty());
    docs
}

/// A rule file as every engine needs it: the text, each document, and each rule's id and
/// title (the rule's position is its number in the match lists).
pub struct RuleFile {
    pub text: String,
    pub documents: Vec<String>,
    pub ids: Vec<Option<String>>,
    pub titles: Vec<String>,
}

impl RuleFile {
    pub fn new(text: String) -> Result<RuleFile, String> {
        let documents: Vec<String> = split_documents(&text)
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut ids = Vec::with_capacity(documents.len());
        let mut titles = Vec::with_capacity(documents.len());
        for (i, doc) in documents.iter().enumerate() {
            let title = top_level(doc, "title")
                .ok_or_else(|| format!("rule document {} has no `title:` line", i + 1))?;
            titles.push(title);
            ids.push(top_level(doc, "id"));
        }
        Ok(RuleFile {
            text,
            documents,
            ids,
            titles,
        })
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }
}

/// The plain scalar of a top-level `key: value` line (enough for the generated rules and
/// the hand-written pack; quotes are removed).
fn top_level(doc: &str, key: &str) -> Option<String> {
    doc.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let v = rest.trim().trim_matches(|c| c == '\'' || c == '"');
        (!v.is_empty()).then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_rules_have_titles_and_ids() {
        let file = RuleFile::new(watch(7, 25)).expect("titles");
        assert_eq!(file.len(), 25);
        assert_eq!(file.titles[24], "watch rule 24");
        assert!(file.ids.iter().all(Option::is_some));
    }

    #[test]
    fn keeps_n_rules_without_excluded_shapes() {
        let text = comparable(7, 20);
        let file = RuleFile::new(text).expect("titles");
        assert_eq!(file.len(), 20);
        assert!(file.titles.iter().all(|t| {
            let i: usize = t
                .trim_start_matches("generated rule ")
                .parse()
                .expect("number");
            i % 8 != 7
        }));
        assert!(!file.text.contains("|hour"));
    }
}
