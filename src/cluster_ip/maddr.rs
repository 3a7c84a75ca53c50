//! Joining the shared multicast MAC on the NIC (`ip maddr add`), so the
//! NIC's filter lets frames to it in. The kernel offers this only as an
//! ioctl, hence the small `unsafe` here.

use crate::packet::Mac;
use nix::libc;
use std::io;
use std::os::fd::AsRawFd;

/// Adds the link-layer multicast address `mac` on `nic` (`ip maddr add`).
pub fn join(nic: &str, mac: Mac) -> io::Result<()> {
    membership(nic, mac, libc::SIOCADDMULTI)
}

/// Removes it again (`ip maddr del`); not joined is fine.
pub fn leave(nic: &str, mac: Mac) -> io::Result<()> {
    match membership(nic, mac, libc::SIOCDELMULTI) {
        Err(err) if err.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        left => left,
    }
}

/// Sends SIOCADDMULTI or SIOCDELMULTI for `mac` on `nic`.
fn membership(nic: &str, mac: Mac, op: libc::c_ulong) -> io::Result<()> {
    crate::crash_point::before("change multicast membership of", &nic);
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    let name = nic.as_bytes();
    if name.len() >= request.ifr_name.len() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    for (slot, byte) in request.ifr_name.iter_mut().zip(name) {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: writing the hardware-address member of the ifreq union, the
    // member SIOCADDMULTI and SIOCDELMULTI read.
    unsafe {
        request.ifr_ifru.ifru_hwaddr.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        for (slot, byte) in request.ifr_ifru.ifru_hwaddr.sa_data.iter_mut().zip(mac.octets()) {
            *slot = byte as libc::c_char;
        }
    }
    // SAFETY: a valid socket and a fully initialised ifreq that outlives the call.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), op as _, &request) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}
