//! IP addresses and networks: `cidr` values of rules and the addresses events carry, as
//! 128-bit numbers (IPv4 in the low 32 bits) compared under a prefix mask.

/// An IP network of a `cidr` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// The address, as 128 bits (IPv4 in the low 32).
    pub addr: u128,
    /// Prefix length.
    pub prefix: u8,
    /// IPv4 or IPv6.
    pub v4: bool,
}

/// An IP address as 128 bits (IPv4 in the low 32) and whether it is IPv4.
pub type IpBits = (u128, bool);

/// Parses an IP address (`[v6]`, `v6%zone` accepted); IPv4-mapped IPv6 becomes IPv4.
pub fn parse_ip(s: &str) -> Option<IpBits> {
    if let Some(v4) = plain_ipv4(s.as_bytes()) {
        return Some((u128::from(v4), true));
    }
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    let s = s.split_once('%').map_or(s, |(a, _)| a);
    match s.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => Some((u128::from(u32::from(a)), true)),
        std::net::IpAddr::V6(a) => Some(match a.to_ipv4_mapped() {
            Some(m) => (u128::from(u32::from(m)), true),
            None => (u128::from(a), false),
        }),
    }
}

/// A dotted quad of decimal octets without leading zeros (as `Ipv4Addr` reads it), read
/// directly: the general parser tries IPv4 then IPv6 and costs ~400 instructions per
/// address. `None` for anything else, which the general path then reads.
fn plain_ipv4(b: &[u8]) -> Option<u32> {
    if !(7..=15).contains(&b.len()) {
        return None;
    }
    let mut addr = 0u32;
    let mut parts = 0;
    for part in b.split(|c| *c == b'.') {
        parts += 1;
        if parts > 4 || part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut octet = 0u32;
        for c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            octet = octet * 10 + u32::from(c - b'0');
        }
        if octet > 255 {
            return None;
        }
        addr = addr << 8 | octet;
    }
    (parts == 4).then_some(addr)
}

/// Why a `cidr` value is not a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// `10.0.0.0/x`.
    #[error("`{0}` has an invalid prefix length")]
    BadPrefix(String),
    /// `nope`.
    #[error("`{0}` is not an IPv4 or IPv6 network")]
    NotAddress(String),
    /// `10.0.0.0/33`.
    #[error("`{text}`: the prefix length is at most {max}")]
    PrefixTooLong {
        /// The value.
        text: String,
        /// 32 or 128.
        max: u8,
    },
    /// `10.1.2.3/8`: host bits set (pySigma, like Python's strict `ip_network`, refuses it).
    #[error("`{text}` has host bits set; did you mean `{network}`?")]
    HostBits {
        /// The value.
        text: String,
        /// The network it lies in.
        network: String,
    },
}

/// Parses `a.b.c.d/n`, `a.b.c.d`, `x::y/n` or `x::y`. As in pySigma (Python's strict
/// `ip_network`), a network with host bits set is an error, not silently masked.
pub fn parse_cidr(s: &str) -> Result<Network, CidrError> {
    let text = s.trim();
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (
            a,
            Some(
                p.parse::<u8>()
                    .map_err(|_| CidrError::BadPrefix(s.to_string()))?,
            ),
        ),
        None => (text, None),
    };
    let ip: std::net::IpAddr = addr
        .parse()
        .map_err(|_| CidrError::NotAddress(s.to_string()))?;
    let (bits, v4, max) = match ip {
        std::net::IpAddr::V4(a) => (u128::from(u32::from(a)), true, 32),
        std::net::IpAddr::V6(a) => (u128::from(a), false, 128),
    };
    let prefix = prefix.unwrap_or(max);
    if prefix > max {
        return Err(CidrError::PrefixTooLong {
            text: s.to_string(),
            max,
        });
    }
    let addr = mask(bits, prefix, max);
    if addr != mask(bits, max, max) {
        let base = match ip {
            std::net::IpAddr::V4(_) => {
                std::net::IpAddr::from(std::net::Ipv4Addr::from((addr >> 96) as u32))
            }
            std::net::IpAddr::V6(_) => std::net::IpAddr::from(std::net::Ipv6Addr::from(addr)),
        };
        return Err(CidrError::HostBits {
            text: s.to_string(),
            network: format!("{base}/{prefix}"),
        });
    }
    Ok(Network { addr, prefix, v4 })
}

/// Keeps the top `prefix` bits of a `width`-bit address.
pub fn mask(bits: u128, prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let keep = u128::MAX << (128 - u32::from(prefix));
    (bits << (128 - u32::from(width))) & keep
}

/// Is the text an IP address inside `net`? IPv4-mapped IPv6 addresses count as IPv4.
pub fn in_network(s: &str, net: &Network) -> bool {
    parse_ip(s).is_some_and(|ip| ip_in(ip, net))
}

/// Is the address inside `net`?
pub fn ip_in((bits, v4): IpBits, net: &Network) -> bool {
    v4 == net.v4 && mask(bits, net.prefix, if v4 { 32 } else { 128 }) == net.addr
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The direct reading of a dotted quad gives what the standard parser gives, and
        /// gives nothing where that parser refuses.
        #[test]
        fn a_plain_ipv4_is_read_as_the_standard_parser_reads_it(
            s in "[0-9.]{0,16}|[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}|[0-9a-f:. ]{0,16}",
        ) {
            let std = s.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
            let ours = plain_ipv4(s.as_bytes());
            if let Some(v) = ours {
                proptest::prop_assert_eq!(Some(v), std, "{:?}", s);
            }
            // Every address the standard parser reads without blanks is read directly.
            if s.len() >= 7 {
                proptest::prop_assert_eq!(ours, std, "{:?}", s);
            }
        }
    }

    #[test]
    fn plain_ipv4_edges() {
        for (s, want) in [
            ("10.0.0.1", Some(0x0a00_0001)),
            ("255.255.255.255", Some(u32::MAX)),
            ("0.0.0.0", Some(0)),
            ("256.0.0.1", None),
            ("01.2.3.4", None),
            ("1.2.3", None),
            ("1.2.3.4.5", None),
            ("1..3.4", None),
            (" 1.2.3.4", None),
        ] {
            assert_eq!(plain_ipv4(s.as_bytes()), want, "{s}");
        }
        // What the direct reading leaves out, the general path still reads.
        assert_eq!(parse_ip(" 1.2.3.4 "), Some((0x0102_0304, true)));
        assert_eq!(parse_ip("::ffff:1.2.3.4"), Some((0x0102_0304, true)));
        assert_eq!(parse_ip("[::1]"), Some((1, false)));
    }

    #[test]
    fn cidr_parsing() {
        let n = parse_cidr("10.0.0.0/8").unwrap();
        assert!(n.v4 && n.prefix == 8);
        assert_eq!(
            parse_cidr("10.1.2.3/8").unwrap_err().to_string(),
            "`10.1.2.3/8` has host bits set; did you mean `10.0.0.0/8`?"
        );
        assert!(parse_cidr("fe80::/10").is_ok());
        assert!(
            parse_cidr("fe80::1/10")
                .unwrap_err()
                .to_string()
                .contains("did you mean `fe80::/10`?")
        );
        assert!(parse_cidr("10.0.0.0/33").is_err());
        // Regression: a prefix longer than the address used to overflow in `mask`.
        assert!(parse_cidr("::1/129").is_err());
        assert!(parse_cidr("nope").is_err());
        assert_eq!(parse_cidr("1.2.3.4").map(|n| n.prefix), Ok(32));
        assert_eq!(parse_cidr("0.0.0.0/0").map(|n| n.addr), Ok(0));
    }

    #[test]
    fn networks() {
        let n = parse_cidr("10.0.0.0/8").unwrap();
        assert!(in_network("10.1.2.3", &n));
        assert!(in_network("::ffff:10.1.2.3", &n));
        assert!(!in_network("11.0.0.1", &n));
        assert!(!in_network("fe80::1", &n));
        assert!(!in_network("-", &n));
        let v6 = parse_cidr("fe80::/10").unwrap();
        assert!(in_network("fe80::1%eth0", &v6));
        assert!(in_network("[fe80::1]", &v6));
        assert!(!in_network("10.0.0.1", &v6));
        let all = parse_cidr("0.0.0.0/0").unwrap();
        assert!(in_network("8.8.8.8", &all));
    }
}
