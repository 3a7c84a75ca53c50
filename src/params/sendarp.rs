//! `send_arp_opts`: the options IPaddr2 handed to its ARP sender program
//! (send_arp, iputils or libnet arping). The ones that change what goes on
//! the wire are honoured by the built-in sender; the others are reported.

use crate::ocf::log::printable;

/// What `send_arp_opts` changes, and what it could not use.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendArpOptions {
    /// `-A`: announce with ARP replies (iputils arping).
    pub reply_only: bool,
    /// `-U`: announce with ARP requests (arping's unsolicited mode).
    pub request_only: bool,
    /// `-c N` (arping) or `-r N` (send_arp): how many announcements.
    pub count: Option<u64>,
    /// `-i N` (send_arp): milliseconds between announcements.
    pub interval_ms: Option<u64>,
    pub warnings: Vec<String>,
}

/// Parses the option string; a malformed number is an error.
pub fn parse(text: &str) -> Result<SendArpOptions, String> {
    let mut options = SendArpOptions::default();
    let mut words = text.split_whitespace();
    while let Some(word) = words.next() {
        let mut number = |flag: &str| -> Result<u64, String> {
            let value = words.next().ok_or_else(|| format!("send_arp_opts: {flag} needs a number"))?;
            super::values::integer("send_arp_opts", value, 1, 3_600_000)
                .map_err(|_| format!("send_arp_opts: {flag} [{}] is not a positive number", printable(value)))
        };
        match word {
            "-A" => options.reply_only = true,
            "-U" => options.request_only = true,
            "-c" | "-r" => options.count = Some(number(word)?),
            "-i" => options.interval_ms = Some(number(word)?),
            "-q" | "-b" => {}
            "-p" | "-I" | "-s" | "-S" | "-w" | "-W" => {
                let _ = words.next();
                options
                    .warnings
                    .push(format!("send_arp_opts: {word} does not apply to the built-in sender; ignored"));
            }
            other => options
                .warnings
                .push(format!("send_arp_opts: option [{}] is not supported; ignored", printable(other))),
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_changing_options_are_honoured() {
        let o = parse("-A -c 3").unwrap();
        assert!(o.reply_only && !o.request_only);
        assert_eq!(o.count, Some(3));
        let o = parse("-U -i 100 -r 7").unwrap();
        assert!(o.request_only);
        assert_eq!((o.interval_ms, o.count), (Some(100), Some(7)));
        assert!(o.warnings.is_empty());
    }

    #[test]
    fn other_options_warn_and_bad_numbers_fail() {
        let o = parse("-w 5 -D").unwrap();
        assert_eq!(o.warnings.len(), 2);
        assert!(parse("-c").is_err());
        assert!(parse("-c many").is_err());
        assert!(parse("-i 0").is_err());
        assert_eq!(parse("").unwrap(), SendArpOptions::default());
    }
}
