//! The IPC decisions, as pure functions the kernel's general path and its
//! fast path both call, so a host test can hold them against each other:
//! whenever the fast path takes a call, the general path would have done
//! the same thing with it (`tests::the_fast_path_agrees_with_the_general_path`).
//!
//! What is decided here: whether a task may reach another at all (rights,
//! then generation), what a `send` does to its target (deliver, block, the
//! target dies at it by fault injection), what a `reply` does, and what a
//! receive finds first. What is not: copying bytes and translating buffers
//! (the caller's buffers are valid by the time these run), and the
//! scheduler's bookkeeping.

use abi::{FaultInfo, TaskId, MAX_MESSAGE};

use crate::rights::{Need, Rights};

/// What a task is doing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Never started, or held.
    Stopped,
    /// Ready to run.
    Runnable,
    /// Blocked sending to this task index; its message is in its registers.
    InSend(u16),
    /// Its message was delivered to this task index; waiting for the reply.
    InReply(u16),
    /// Blocked receiving: notification mask and the one sender it accepts
    /// (`None` = open receive).
    InRecv { mask: u32, from: Option<u16> },
    /// Faulted; runs no more until restarted.
    Faulted(FaultInfo),
}

/// What the rules need to know of a task.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct View {
    pub state: State,
    pub generation: u8,
    /// 0 is the highest.
    pub priority: u8,
    /// Its send rights (`Rights::send`, kept in the task for the fast path).
    pub may_send: u64,
    /// Fault injection: it dies as its `n`th message from now arrives.
    pub fault_after: Option<u16>,
    /// Notification bits posted and not yet received.
    pub pending: u32,
}

/// A task as the rules read it: the kernel's `Task` implements it over its
/// own fields (so the fast path reads only what it checks), the tests over
/// [`View`].
pub trait Peer {
    fn state(&self) -> &State;
    fn generation(&self) -> u8;
    fn priority(&self) -> u8;
    fn may_send(&self) -> u64;
    fn fault_after(&self) -> Option<u16>;
    fn pending(&self) -> u32;
}

impl Peer for View {
    fn state(&self) -> &State {
        &self.state
    }
    fn generation(&self) -> u8 {
        self.generation
    }
    fn priority(&self) -> u8 {
        self.priority
    }
    fn may_send(&self) -> u64 {
        self.may_send
    }
    fn fault_after(&self) -> Option<u16> {
        self.fault_after
    }
    fn pending(&self) -> u32 {
        self.pending
    }
}

/// Why a task cannot reach another.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// No task has that index (a usage fault).
    NoSuchTask,
    /// The caller has no right to it.
    NoRight,
    /// The ID names a generation that is gone: the dead code's.
    Dead(u8),
}

/// Whether task `me` (send bits `may_send`, all its rights from `rights`,
/// asked only if the send bits do not decide) may do `need` (with `bits`
/// for a post) to the task `id` names, whose generation is
/// `target_generation` if it exists. The right comes before the
/// generation, so a task learns nothing of a task it has no right to.
#[inline(always)]
pub fn admit(
    me: usize,
    may_send: u64,
    rights: impl FnOnce() -> Rights,
    id: TaskId,
    target_generation: Option<u8>,
    need: Need,
    bits: u32,
) -> Result<usize, Refused> {
    let i = id.index();
    let generation = target_generation.ok_or(Refused::NoSuchTask)?;
    // A slot is the common case of every need: one bit, no table walk.
    let slot = may_send.wrapping_shr(i as u32) & 1 != 0;
    let allowed = match need {
        Need::Send | Need::Name if slot => true,
        Need::Send => false,
        _ => rights().allows(need, me, i, bits),
    };
    if !allowed {
        return Err(Refused::NoRight);
    }
    if need != Need::Name && generation != id.generation().get() {
        return Err(Refused::Dead(generation));
    }
    Ok(i)
}

/// A send's registers that decide what happens.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SendCall {
    pub target: TaskId,
    pub msg_len: u64,
    pub leases: u64,
}

/// What the general path does with a send whose buffers are valid.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SendRule {
    /// Kernel IPC, answered elsewhere.
    Kernel,
    /// The message is over the limit.
    TooLong,
    /// Not allowed (see [`Refused`]).
    Refused(Refused),
    /// The target was waiting for it: delivered, the sender now waits for
    /// the reply, the target is runnable.
    Deliver,
    /// The target dies at this message (fault injection); the sender gets
    /// the dead code.
    TargetDies,
    /// The target is not waiting for it: the sender blocks.
    Block,
}

/// The general path's decision for task `me`'s send.
pub fn send_rule<P: Peer>(
    me: usize,
    caller: &P,
    rights: &Rights,
    call: SendCall,
    target: Option<&P>,
) -> SendRule {
    if call.target == TaskId::KERNEL {
        return SendRule::Kernel;
    }
    if call.msg_len > MAX_MESSAGE as u64 {
        return SendRule::TooLong;
    }
    let generation = target.map(|t| t.generation());
    let admitted = admit(
        me,
        caller.may_send(),
        || *rights,
        call.target,
        generation,
        Need::Send,
        0,
    );
    if let Err(r) = admitted {
        return SendRule::Refused(r);
    }
    let Some(target) = target else {
        return SendRule::Refused(Refused::NoSuchTask);
    };
    match *target.state() {
        State::InRecv { from, .. } if from.is_none_or(|f| f as usize == me) => {
            if target.fault_after() == Some(1) {
                SendRule::TargetDies
            } else {
                SendRule::Deliver
            }
        }
        _ => SendRule::Block,
    }
}

/// Whether the fast path takes task `me`'s send to task `t` (`t != me`,
/// valid buffers assumed): no leases, within the limit, a target waiting
/// for it that outranks the sender, a right, the current generation, no
/// fault injection armed. Cheapest checks first, on values before memory.
#[inline(always)]
pub fn fast_send<P: Peer>(me: usize, caller: &P, call: SendCall, t: usize, target: &P) -> bool {
    if call.leases != 0 || call.msg_len > MAX_MESSAGE as u64 {
        return false;
    }
    let State::InRecv { from, .. } = *target.state() else {
        return false;
    };
    !(from.is_some_and(|f| f as usize != me)
        || caller.may_send().wrapping_shr(t as u32) & 1 == 0
        || target.generation() != call.target.generation().get()
        || target.priority() >= caller.priority()
        || target.fault_after().is_some())
}

/// What a reply to `id` from task `me` does (valid buffer assumed).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReplyRule {
    /// No task has that index (a usage fault).
    NoSuchTask,
    /// The client is dead, restarted or not waiting: the reply is dropped.
    Drop,
    /// The reply reaches the client, which becomes runnable.
    Deliver,
}

/// The general path's decision for a reply.
pub fn reply_rule<P: Peer>(me: usize, id: TaskId, client: Option<&P>) -> ReplyRule {
    match client {
        None => ReplyRule::NoSuchTask,
        Some(c)
            if c.generation() == id.generation().get()
                && matches!(*c.state(), State::InReply(x) if x as usize == me) =>
        {
            ReplyRule::Deliver
        }
        Some(_) => ReplyRule::Drop,
    }
}

/// What a receive finds first (valid buffer, `from` already resolved).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReceiveRule {
    /// Pending notification bits in the mask.
    Notification(u32),
    /// A sender already waiting (the kernel picks the best one).
    Message,
    /// Nothing: the task blocks.
    Block,
}

/// The general path's decision for a receive by `me` (`anyone_waiting`: a
/// task it accepts is blocked sending to it).
pub fn receive_rule<P: Peer>(me: &P, mask: u32, anyone_waiting: bool) -> ReceiveRule {
    let fired = me.pending() & mask;
    if fired != 0 {
        ReceiveRule::Notification(fired)
    } else if anyone_waiting {
        ReceiveRule::Message
    } else {
        ReceiveRule::Block
    }
}

/// A reply-and-receive's registers that decide what happens.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReplyRecvCall {
    pub to: TaskId,
    pub msg_len: u64,
    pub mask: u32,
    pub from: TaskId,
}

/// Whether the fast path takes task `me`'s `reply_recv` to task `c`
/// (`c != me`, valid buffers assumed): an open receive, a reply within the
/// limit to a client waiting for it, no notification pending in the mask,
/// and no task blocked sending anywhere (`anyone_sending`).
#[inline(always)]
pub fn fast_reply_recv<P: Peer>(
    me: usize,
    server: &P,
    call: ReplyRecvCall,
    anyone_sending: bool,
    client: &P,
) -> bool {
    !(call.from != TaskId::ANY
        || call.msg_len > MAX_MESSAGE as u64
        || anyone_sending
        || server.pending() & call.mask != 0
        || !matches!(*client.state(), State::InReply(x) if x as usize == me)
        || client.generation() != call.to.generation().get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rights::PostRight;

    const ME: usize = 1;

    fn view(state: State, generation: u8, priority: u8) -> View {
        View {
            state,
            generation,
            priority,
            may_send: 0,
            fault_after: None,
            pending: 0,
        }
    }

    /// Every target state the tests try (as seen from task `ME`).
    fn states() -> std::vec::Vec<State> {
        std::vec![
            State::Stopped,
            State::Runnable,
            State::InSend(0),
            State::InSend(ME as u16),
            State::InReply(0),
            State::InReply(ME as u16),
            State::InRecv {
                mask: 0,
                from: None
            },
            State::InRecv {
                mask: 3,
                from: Some(ME as u16)
            },
            State::InRecv {
                mask: 0,
                from: Some(3)
            },
            State::Faulted(FaultInfo::Panic),
        ]
    }

    const POSTS: [PostRight; 1] = [PostRight { task: 2, bits: 1 }];

    /// The fast path takes a send only where the general path delivers it,
    /// and where the receiver outranks the sender (so both run the
    /// receiver next); likewise for `reply_recv`: the reply is delivered
    /// and the receive blocks.
    #[test]
    fn the_fast_path_agrees_with_the_general_path() {
        let mut taken = 0;
        for state in states() {
            for (target_gen, id_gen) in [(0u8, 0u8), (1, 0), (2, 2)] {
                for (target_prio, my_prio) in [(1u8, 3u8), (3, 3), (5, 3)] {
                    for may_send in [0u64, 1 << 2, u64::MAX] {
                        for fault_after in [None, Some(1), Some(3)] {
                            for (msg_len, leases) in [(0u64, 0u64), (256, 0), (257, 0), (8, 1)] {
                                let caller = View {
                                    may_send,
                                    ..view(State::Runnable, 0, my_prio)
                                };
                                let target = View {
                                    fault_after,
                                    ..view(state, target_gen, target_prio)
                                };
                                let rights = Rights {
                                    send: may_send,
                                    post: &POSTS,
                                };
                                for t in [2usize] {
                                    let call = SendCall {
                                        target: TaskId::new(t as u16, abi::Generation::new(id_gen)),
                                        msg_len,
                                        leases,
                                    };
                                    if !fast_send(ME, &caller, call, t, &target) {
                                        continue;
                                    }
                                    taken += 1;
                                    let general =
                                        send_rule(ME, &caller, &rights, call, Some(&target));
                                    assert_eq!(
                                        general,
                                        SendRule::Deliver,
                                        "{state:?} {call:?} {target:?}"
                                    );
                                    assert!(target.priority < caller.priority);
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(taken > 0, "the fast path took no case at all");

        let mut taken = 0;
        for state in states() {
            for (client_gen, id_gen) in [(0u8, 0u8), (1, 0)] {
                for (pending, mask) in [(0u32, 0xffu32), (1, 1), (2, 1)] {
                    for from in [
                        TaskId::ANY,
                        TaskId::KERNEL,
                        TaskId::new(2, abi::Generation::new(0)),
                    ] {
                        for anyone_sending in [false, true] {
                            for msg_len in [0u64, 256, 300] {
                                let server = View {
                                    pending,
                                    ..view(State::Runnable, 0, 2)
                                };
                                let client = view(state, client_gen, 4);
                                let call = ReplyRecvCall {
                                    to: TaskId::new(2, abi::Generation::new(id_gen)),
                                    msg_len,
                                    mask,
                                    from,
                                };
                                if !fast_reply_recv(ME, &server, call, anyone_sending, &client) {
                                    continue;
                                }
                                taken += 1;
                                assert_eq!(
                                    reply_rule(ME, call.to, Some(&client)),
                                    ReplyRule::Deliver
                                );
                                assert_eq!(
                                    receive_rule(&server, mask, anyone_sending),
                                    ReceiveRule::Block
                                );
                                assert!(msg_len <= MAX_MESSAGE as u64);
                            }
                        }
                    }
                }
            }
        }
        assert!(taken > 0, "the fast path took no reply_recv at all");
    }

    #[test]
    fn a_send_is_refused_for_want_of_a_right_before_its_generation_is_looked_at() {
        let caller = view(State::Runnable, 0, 3);
        let target = view(
            State::InRecv {
                mask: 0,
                from: None,
            },
            5,
            1,
        );
        let call = SendCall {
            target: TaskId::new(2, abi::Generation::new(0)),
            msg_len: 0,
            leases: 0,
        };
        assert_eq!(
            send_rule(ME, &caller, &Rights::NONE, call, Some(&target)),
            SendRule::Refused(Refused::NoRight)
        );
        let allowed = View {
            may_send: 1 << 2,
            ..caller
        };
        let rights = Rights {
            send: 1 << 2,
            post: &[],
        };
        assert_eq!(
            send_rule(ME, &allowed, &rights, call, Some(&target)),
            SendRule::Refused(Refused::Dead(5))
        );
    }

    #[test]
    fn a_send_to_a_receiver_armed_to_die_at_its_next_message_kills_it() {
        let caller = View {
            may_send: 1 << 2,
            ..view(State::Runnable, 0, 3)
        };
        let rights = Rights {
            send: 1 << 2,
            post: &[],
        };
        let call = SendCall {
            target: TaskId::new(2, abi::Generation::new(0)),
            msg_len: 0,
            leases: 0,
        };
        let mut target = view(
            State::InRecv {
                mask: 0,
                from: None,
            },
            0,
            1,
        );
        target.fault_after = Some(1);
        assert_eq!(
            send_rule(ME, &caller, &rights, call, Some(&target)),
            SendRule::TargetDies
        );
        target.fault_after = Some(2);
        assert_eq!(
            send_rule(ME, &caller, &rights, call, Some(&target)),
            SendRule::Deliver
        );
        target.state = State::InRecv {
            mask: 0,
            from: Some(3),
        };
        assert_eq!(
            send_rule(ME, &caller, &rights, call, Some(&target)),
            SendRule::Block
        );
        assert_eq!(
            send_rule(ME, &caller, &rights, call, None::<&View>),
            SendRule::Refused(Refused::NoSuchTask)
        );
    }

    #[test]
    fn a_reply_reaches_only_a_client_waiting_for_this_server() {
        let id = TaskId::new(2, abi::Generation::new(1));
        assert_eq!(reply_rule(ME, id, None::<&View>), ReplyRule::NoSuchTask);
        let waiting = view(State::InReply(ME as u16), 1, 4);
        assert_eq!(reply_rule(ME, id, Some(&waiting)), ReplyRule::Deliver);
        assert_eq!(
            reply_rule(
                ME,
                id.with_generation(abi::Generation::new(0)),
                Some(&waiting)
            ),
            ReplyRule::Drop
        );
        let elsewhere = view(State::InReply(3), 1, 4);
        assert_eq!(reply_rule(ME, id, Some(&elsewhere)), ReplyRule::Drop);
    }

    #[test]
    fn a_receive_takes_notifications_then_senders_then_blocks() {
        let me = View {
            pending: 0b101,
            ..view(State::Runnable, 0, 2)
        };
        assert_eq!(
            receive_rule(&me, 0b100, true),
            ReceiveRule::Notification(0b100)
        );
        assert_eq!(receive_rule(&me, 0b010, true), ReceiveRule::Message);
        assert_eq!(receive_rule(&me, 0b010, false), ReceiveRule::Block);
    }
}
