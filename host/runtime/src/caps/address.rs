//! Which IP addresses a plugin may reach without naming them: only globally
//! reachable ones.
//!
//! The tables follow the IANA IPv4 and IPv6 Special-Purpose Address
//! Registries (<https://www.iana.org/assignments/iana-ipv4-special-registry>,
//! <https://www.iana.org/assignments/iana-ipv6-special-registry>): a block the
//! registry marks "globally reachable: false" (or N/A) is refused, and so is
//! everything IPv4 reserves for multicast and future use and everything IPv6
//! has not allocated as global unicast (outside `2000::/3`). Where the
//! registry carves a globally reachable exception out of such a block (the
//! PCP and TURN anycast addresses, AMT, AS112, ORCHIDv2, DETs) the exception
//! passes.
//!
//! IPv6 formats that carry an IPv4 address are judged by what they lead to:
//! IPv4-mapped (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) addresses are
//! the IPv4 address they embed, public or not. The deprecated or
//! tunnel-only ones — IPv4-compatible (`::a.b.c.d`), IPv4-translated
//! (`::ffff:0:a.b.c.d`), 6to4 (`2002::/16`) and Teredo (`2001::/32`) — are
//! refused whatever they embed (a relay on the machine's own network may
//! deliver them anywhere), and the reason names the embedded address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not globally reachable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonPublic {
    /// The block, e.g. `192.0.2.0/24`.
    pub block: &'static str,
    /// What the registry calls it, e.g. `documentation (TEST-NET-1)`.
    pub kind: &'static str,
    /// For IPv6 formats that carry IPv4 addresses: what they carry.
    embedded: Option<Embedded>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Embedded {
    /// The embedded IPv4 address, and why it is not public when it is not.
    One(Ipv4Addr, Option<Box<NonPublic>>),
    /// Teredo: the server's and the (de-obfuscated) client's IPv4 address.
    Teredo { server: Ipv4Addr, client: Ipv4Addr },
}

impl fmt::Display for NonPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.kind, self.block)?;
        match &self.embedded {
            None => Ok(()),
            Some(Embedded::One(v4, None)) => write!(f, ", embedding {v4}"),
            Some(Embedded::One(v4, Some(why))) => write!(f, ", embedding {v4}, {why}"),
            Some(Embedded::Teredo { server, client }) => {
                write!(f, ", embedding server {server} and client {client}")
            }
        }
    }
}

/// What a block of the registry means for a plugin's requests.
#[derive(Clone, Copy)]
enum Rule {
    /// Globally reachable: an exception carved out of a refused block.
    Public,
    /// Not globally reachable.
    Refused(&'static str),
    /// Judged by the IPv4 address in its last 32 bits (IPv4-mapped, NAT64).
    AsEmbedded(&'static str),
    /// Refused, naming the IPv4 address in its last 32 bits.
    RefusedEmbedding(&'static str),
    /// 6to4: refused, naming the IPv4 address in bits 16–47.
    SixToFour,
    /// Teredo: refused, naming the server (bits 32–63) and client (last 32, inverted).
    Teredo,
}

/// `(block, rule)`; the first block that contains an address decides. Exceptions come first.
const V4: &[(&str, Rule)] = &[
    ("0.0.0.0/8", Rule::Refused("\"this network\"")),
    ("10.0.0.0/8", Rule::Refused("private-use")),
    ("100.64.0.0/10", Rule::Refused("shared address space (CGNAT)")),
    ("127.0.0.0/8", Rule::Refused("loopback")),
    ("169.254.0.0/16", Rule::Refused("link-local (cloud metadata)")),
    ("172.16.0.0/12", Rule::Refused("private-use")),
    ("192.0.0.9/32", Rule::Public),  // Port Control Protocol anycast
    ("192.0.0.10/32", Rule::Public), // TURN anycast
    ("192.0.0.0/24", Rule::Refused("IETF protocol assignments")),
    ("192.0.2.0/24", Rule::Refused("documentation (TEST-NET-1)")),
    ("192.88.99.0/24", Rule::Refused("6to4 relay anycast (deprecated)")),
    ("192.168.0.0/16", Rule::Refused("private-use")),
    ("198.18.0.0/15", Rule::Refused("benchmarking")),
    ("198.51.100.0/24", Rule::Refused("documentation (TEST-NET-2)")),
    ("203.0.113.0/24", Rule::Refused("documentation (TEST-NET-3)")),
    ("224.0.0.0/4", Rule::Refused("multicast")),
    ("255.255.255.255/32", Rule::Refused("limited broadcast")),
    ("240.0.0.0/4", Rule::Refused("reserved")),
];

const V6: &[(&str, Rule)] = &[
    ("::/128", Rule::Refused("unspecified")),
    ("::1/128", Rule::Refused("loopback")),
    ("::ffff:0:0/96", Rule::AsEmbedded("IPv4-mapped")),
    ("::ffff:0:0:0/96", Rule::RefusedEmbedding("IPv4-translated")),
    ("::/96", Rule::RefusedEmbedding("IPv4-compatible (deprecated)")),
    ("64:ff9b::/96", Rule::AsEmbedded("NAT64")),
    ("64:ff9b:1::/48", Rule::Refused("local-use IPv4/IPv6 translation")),
    ("100::/64", Rule::Refused("discard-only")),
    ("100:0:0:1::/64", Rule::Refused("dummy prefix")),
    ("2001::/32", Rule::Teredo),
    ("2001:1::1/128", Rule::Public),   // Port Control Protocol anycast
    ("2001:1::2/128", Rule::Public),   // TURN anycast
    ("2001:1::3/128", Rule::Public),   // DNS-SD service registration protocol anycast
    ("2001:3::/32", Rule::Public),     // AMT
    ("2001:4:112::/48", Rule::Public), // AS112-v6
    ("2001:20::/28", Rule::Public),    // ORCHIDv2
    ("2001:30::/28", Rule::Public),    // drone remote ID entity tags
    ("2001::/23", Rule::Refused("IETF protocol assignments")),
    ("2001:db8::/32", Rule::Refused("documentation")),
    ("2002::/16", Rule::SixToFour),
    ("3fff::/20", Rule::Refused("documentation")),
    ("5f00::/16", Rule::Refused("segment routing (SRv6) SIDs")),
    ("fc00::/7", Rule::Refused("unique local (private)")),
    ("fe80::/10", Rule::Refused("link-local")),
    ("fec0::/10", Rule::Refused("site-local (deprecated)")),
    ("ff00::/8", Rule::Refused("multicast")),
];

/// `text` (`addr/len`) as a 128-bit value (IPv4 in the low 32 bits) and its prefix length.
fn parse_block(text: &str) -> (u128, u32) {
    let (addr, len) = text.split_once('/').expect("blocks are written addr/len");
    let len: u32 = len.parse().expect("prefix lengths are numbers");
    match addr.parse::<IpAddr>().expect("blocks are addresses") {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), len + 96),
        IpAddr::V6(v6) => (u128::from(v6), len),
    }
}

/// A table with its blocks parsed: `(block, base, prefix length, rule)`.
type Parsed = Vec<(&'static str, u128, u32, Rule)>;

fn parsed(table: &'static [(&'static str, Rule)]) -> Parsed {
    table
        .iter()
        .map(|&(block, rule)| {
            let (base, len) = parse_block(block);
            (block, base, len, rule)
        })
        .collect()
}

static V4_PARSED: std::sync::LazyLock<Parsed> = std::sync::LazyLock::new(|| parsed(V4));
static V6_PARSED: std::sync::LazyLock<Parsed> = std::sync::LazyLock::new(|| parsed(V6));

fn lookup(table: &Parsed, bits: u128) -> Option<(&'static str, Rule)> {
    table
        .iter()
        .find(|(_, base, len, _)| *len == 0 || (bits ^ base) >> (128 - len) == 0)
        .map(|&(block, _, _, rule)| (block, rule))
}

fn low32(v6: Ipv6Addr) -> Ipv4Addr {
    let o = v6.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

/// Why `ip` is not globally reachable, or `None` when it is.
pub fn non_public(ip: IpAddr) -> Option<NonPublic> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(v4: Ipv4Addr) -> Option<NonPublic> {
    match lookup(&V4_PARSED, u128::from(u32::from(v4)))? {
        (_, Rule::Public) => None,
        (block, Rule::Refused(kind)) => Some(NonPublic { block, kind, embedded: None }),
        _ => unreachable!("IPv4 blocks are public or refused"),
    }
}

fn non_public_v6(v6: Ipv6Addr) -> Option<NonPublic> {
    let bits = u128::from(v6);
    let Some((block, rule)) = lookup(&V6_PARSED, bits) else {
        // Only 2000::/3 is allocated as global unicast.
        return (bits >> 125 != 1).then_some(NonPublic {
            block: "outside 2000::/3",
            kind: "not global unicast",
            embedded: None,
        });
    };
    let embed = |v4: Ipv4Addr| Some(Embedded::One(v4, non_public_v4(v4).map(Box::new)));
    match rule {
        Rule::Public => None,
        Rule::Refused(kind) => Some(NonPublic { block, kind, embedded: None }),
        Rule::AsEmbedded(kind) => {
            let v4 = low32(v6);
            non_public_v4(v4).map(|why| NonPublic {
                block,
                kind,
                embedded: Some(Embedded::One(v4, Some(Box::new(why)))),
            })
        }
        Rule::RefusedEmbedding(kind) => Some(NonPublic { block, kind, embedded: embed(low32(v6)) }),
        Rule::SixToFour => {
            let v4 = Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32);
            Some(NonPublic { block, kind: "6to4", embedded: embed(v4) })
        }
        Rule::Teredo => {
            let server = Ipv4Addr::from(((bits >> 64) & 0xffff_ffff) as u32);
            let client = Ipv4Addr::from(!((bits & 0xffff_ffff) as u32));
            Some(NonPublic { block, kind: "Teredo", embedded: Some(Embedded::Teredo { server, client }) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(ip: &str) -> Option<String> {
        non_public(ip.parse().unwrap()).map(|w| w.to_string())
    }

    /// Every block of both registries, by an address inside it (and, for the
    /// refused ones, by its first and last address).
    #[test]
    fn follows_the_special_purpose_registries() {
        let refused = [
            ("0.0.0.0", "\"this network\" (0.0.0.0/8)"),
            ("0.255.255.255", "\"this network\" (0.0.0.0/8)"),
            ("10.0.0.0", "private-use (10.0.0.0/8)"),
            ("10.255.255.255", "private-use (10.0.0.0/8)"),
            ("100.64.0.0", "shared address space (CGNAT) (100.64.0.0/10)"),
            ("100.127.255.255", "shared address space (CGNAT) (100.64.0.0/10)"),
            ("127.0.0.1", "loopback (127.0.0.0/8)"),
            ("127.255.255.254", "loopback (127.0.0.0/8)"),
            ("169.254.169.254", "link-local (cloud metadata) (169.254.0.0/16)"),
            ("172.16.0.0", "private-use (172.16.0.0/12)"),
            ("172.31.255.255", "private-use (172.16.0.0/12)"),
            ("192.0.0.0", "IETF protocol assignments (192.0.0.0/24)"),
            ("192.0.0.8", "IETF protocol assignments (192.0.0.0/24)"),
            ("192.0.0.170", "IETF protocol assignments (192.0.0.0/24)"),
            ("192.0.0.255", "IETF protocol assignments (192.0.0.0/24)"),
            ("192.0.2.0", "documentation (TEST-NET-1) (192.0.2.0/24)"),
            ("192.0.2.255", "documentation (TEST-NET-1) (192.0.2.0/24)"),
            ("192.88.99.1", "6to4 relay anycast (deprecated) (192.88.99.0/24)"),
            ("192.168.0.1", "private-use (192.168.0.0/16)"),
            ("198.18.0.0", "benchmarking (198.18.0.0/15)"),
            ("198.19.255.255", "benchmarking (198.18.0.0/15)"),
            ("198.51.100.7", "documentation (TEST-NET-2) (198.51.100.0/24)"),
            ("203.0.113.9", "documentation (TEST-NET-3) (203.0.113.0/24)"),
            ("224.0.0.1", "multicast (224.0.0.0/4)"),
            ("239.255.255.255", "multicast (224.0.0.0/4)"),
            ("240.0.0.1", "reserved (240.0.0.0/4)"),
            ("255.255.255.254", "reserved (240.0.0.0/4)"),
            ("255.255.255.255", "limited broadcast (255.255.255.255/32)"),
            ("::", "unspecified (::/128)"),
            ("::1", "loopback (::1/128)"),
            ("64:ff9b:1::1", "local-use IPv4/IPv6 translation (64:ff9b:1::/48)"),
            ("100::1", "discard-only (100::/64)"),
            ("100:0:0:1::1", "dummy prefix (100:0:0:1::/64)"),
            ("2001:2::1", "IETF protocol assignments (2001::/23)"),
            ("2001:10::1", "IETF protocol assignments (2001::/23)"),
            ("2001:1ff:ffff::1", "IETF protocol assignments (2001::/23)"),
            ("2001:db8::1", "documentation (2001:db8::/32)"),
            ("3fff:fff::1", "documentation (3fff::/20)"),
            ("5f00::1", "segment routing (SRv6) SIDs (5f00::/16)"),
            ("fc00::1", "unique local (private) (fc00::/7)"),
            ("fd00:ec2::254", "unique local (private) (fc00::/7)"),
            ("fe80::1", "link-local (fe80::/10)"),
            ("fec0::1", "site-local (deprecated) (fec0::/10)"),
            ("ff02::1", "multicast (ff00::/8)"),
            ("4000::1", "not global unicast (outside 2000::/3)"),
            ("1::1", "not global unicast (outside 2000::/3)"),
        ];
        for (ip, expected) in refused {
            assert_eq!(why(ip).as_deref(), Some(expected), "{ip}");
        }
        // Globally reachable: ordinary unicast, and the registries' exceptions
        // inside refused blocks.
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.0.9",
            "192.0.0.10",
            "192.0.1.1",
            "192.0.3.0",
            "192.31.196.1",
            "192.52.193.1",
            "192.175.48.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700::1111",
            "2001:1::1",
            "2001:1::2",
            "2001:1::3",
            "2001:3::1",
            "2001:4:112::1",
            "2001:20::1",
            "2001:30::1",
            "2001:200::1",
            "2620:4f:8000::1",
            "2a00:1450:4001::1",
            "3fff:1000::1",
        ] {
            assert_eq!(why(ip), None, "{ip} is globally reachable");
        }
    }

    /// Each IPv6 format that carries an IPv4 address, with a private and a public one inside.
    #[test]
    fn judges_or_names_embedded_ipv4_addresses() {
        for (ip, expected) in [
            // IPv4-mapped and NAT64: as the address they lead to.
            ("::ffff:127.0.0.1", Some("IPv4-mapped (::ffff:0:0/96), embedding 127.0.0.1, loopback (127.0.0.0/8)")),
            (
                "::ffff:169.254.169.254",
                Some(
                    "IPv4-mapped (::ffff:0:0/96), embedding 169.254.169.254, link-local (cloud metadata) (169.254.0.0/16)",
                ),
            ),
            ("::ffff:93.184.216.34", None),
            ("64:ff9b::10.0.0.1", Some("NAT64 (64:ff9b::/96), embedding 10.0.0.1, private-use (10.0.0.0/8)")),
            (
                "64:ff9b::a9fe:a9fe",
                Some("NAT64 (64:ff9b::/96), embedding 169.254.169.254, link-local (cloud metadata) (169.254.0.0/16)"),
            ),
            ("64:ff9b::93.184.216.34", None),
            // Deprecated and tunnel formats: refused whatever they carry, naming it.
            (
                "::192.168.1.1",
                Some("IPv4-compatible (deprecated) (::/96), embedding 192.168.1.1, private-use (192.168.0.0/16)"),
            ),
            ("::93.184.216.34", Some("IPv4-compatible (deprecated) (::/96), embedding 93.184.216.34")),
            (
                "::ffff:0:10.1.2.3",
                Some("IPv4-translated (::ffff:0:0:0/96), embedding 10.1.2.3, private-use (10.0.0.0/8)"),
            ),
            ("2002:c0a8:0101::1", Some("6to4 (2002::/16), embedding 192.168.1.1, private-use (192.168.0.0/16)")),
            ("2002:7f00:1::", Some("6to4 (2002::/16), embedding 127.0.0.1, loopback (127.0.0.0/8)")),
            ("2002:5db8:d822::1", Some("6to4 (2002::/16), embedding 93.184.216.34")),
            // Teredo: server 65.54.227.120, client 192.168.1.1 stored inverted (3f57:fefe).
            (
                "2001:0:4136:e378:8000:63bf:3f57:fefe",
                Some("Teredo (2001::/32), embedding server 65.54.227.120 and client 192.168.1.1"),
            ),
        ] {
            assert_eq!(why(ip).as_deref(), expected, "{ip}");
        }
    }
}
