//! Event inputs named on the command line: files as given, directories read recursively
//! (sorted), hidden files and files of unknown kinds in them skipped and counted.

use std::path::{Path, PathBuf};

/// Extensions of event files read from a directory (JSON lines, Windows JSON exports,
/// EVTX, syslog). A rotated log (`auth.log.1`) and a file with no extension (`secure`,
/// `messages`) are read too; compressed files are not.
const EVENT_EXTENSIONS: &[&str] = &["evtx", "json", "jsonl", "ndjson", "log", "txt", "syslog"];

/// The files of the inputs, and the files of directories that were left out.
#[derive(Debug, Default)]
pub struct Expanded {
    /// Inputs in order (`None`: stdin), each directory replaced by its event files.
    pub inputs: Vec<Option<PathBuf>>,
    /// Whether any input was a directory.
    pub had_directory: bool,
    /// Files in directories that were skipped, with why (`hidden`, `unknown kind`).
    pub skipped: Vec<(PathBuf, &'static str)>,
}

/// Is this a name a directory's event file may have?
fn is_event_file(name: &str) -> bool {
    let mut parts = name.rsplit('.');
    let last = parts.next().unwrap_or_default();
    if !name.contains('.') {
        return true;
    }
    let ext = last.to_ascii_lowercase();
    if EVENT_EXTENSIONS.contains(&ext.as_str()) {
        return true;
    }
    // `auth.log.1`: a number after a known extension.
    last.bytes().all(|b| b.is_ascii_digit())
        && parts
            .next()
            .is_some_and(|e| EVENT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn walk(dir: &Path, out: &mut Expanded) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            out.skipped.push((p, "hidden"));
        } else if p.is_dir() {
            walk(&p, out)?;
        } else if is_event_file(&name) {
            out.inputs.push(Some(p));
        } else {
            out.skipped.push((p, "unknown kind"));
        }
    }
    Ok(())
}

/// Expands the command line's event paths (`-` is stdin). An unreadable directory is an
/// error message.
pub fn expand(paths: &[PathBuf]) -> Result<Expanded, String> {
    let mut out = Expanded::default();
    if paths.is_empty() {
        out.inputs.push(None);
    }
    for p in paths {
        if p.as_os_str() == "-" {
            out.inputs.push(None);
        } else if p.is_dir() {
            out.had_directory = true;
            let before = out.inputs.len();
            walk(p, &mut out).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            if out.inputs.len() == before {
                return Err(format!("{} holds no event file", p.display()));
            }
        } else {
            out.inputs.push(Some(p.clone()));
        }
    }
    Ok(out)
}

/// [`expand`] for a command: an error is reported (exit status 2), the files left out of
/// the folders are said on stderr.
pub fn expand_reported(paths: &[PathBuf]) -> Result<Expanded, u8> {
    let e = expand(paths).map_err(|m| {
        eprintln!("error: {m}");
        super::EXIT_ERROR
    })?;
    super::run::report_skipped_files(&e.skipped);
    Ok(e)
}

/// Refuses a run that would write one of `written` (flag, path) over one of its `inputs`
/// (the same file by its canonical path: another name of it is the same file; a path that
/// does not exist yet is no input): said on stderr, exit status 2.
pub fn refuse_writing_inputs(
    inputs: &[Option<PathBuf>],
    written: &[(&str, Option<&Path>)],
) -> Result<(), u8> {
    let read: Vec<PathBuf> = inputs
        .iter()
        .flatten()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    for (flag, path) in written {
        let Some(path) = path else { continue };
        if std::fs::canonicalize(path).is_ok_and(|real| read.contains(&real)) {
            eprintln!(
                "error: {flag} {} is also an input: it would be written over",
                path.display()
            );
            return Err(super::EXIT_ERROR);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_file_names() {
        for yes in [
            "a.jsonl",
            "b.EVTX",
            "auth.log",
            "auth.log.1",
            "secure",
            "x.json",
            "m.txt",
        ] {
            assert!(is_event_file(yes), "{yes}");
        }
        for no in ["a.gz", "auth.log.gz", "notes.md", "rules.yml", "x.1"] {
            assert!(!is_event_file(no), "{no}");
        }
    }
}
