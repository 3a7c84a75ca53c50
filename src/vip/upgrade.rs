//! The first action after an upgrade from the release that named a
//! resource's files by its address, in text formats: each file is read
//! once in its old format, saved under the resource's own key in JSON, and
//! the old one removed. A VIP that release started is stopped correctly by
//! this one; its background announcer, whose command line names the old
//! file, is found there by `stop_announcers`.

use super::lvs::LoopbackCopy;
use super::multisite::StandIn;
use super::record::{HostName, Record};
use super::source_routes;
use crate::observe::history;
use crate::ocf::log;
use crate::params::Params;
use crate::store::{Kind, ResourceKey, RunDir, legacy};

/// The record the previous release kept for this resource, now under its
/// own key, or `None`. A record for another `nic` than the configured one
/// is another resource's, and stays where it is.
pub fn take_over_record(run_dir: &RunDir, key: &ResourceKey, nic: Option<&str>) -> Option<Record> {
    let previous = key.previous_file(Kind::Record)?;
    let text = run_dir.read(&previous).ok()??;
    let Some(record) = previous_record(&text) else {
        log::warn(format!("ignoring the previous release's corrupt record {previous}"));
        return None;
    };
    let configured = nic.map(|nic| nic.trim().split(':').next().unwrap_or_default());
    if configured.is_some_and(|nic| nic != record.nic) {
        return None;
    }
    if let Err(err) = record.write(run_dir, key) {
        log::warn(format!("taking over the previous release's record {previous}: {err}"));
        return Some(record);
    }
    let _ = run_dir.remove(&previous);
    log::info(format!("took over the record of {} that the previous release kept in {previous}", record.ip));
    if let Some(old) = key.previous_file(Kind::History) {
        if let Ok(Some(text)) = run_dir.read_capped(&old, history::MAX_BYTES) {
            if history::write(run_dir, &key.file(Kind::History), &history::previous(&text)).is_ok() {
                let _ = run_dir.remove(&old);
            }
        }
    }
    Some(record)
}

/// Takes over what the previous release kept by address for a resource
/// that keeps no record of its own: the loopback copy lvs_support took, the
/// stand-in state, the routes preferred_source took over.
pub fn take_over_address_files(run_dir: &RunDir, key: &ResourceKey, params: &Params) {
    let ns = params.network_namespace.as_deref();
    for kind in [Kind::Loopback, Kind::StandIn, Kind::SourceRoutes] {
        let Some(old) = legacy::address_file(kind, key, params.ip, ns) else { continue };
        let Ok(Some(text)) = run_dir.read(&old) else { continue };
        let new = key.file(kind);
        let saved = match kind {
            Kind::Loopback => match previous_loopback_copy(&text) {
                Some(copy) => run_dir.save(&new, &copy),
                None => Ok(()),
            },
            Kind::StandIn => run_dir.save(&new, &StandIn::NoSubnet),
            _ => match source_routes::previous_claims(&text) {
                Ok(claims) => source_routes::save_claims_of(run_dir, key, params.ip, &claims),
                Err(err) => {
                    log::warn(format!("ignoring the previous release's routes in {old}: {}", err.reason));
                    Ok(())
                }
            },
        };
        match saved {
            Ok(()) => {
                let _ = run_dir.remove(&old);
                log::info(format!("took over {old}, kept by the previous release"));
            }
            Err(err) => log::warn(format!("taking over {old}: {err}")),
        }
    }
}

/// The previous release's record: `field value` lines.
fn previous_record(text: &str) -> Option<Record> {
    let field = |name: &str| {
        text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')).map(str::to_string)
    };
    let host_name = match field("name") {
        None => None,
        Some(line) => {
            let (name, address) = line.split_once(' ')?;
            Some(HostName { name: name.to_string(), address: address.parse().ok()? })
        }
    };
    let record = Record {
        ip: field("ip")?.parse().ok()?,
        prefix: field("prefix")?.parse().ok()?,
        ifindex: field("ifindex")?.parse().ok()?,
        nic: field("nic")?,
        label: field("label"),
        host_name,
        resource: None,
        tagged: false,
        created: None,
        address_label: None,
        virtual_link: None,
    };
    record.is_sound().then_some(record)
}

/// The previous release's loopback record: `<prefix> <broadcast or ->`.
fn previous_loopback_copy(text: &str) -> Option<LoopbackCopy> {
    let mut fields = text.split_whitespace();
    let prefix = fields.next()?.parse().ok().filter(|p| (1..=32).contains(p))?;
    let broadcast = fields.next().and_then(|b| b.parse().ok());
    Some(LoopbackCopy { prefix, broadcast })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn the_previous_releases_records_read_as_records() {
        let text = "ip 192.0.2.50\nprefix 24\nifindex 7\nnic eth0\nlabel eth0:web\nname vip-web 192.0.2.49\n";
        let record = previous_record(text).unwrap();
        assert_eq!(
            (record.ip, record.prefix, record.ifindex),
            ("192.0.2.50".parse::<IpAddr>().unwrap(), 24, 7)
        );
        assert_eq!((record.nic.as_str(), record.label.as_deref()), ("eth0", Some("eth0:web")));
        assert_eq!(record.host_name.map(|h| h.name), Some("vip-web".to_string()));
        for bad in
            ["", "ip 192.0.2.50\nprefix 24\nnic eth0\n", "ip 192.0.2.50\nprefix 33\nifindex 7\nnic eth0\n"]
        {
            assert_eq!(previous_record(bad), None, "{bad:?}");
        }
        assert_eq!(
            previous_loopback_copy("32 192.0.2.255\n"),
            Some(LoopbackCopy { prefix: 32, broadcast: Some("192.0.2.255".parse().unwrap()) })
        );
        assert_eq!(previous_loopback_copy("32 -\n"), Some(LoopbackCopy { prefix: 32, broadcast: None }));
        assert_eq!(previous_loopback_copy("x\n"), None);
    }
}
