//! Who may ask for what. Operators (app.toml) may move any device anywhere.
//! A domain's owner may give back or quarantine its own devices, and may
//! take back a device quarantined when it died ("X can later ask for them
//! again"). Everything else is refused with `NotPermitted`, changing nothing.

use idl_types::{Bdf, Custody, DomainId, TaskIndex};

use crate::books::Books;

/// A request, as policy sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Give or move `device` to `target`.
    Move {
        /// The device.
        device: Bdf,
        /// Where to.
        target: DomainId,
    },
    /// Quarantine `device`.
    Quarantine(Bdf),
    /// Release `device`.
    Release(Bdf),
}

/// Whether `caller` may make `request`.
pub fn permitted(
    books: &Books,
    operators: &[TaskIndex],
    caller: TaskIndex,
    request: Request,
) -> bool {
    if operators.contains(&caller) {
        return true;
    }
    let owns = |domain: DomainId| books.domain(domain).is_some_and(|d| d.owner == caller);
    match request {
        Request::Move { device, target } => {
            let Some(record) = books.device(device) else {
                return false;
            };
            // Taking back what was taken at the caller's death.
            owns(target)
                && record.reclaim_for == Some(target)
                && matches!(record.custody, Custody::Quarantined | Custody::Unassigned)
        }
        Request::Quarantine(device) | Request::Release(device) => books
            .device(device)
            .is_some_and(|d| matches!(d.custody, Custody::Domain(dom) if owns(dom))),
    }
}
