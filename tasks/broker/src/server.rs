//! The broker's IPC face: the generated `broker` server trait over a
//! [`Broker`]. A caller's task index is what policy checks.

use idl_runtime::abi::TaskId;
use idl_runtime::Transport;
use idl_types::{
    BrokerCounters, BrokerError, DeviceEntry, DevicePage, DomainEntry, DomainPage, ReassignReport,
    SequencedEvent, TaskIndex, TxStatus, LIST_PAGE,
};

use crate::broker_idl::{self as idl, Server};
use crate::engine::Broker;
use crate::journal::JournalStore;

/// The broker as a server.
pub struct BrokerServer<T: Transport + Clone, S: JournalStore>(pub Broker<T, S>);

fn caller_index(caller: TaskId) -> TaskIndex {
    TaskIndex(caller.index() as u16)
}

impl<T: Transport + Clone, S: JournalStore> Server for BrokerServer<T, S> {
    fn list_devices(&mut self, _caller: TaskId, args: idl::ListDevicesArgs) -> DevicePage {
        let devices = self.0.books().devices();
        let start = usize::from(args.start);
        let mut page = DevicePage {
            entries: heapless::Vec::new(),
            next: None,
        };
        for d in devices.iter().skip(start).take(LIST_PAGE) {
            let _ = page.entries.push(DeviceEntry {
                device: d.device,
                custody: d.custody,
                has_rmrr: d.facts.as_ref().is_some_and(|f| f.has_rmrr()),
            });
        }
        let end = start + page.entries.len();
        if end < devices.len() {
            page.next = u16::try_from(end).ok();
        }
        page
    }

    fn list_domains(&mut self, _caller: TaskId, args: idl::ListDomainsArgs) -> DomainPage {
        let books = self.0.books();
        let start = usize::from(args.start);
        let mut page = DomainPage {
            entries: heapless::Vec::new(),
            next: None,
        };
        for d in books.domains().iter().skip(start).take(LIST_PAGE) {
            let _ = page.entries.push(DomainEntry {
                domain: d.domain,
                owner: d.owner,
                devices: u16::try_from(books.devices_of(d.domain).count()).unwrap_or(u16::MAX),
            });
        }
        let end = start + page.entries.len();
        if end < books.domains().len() {
            page.next = u16::try_from(end).ok();
        }
        page
    }

    fn assign(
        &mut self,
        caller: TaskId,
        args: idl::AssignArgs,
    ) -> Result<ReassignReport, BrokerError> {
        self.0
            .assign(caller_index(caller), args.device, args.domain)
    }

    fn reassign(
        &mut self,
        caller: TaskId,
        args: idl::ReassignArgs,
    ) -> Result<ReassignReport, BrokerError> {
        self.0
            .reassign(caller_index(caller), args.device, args.target)
    }

    fn quarantine(
        &mut self,
        caller: TaskId,
        args: idl::QuarantineArgs,
    ) -> Result<ReassignReport, BrokerError> {
        self.0.quarantine(caller_index(caller), args.device)
    }

    fn release(
        &mut self,
        caller: TaskId,
        args: idl::ReleaseArgs,
    ) -> Result<ReassignReport, BrokerError> {
        self.0.release(caller_index(caller), args.device)
    }

    fn tx_status(&mut self, _caller: TaskId, _args: idl::TxStatusArgs) -> TxStatus {
        self.0.tx_status()
    }

    fn event_after(
        &mut self,
        _caller: TaskId,
        args: idl::EventAfterArgs,
    ) -> Option<SequencedEvent> {
        self.0.events().after(args.after)
    }

    fn stats(&mut self, _caller: TaskId, _args: idl::StatsArgs) -> BrokerCounters {
        let s = self.0.stats();
        BrokerCounters {
            committed: s.committed,
            rolled_back: s.rolled_back,
            rollback_failures: s.rollback_failures,
            replays: s.replays,
            cleanups_pending: u16::try_from(self.0.pending_cleanups().len()).unwrap_or(u16::MAX),
            cleanup_failures: s.cleanup_failures,
        }
    }

    /// The supervisor's notification: someone died; ask who.
    fn notified(&mut self, _bits: u32) {
        self.0.poll_deaths();
    }
}
