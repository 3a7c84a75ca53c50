//! Lookups read in place: one request on a plain netlink socket, and each
//! reply handed over as the bytes the kernel wrote, so that the caller
//! decodes only the attributes it asks about. The monitor's lookups (one
//! link, one address) come this way: they neither start the runtime nor
//! build the dozens of attributes a link reply carries.

use super::{Netlink, NetlinkError, NlResult};
use rtnetlink::packet_core::{
    ErrorBuffer, NLM_F_MULTIPART, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer, NetlinkMessage,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use std::cell::Cell;
use std::io;

/// One receive: the kernel fills up to a page-sized multiple per datagram.
const RECEIVE_BUFFER: usize = 64 * 1024;

/// A netlink socket with strict checking on, so that the kernel filters
/// dumps by interface, and the sequence number of its last request.
pub(super) struct PlainSocket {
    socket: Socket,
    last_sequence: Cell<u32>,
}

impl PlainSocket {
    pub(super) fn open() -> io::Result<PlainSocket> {
        let socket = Socket::new(NETLINK_ROUTE)?;
        socket.set_netlink_get_strict_chk(true)?;
        // Connecting binds the socket to a port of the kernel's choosing,
        // and makes it take replies from the kernel only.
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(PlainSocket { socket, last_sequence: Cell::new(0) })
    }

    fn next_sequence(&self) -> u32 {
        let sequence = self.last_sequence.get().wrapping_add(1);
        self.last_sequence.set(sequence);
        sequence
    }
}

impl Netlink {
    /// Sends one request and hands `visit` the type and payload of each
    /// message of the answer, until the kernel is done: a dump's last
    /// message, a single reply, or an acknowledgement. A kernel error ends
    /// it as that errno. Replies to an earlier request that stopped short
    /// are recognised by their sequence number and skipped.
    pub(super) fn read_in_place(
        &self,
        message: RouteNetlinkMessage,
        flags: u16,
        mut visit: impl FnMut(u16, &[u8]) -> NlResult<()>,
    ) -> NlResult<()> {
        super::before_change(&message);
        let sequence = self.plain.next_sequence();
        let mut request = NetlinkMessage::from(message);
        request.header.flags = NLM_F_REQUEST | flags;
        request.header.sequence_number = sequence;
        request.finalize();
        let mut bytes = vec![0; request.header.length as usize];
        request.serialize(&mut bytes);
        ask(&self.plain.socket, sequence, &bytes, &mut visit)
    }
}

/// Sends `request` (a whole netlink message numbered `sequence`) on
/// `socket` and hands `visit` the type and payload of each message of the
/// answer, as `read_in_place` does; for the netlink families rtnetlink
/// does not speak (socket diagnostics).
pub(super) fn ask(
    socket: &Socket,
    sequence: u32,
    request: &[u8],
    visit: &mut impl FnMut(u16, &[u8]) -> NlResult<()>,
) -> NlResult<()> {
    socket.send(request, 0).map_err(NetlinkError::Kernel)?;
    let mut answer = Answer { sequence, failure: None };
    let mut datagram = Vec::with_capacity(RECEIVE_BUFFER);
    loop {
        datagram.clear();
        let received = socket.recv(&mut datagram, 0).map_err(NetlinkError::Kernel)?;
        if let Some(done) = answer.read(&datagram[..received.min(datagram.len())], visit) {
            return done;
        }
    }
}

/// The reading of one request's answer, one datagram after the other.
struct Answer {
    sequence: u32,
    /// The first reply `visit` could not use. It does not stop the reading:
    /// the rest of a dump is read to its end, so that the socket is ready
    /// for the next request.
    failure: Option<NetlinkError>,
}

impl Answer {
    /// Hands `visit` the replies in `datagram`; `Some` once the answer is
    /// complete.
    fn read(
        &mut self,
        mut datagram: &[u8],
        visit: &mut impl FnMut(u16, &[u8]) -> NlResult<()>,
    ) -> Option<NlResult<()>> {
        while !datagram.is_empty() {
            let reply = match NetlinkBuffer::new_checked(datagram) {
                Ok(reply) => reply,
                Err(err) => return Some(Err(undecodable(err))),
            };
            let length = reply.length() as usize;
            if reply.sequence_number() == self.sequence {
                match reply.message_type() {
                    // A dump that failed part-way says so in its last message.
                    NLMSG_DONE => return Some(self.end(kernel_code(reply.payload()))),
                    NLMSG_ERROR => {
                        return Some(match ErrorBuffer::new_checked(reply.payload()) {
                            Ok(error) => self.end(error.code().map_or(0, |code| code.get())),
                            Err(err) => Err(undecodable(err)),
                        });
                    }
                    kind => {
                        if self.failure.is_none() {
                            self.failure = visit(kind, reply.payload()).err();
                        }
                        if reply.flags() & NLM_F_MULTIPART == 0 {
                            return Some(self.end(0));
                        }
                    }
                }
            }
            // Messages are 4-byte aligned within a datagram.
            datagram = datagram.get(length.next_multiple_of(4)..).unwrap_or_default();
        }
        None
    }

    /// The outcome, once the kernel said `code` (0 or a negative errno).
    fn end(&mut self, code: i32) -> NlResult<()> {
        if code < 0 {
            return Err(NetlinkError::Kernel(io::Error::from_raw_os_error(-code)));
        }
        self.failure.take().map_or(Ok(()), Err)
    }
}

/// The leading errno of an NLMSG_DONE payload (0 when it carries none).
fn kernel_code(payload: &[u8]) -> i32 {
    payload.get(..4).and_then(|bytes| bytes.try_into().ok()).map_or(0, i32::from_ne_bytes)
}

pub(super) fn undecodable(err: impl std::fmt::Display) -> NetlinkError {
    NetlinkError::Transport(format!("undecodable netlink reply: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_core::{DoneMessage, ErrorMessage, NetlinkPayload};
    use rtnetlink::packet_route::address::AddressMessage;
    use std::num::NonZeroI32;

    const RTM_NEWADDR: u16 = 20;

    /// One serialized message of the answer to request `sequence`.
    fn message(sequence: u32, multipart: bool, payload: NetlinkPayload<RouteNetlinkMessage>) -> Vec<u8> {
        let mut message = NetlinkMessage::new(Default::default(), payload);
        message.header.sequence_number = sequence;
        message.header.flags = if multipart { NLM_F_MULTIPART } else { 0 };
        message.finalize();
        let mut bytes = vec![0; message.header.length as usize];
        message.serialize(&mut bytes);
        bytes
    }

    fn address(sequence: u32, multipart: bool, index: u32) -> Vec<u8> {
        let mut address = AddressMessage::default();
        address.header.index = index;
        message(sequence, multipart, NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(address)))
    }

    fn last(sequence: u32, code: i32) -> Vec<u8> {
        let mut done = DoneMessage::default();
        done.code = code;
        message(sequence, true, NetlinkPayload::Done(done))
    }

    fn error(sequence: u32, errno: i32) -> Vec<u8> {
        let mut error = ErrorMessage::default();
        error.code = NonZeroI32::new(-errno);
        message(sequence, false, NetlinkPayload::Error(error))
    }

    /// The interface indexes `visit` saw and the outcome, datagram by
    /// datagram, until the answer is complete.
    fn read(sequence: u32, datagrams: &[Vec<u8>]) -> (Vec<u32>, Option<NlResult<()>>) {
        let mut answer = Answer { sequence, failure: None };
        let mut seen = Vec::new();
        let mut visit = |kind: u16, payload: &[u8]| {
            assert_eq!(kind, RTM_NEWADDR);
            let index = u32::from_ne_bytes(payload[4..8].try_into().unwrap());
            seen.push(index);
            if index == 666 { Err(undecodable("a reply the caller cannot use")) } else { Ok(()) }
        };
        for datagram in datagrams {
            if let Some(done) = answer.read(datagram, &mut visit) {
                return (seen, Some(done));
            }
        }
        (seen, None)
    }

    #[test]
    fn a_dump_is_read_across_datagrams_until_its_last_message() {
        let first = [address(7, true, 1), address(7, true, 2)].concat();
        let (seen, done) = read(7, std::slice::from_ref(&first));
        assert_eq!(seen, [1, 2]);
        assert!(done.is_none(), "a dump without its last message is not complete");
        let (seen, done) = read(7, &[first, [address(7, true, 3), last(7, 0)].concat()]);
        assert_eq!(seen, [1, 2, 3]);
        assert!(matches!(done, Some(Ok(()))));
    }

    #[test]
    fn replies_to_an_earlier_request_are_skipped() {
        let datagram = [address(6, true, 9), last(6, 0), address(7, false, 4)].concat();
        let (seen, done) = read(7, &[datagram]);
        assert_eq!(seen, [4]);
        assert!(matches!(done, Some(Ok(()))), "a single reply is the whole answer");
    }

    #[test]
    fn the_kernel_s_errors_end_the_answer_with_their_errno() {
        let (seen, done) = read(3, &[error(3, 19)]);
        assert!(seen.is_empty());
        assert_eq!(done.unwrap().unwrap_err().errno(), Some(19));
        let (seen, done) = read(3, &[[address(3, true, 1), last(3, -4)].concat()]);
        assert_eq!(seen, [1]);
        assert_eq!(done.unwrap().unwrap_err().errno(), Some(4), "a dump that failed part-way");
        let ack = message(3, false, NetlinkPayload::Error(ErrorMessage::default()));
        assert!(matches!(read(3, &[ack]).1, Some(Ok(()))), "an acknowledgement is success");
    }

    #[test]
    fn a_reply_the_caller_cannot_use_fails_the_answer_after_the_dump_is_read() {
        let datagram = [address(5, true, 666), address(5, true, 2)].concat();
        let (seen, done) = read(5, &[datagram, last(5, 0)]);
        assert_eq!(seen, [666], "nothing is handed over after the first failure");
        let err = done.unwrap().unwrap_err();
        assert!(err.to_string().contains("cannot use"), "{err}");
    }

    #[test]
    fn a_truncated_datagram_is_an_error_not_a_loop() {
        let whole = address(2, true, 1);
        let (_, done) = read(2, &[whole[..whole.len() - 4].to_vec()]);
        assert!(matches!(done, Some(Err(NetlinkError::Transport(_)))));
        assert!(matches!(read(2, &[vec![0; 20]]).1, Some(Err(NetlinkError::Transport(_)))));
    }

    #[test]
    fn a_done_message_without_a_code_is_success() {
        assert_eq!(kernel_code(&[]), 0);
        assert_eq!(kernel_code(&(-22i32).to_ne_bytes()), -22);
    }
}
