//! Linux log messages → session actions (docs/semantics.md §5).
//!
//! | program / message | action | login_type |
//! |---|---|---|
//! | sshd `Accepted <method> for U from IP port P ssh2[: …]` | remote | remote |
//! | sshd `Failed <method> for [invalid user ]U from IP port P ssh2` | failed | remote |
//! | sshd `Disconnected from user U IP port P` | disconnect | remote |
//! | `pam_unix(sshd:session): session opened / closed for user U` | login / logout | remote |
//! | `pam_unix(login:session): session opened / closed for user U` | local / logout | local |
//! | `pam_unix(<display manager>:session): session opened / closed …` | interactive / logout | interactive |
//! | `pam_unix(S:auth): authentication failure; … rhost=R  user=U` | failed | by service S |
//! | systemd-logind `New session S of user U.` / `Removed session S.` | login / logout | — |
//!
//! sshd is any of `sshd`, `sshd-session` (OpenSSH 9.8+) and `sshd-auth` (OpenSSH 10), with
//! or without a directory. PAM lines are recognised by their service, whatever the program
//! (sddm logs them as `sddm-helper`, GDM as `gdm-password]`); the display-manager services
//! are GDM's `gdm-password`, `gdm-autologin`, `gdm-fingerprint` and `gdm-smartcard`,
//! `lightdm`, `lightdm-autologin`, `sddm` and `sddm-autologin`. Greeter sessions
//! (`gdm-launch-environment`, `lightdm-greeter`, `sddm-greeter`) are not user logons and are
//! skipped, as are other services (`sudo`, `su`, `cron`, `systemd-user`, …) and other PAM
//! modules. logind accepts systemd 255's form too: `New session '3' of user 'alice' with
//! class 'user' and type 'tty'.`

/// `login_type` values.
const REMOTE: Option<&str> = Some("remote");
const LOCAL: Option<&str> = Some("local");
const INTERACTIVE: Option<&str> = Some("interactive");

/// What a message says about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mapped<'a> {
    pub action: &'static str,
    pub login_type: Option<&'static str>,
    /// The user as written (placeholders are dropped when the event is built).
    pub user: Option<&'a str>,
    /// Where it came from: an address, or a host name (PAM `rhost`).
    pub origin: Option<&'a str>,
    pub port: Option<u64>,
    /// A logind session: its id is the event's `logon_id`.
    pub logind: Option<Logind<'a>>,
}

/// A logind session event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Logind<'a> {
    /// `New session S of user U.`: remember U for S.
    New(&'a str),
    /// `Removed session S.`: S's user is remembered.
    Removed(&'a str),
}

impl<'a> Mapped<'a> {
    fn new(action: &'static str, login_type: Option<&'static str>) -> Self {
        Mapped {
            action,
            login_type,
            user: None,
            origin: None,
            port: None,
            logind: None,
        }
    }
}

/// rsyslog's `message repeated N times: [ msg]` → (`msg`, Some(N)); other messages as they
/// are.
pub(super) fn unrepeat(message: &str) -> (&str, Option<u64>) {
    let parsed = (|| {
        let rest = message.strip_prefix("message repeated ")?;
        let (n, rest) = rest.split_once(" times: [")?;
        let inner = rest.strip_suffix(']')?;
        Some((inner.trim(), n.parse().ok()?))
    })();
    match parsed {
        Some((inner, n)) => (inner, Some(n)),
        None => (message, None),
    }
}

/// The session meaning of `message` logged by `program`, if it has one.
pub(super) fn map<'a>(program: Option<&str>, message: &'a str) -> Option<Mapped<'a>> {
    if let Some(rest) = message.strip_prefix("pam_unix(") {
        return pam(rest);
    }
    let program = program?;
    let base = program.rsplit('/').next().unwrap_or(program);
    match base {
        "sshd" | "sshd-session" | "sshd-auth" => sshd(message),
        "systemd-logind" => logind(message),
        _ => None,
    }
}

/// The kinds of PAM service that log users on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Ssh,
    Console,
    DisplayManager,
}

fn service(name: &str) -> Option<Service> {
    Some(match name {
        "sshd" => Service::Ssh,
        "login" => Service::Console,
        "gdm-password" | "gdm-autologin" | "gdm-fingerprint" | "gdm-smartcard" | "lightdm"
        | "lightdm-autologin" | "sddm" | "sddm-autologin" => Service::DisplayManager,
        _ => return None,
    })
}

/// After `pam_unix(`: `service:type): text`.
fn pam(rest: &str) -> Option<Mapped<'_>> {
    let (head, text) = rest.split_once("):")?;
    let (name, kind) = head.split_once(':')?;
    let service = service(name)?;
    let text = text.trim_start();
    let login_type = match service {
        Service::Ssh => REMOTE,
        Service::Console => LOCAL,
        Service::DisplayManager => INTERACTIVE,
    };
    match kind {
        "session" => {
            if let Some(r) = text.strip_prefix("session opened for user ") {
                let action = match service {
                    Service::Ssh => "login",
                    Service::Console => "local",
                    Service::DisplayManager => "interactive",
                };
                let mut m = Mapped::new(action, login_type);
                m.user = Some(opened_user(r));
                Some(m)
            } else if let Some(r) = text.strip_prefix("session closed for user ") {
                let mut m = Mapped::new("logout", login_type);
                m.user = Some(r.trim());
                Some(m)
            } else {
                None
            }
        }
        "auth" => {
            let fields = text.strip_prefix("authentication failure;")?;
            let mut m = Mapped::new("failed", login_type);
            // `… rhost=%s  user=%s`: the user comes last and is absent for unknown users.
            let (before, user) = match fields.split_once(" user=") {
                Some((before, user)) => (before, Some(user.trim())),
                None => (fields, None),
            };
            m.user = user;
            m.origin = before
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("rhost="))
                .filter(|r| !r.is_empty());
            Some(m)
        }
        _ => None,
    }
}

/// `alice(uid=1000) by (uid=0)` (Linux-PAM ≥ 1.5) or `alice by (uid=0)` → `alice`.
fn opened_user(r: &str) -> &str {
    let user = r.rsplit_once(" by ").map_or(r, |(u, _)| u).trim();
    match user.rfind("(uid=") {
        Some(i) if user.ends_with(')') => &user[..i],
        _ => user,
    }
}

fn sshd(message: &str) -> Option<Mapped<'_>> {
    if let Some(rest) = message.strip_prefix("Accepted ") {
        authentication(rest, "remote")
    } else if let Some(rest) = message.strip_prefix("Failed ") {
        authentication(rest, "failed")
    } else if let Some(rest) = message.strip_prefix("Disconnected from user ") {
        // `U IP port P`; U may hold spaces, so read from the right.
        let mut parts = rest.trim_end().rsplitn(4, ' ');
        let port = parts.next()?;
        if parts.next()? != "port" {
            return None;
        }
        let ip = parts.next()?;
        let user = parts.next()?;
        let mut m = Mapped::new("disconnect", REMOTE);
        m.user = Some(user);
        m.origin = Some(ip);
        m.port = Some(port.parse().ok()?);
        Some(m)
    } else {
        None
    }
}

/// After `Accepted ` / `Failed `: `method for [invalid user ]U from IP port P ssh2[: extra]`.
fn authentication<'a>(rest: &'a str, action: &'static str) -> Option<Mapped<'a>> {
    let (_method, rest) = rest.split_once(' ')?;
    let body = rest.strip_prefix("for ")?;
    // The user name is the client's (pre-authentication) text and may hold anything, even
    // " from "; the address, port and `ssh2` come last, so the last match that parses wins.
    for (i, _) in body.rmatch_indices(" from ") {
        let tail = &body[i + " from ".len()..];
        let Some((ip, after)) = tail.split_once(' ') else {
            continue;
        };
        let Some(after) = after.strip_prefix("port ") else {
            continue;
        };
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let end = &after[digits..];
        if digits == 0 || !(end.is_empty() || end == " ssh2" || end.starts_with(" ssh2: ")) {
            continue;
        }
        let user = &body[..i];
        let mut m = Mapped::new(action, REMOTE);
        m.user = Some(user.strip_prefix("invalid user ").unwrap_or(user));
        m.origin = Some(ip);
        m.port = after[..digits].parse().ok();
        return Some(m);
    }
    None
}

fn logind(message: &str) -> Option<Mapped<'_>> {
    if let Some(rest) = message.strip_prefix("New session ") {
        let (id, rest) = rest.split_once(" of user ")?;
        let user = match rest.strip_prefix('\'') {
            // systemd ≥ 255: `'alice' with class 'user' and type 'tty'.`
            Some(quoted) => quoted.split_once('\'')?.0,
            None => rest.trim_end().strip_suffix('.').unwrap_or(rest).trim(),
        };
        let id = unquote(id);
        if id.is_empty() || user.is_empty() {
            return None;
        }
        let mut m = Mapped::new("login", None);
        m.user = Some(user);
        m.logind = Some(Logind::New(id));
        Some(m)
    } else if let Some(rest) = message.strip_prefix("Removed session ") {
        let rest = rest.trim_end();
        let id = unquote(rest.strip_suffix('.').unwrap_or(rest));
        if id.is_empty() || id.contains(' ') {
            return None;
        }
        let mut m = Mapped::new("logout", None);
        m.logind = Some(Logind::Removed(id));
        Some(m)
    } else {
        None
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m<'a>(program: &str, message: &'a str) -> Mapped<'a> {
        map(Some(program), message).unwrap_or_else(|| panic!("{program}: {message}"))
    }

    fn brief(x: Mapped<'_>) -> (&str, Option<&str>, Option<&str>, Option<&str>, Option<u64>) {
        (x.action, x.login_type, x.user, x.origin, x.port)
    }

    #[test]
    fn sshd_accepted_and_failed() {
        let x = m(
            "sshd",
            "Accepted publickey for alice from 203.0.113.7 port 50022 ssh2: ED25519 SHA256:q3Vx",
        );
        assert_eq!(
            brief(x),
            (
                "remote",
                REMOTE,
                Some("alice"),
                Some("203.0.113.7"),
                Some(50022)
            )
        );
        let x = m(
            "sshd-session",
            "Accepted keyboard-interactive/pam for bob from 2001:db8::5 port 40000 ssh2",
        );
        assert_eq!(
            brief(x),
            (
                "remote",
                REMOTE,
                Some("bob"),
                Some("2001:db8::5"),
                Some(40000)
            )
        );
        let x = m(
            "sshd",
            "Failed password for invalid user admin from 198.51.100.23 port 41234 ssh2",
        );
        assert_eq!(
            brief(x),
            (
                "failed",
                REMOTE,
                Some("admin"),
                Some("198.51.100.23"),
                Some(41234)
            )
        );
        let x = m(
            "/usr/sbin/sshd",
            "Failed none for root from 10.0.0.1 port 1 ssh2",
        );
        assert_eq!(x.user, Some("root"));
        // A user name that imitates the tail does not move the address.
        let x = m(
            "sshd",
            "Failed password for invalid user x from 1.1.1.1 port 1 ssh2 from 9.9.9.9 port 2 ssh2",
        );
        assert_eq!(
            (x.user, x.origin, x.port),
            (Some("x from 1.1.1.1 port 1 ssh2"), Some("9.9.9.9"), Some(2))
        );
        let x = m(
            "sshd",
            "Failed password for invalid user  from 1.2.3.4 port 22 ssh2",
        );
        assert_eq!(x.user, Some(""));
    }

    #[test]
    fn sshd_disconnect_and_others() {
        let x = m(
            "sshd",
            "Disconnected from user alice 203.0.113.7 port 50022",
        );
        assert_eq!(
            brief(x),
            (
                "disconnect",
                REMOTE,
                Some("alice"),
                Some("203.0.113.7"),
                Some(50022)
            )
        );
        for msg in [
            "Invalid user admin from 198.51.100.23 port 41234",
            "Received disconnect from 203.0.113.7 port 50022:11: disconnected by user",
            "Disconnected from invalid user admin 198.51.100.23 port 41234 [preauth]",
            "Disconnected from authenticating user root 198.51.100.23 port 41234 [preauth]",
            "Connection closed by authenticating user root 198.51.100.23 port 41234 [preauth]",
            "Connection closed by 198.51.100.23 port 41234 [preauth]",
            "Postponed publickey for alice from 203.0.113.7 port 50022 ssh2 [preauth]",
            "Partial publickey for alice from 203.0.113.7 port 50022 ssh2: ED25519 SHA256:q",
            "Accepted publickey for alice from 203.0.113.7 port x ssh2",
            "Accepted publickey",
            "Disconnected from user alice 203.0.113.7 prt 50022",
            "Server listening on 0.0.0.0 port 22.",
            "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root",
        ] {
            assert_eq!(map(Some("sshd"), msg), None, "{msg}");
        }
        // sshd messages from another program are not sshd's.
        assert_eq!(
            map(
                Some("dropbear"),
                "Accepted password for a from 1.2.3.4 port 1 ssh2"
            ),
            None
        );
        assert_eq!(
            map(None, "Accepted password for a from 1.2.3.4 port 1 ssh2"),
            None
        );
    }

    #[test]
    fn pam_sessions() {
        let x = m(
            "sshd",
            "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
        );
        assert_eq!(brief(x), ("login", REMOTE, Some("alice"), None, None));
        let x = m(
            "sshd",
            "pam_unix(sshd:session): session opened for user alice by (uid=0)",
        );
        assert_eq!(x.user, Some("alice"));
        let x = m(
            "sshd",
            "pam_unix(sshd:session): session closed for user alice",
        );
        assert_eq!(brief(x), ("logout", REMOTE, Some("alice"), None, None));
        let x = m(
            "login",
            "pam_unix(login:session): session opened for user carol(uid=1002) by LOGIN(uid=0)",
        );
        assert_eq!(brief(x), ("local", LOCAL, Some("carol"), None, None));
        let x = m(
            "login",
            "pam_unix(login:session): session closed for user carol",
        );
        assert_eq!(brief(x), ("logout", LOCAL, Some("carol"), None, None));
        for (program, service) in [
            ("gdm-password", "gdm-password"),
            ("gdm-autologin", "gdm-autologin"),
            ("lightdm", "lightdm"),
            ("sddm-helper", "sddm"),
        ] {
            let text = format!(
                "pam_unix({service}:session): session opened for user dave(uid=1003) by (uid=0)"
            );
            let x = m(program, &text);
            assert_eq!(
                brief(x),
                ("interactive", INTERACTIVE, Some("dave"), None, None)
            );
            let text = format!("pam_unix({service}:session): session closed for user dave");
            let x = m(program, &text);
            assert_eq!(brief(x), ("logout", INTERACTIVE, Some("dave"), None, None));
        }
        for (program, msg) in [
            (
                "sudo",
                "pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
            ),
            (
                "CRON",
                "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
            ),
            (
                "lightdm",
                "pam_unix(lightdm-greeter:session): session opened for user lightdm(uid=118) by (uid=0)",
            ),
            (
                "gdm-launch-",
                "pam_unix(gdm-launch-environment:session): session opened for user gdm(uid=120) by (uid=0)",
            ),
            ("sshd", "pam_unix(sshd:session): something else"),
            ("sshd", "pam_unix(sshd:account): account alice has expired"),
            ("sshd", "pam_unix(sshd:auth): check pass; user unknown"),
            ("sshd", "pam_unix(sshd"),
            (
                "sshd",
                "pam_systemd(sshd:session): New sd-bus connection (system-bus-pam-systemd-2101) opened.",
            ),
        ] {
            assert_eq!(map(Some(program), msg), None, "{msg}");
        }
    }

    #[test]
    fn pam_failures() {
        let x = m(
            "sshd",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.23  user=root",
        );
        assert_eq!(
            brief(x),
            ("failed", REMOTE, Some("root"), Some("198.51.100.23"), None)
        );
        let x = m(
            "sshd",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=scanner.example.net",
        );
        assert_eq!(
            brief(x),
            ("failed", REMOTE, None, Some("scanner.example.net"), None)
        );
        let x = m(
            "login",
            "pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=/dev/tty2 ruser= rhost=  user=carol",
        );
        assert_eq!(brief(x), ("failed", LOCAL, Some("carol"), None, None));
        let x = m(
            "gdm-password]",
            "pam_unix(gdm-password:auth): authentication failure; logname= uid=0 euid=0 tty=/dev/tty1 ruser= rhost=  user=dave",
        );
        assert_eq!(brief(x), ("failed", INTERACTIVE, Some("dave"), None, None));
    }

    #[test]
    fn logind_sessions() {
        let x = m("systemd-logind", "New session 12 of user alice.");
        assert_eq!(brief(x), ("login", None, Some("alice"), None, None));
        assert_eq!(x.logind, Some(Logind::New("12")));
        let x = m("systemd-logind", "New session c1 of user john.doe.");
        assert_eq!(
            (x.user, x.logind),
            (Some("john.doe"), Some(Logind::New("c1")))
        );
        let x = m(
            "systemd-logind",
            "New session '7' of user 'bob' with class 'user' and type 'tty'.",
        );
        assert_eq!((x.user, x.logind), (Some("bob"), Some(Logind::New("7"))));
        let x = m("systemd-logind", "Removed session 12.");
        assert_eq!(brief(x), ("logout", None, None, None, None));
        assert_eq!(x.logind, Some(Logind::Removed("12")));
        for msg in [
            "Session 12 logged out. Waiting for processes to exit.",
            "Watching system buttons on /dev/input/event0 (Power Button)",
            "New seat seat0.",
            "New session  of user .",
            "Removed session .",
            "Removed session 12 now.",
        ] {
            assert_eq!(map(Some("systemd-logind"), msg), None, "{msg}");
        }
        assert_eq!(map(Some("systemd"), "New session 12 of user alice."), None);
    }

    #[test]
    fn repeated() {
        assert_eq!(
            unrepeat(
                "message repeated 3 times: [ Failed password for root from 1.2.3.4 port 22 ssh2]"
            ),
            (
                "Failed password for root from 1.2.3.4 port 22 ssh2",
                Some(3)
            )
        );
        for msg in [
            "message repeated x times: [ a]",
            "message repeated 3 times: [ a",
            "message repeated 3 times",
            "hello",
        ] {
            assert_eq!(unrepeat(msg), (msg, None));
        }
    }
}
