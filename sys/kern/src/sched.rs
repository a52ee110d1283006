//! The scheduling rule: the runnable task with the highest priority (lowest
//! number) runs; among equals, the lowest index. No time slicing, as in
//! Hubris: a task runs until it blocks or a higher-priority task wakes.

/// Orders task indices by (priority, index): a task's place in this list is
/// its rank, and the kernel keeps the runnable tasks as a set of ranks.
pub fn priority_order(priorities: &[u8], order: &mut [u16]) {
    for (slot, i) in order.iter_mut().zip(0u16..) {
        *slot = i;
    }
    order.sort_unstable_by_key(|&i| (priorities.get(i as usize).copied().unwrap_or(u8::MAX), i));
}

/// The first runnable task in `order`, given the runnable *ranks* as the
/// kernel keeps them (bit `r` set: the task at `order[r]` is runnable), so
/// a pick is one bit scan.
#[inline(always)]
pub fn pick_ranked(order: &[u16], runnable_ranks: u64) -> Option<usize> {
    order
        .get(runnable_ranks.trailing_zeros() as usize)
        .map(|&i| i as usize)
}

/// Picks the next task from `(priority, runnable)` pairs by index.
pub fn pick(tasks: impl Iterator<Item = (u8, bool)>) -> Option<usize> {
    let mut best: Option<(u8, usize)> = None;
    for (i, (prio, runnable)) in tasks.enumerate() {
        if runnable && best.is_none_or(|(p, _)| prio < p) {
            best = Some((prio, i));
        }
    }
    best.map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn highest_priority_runnable_task_runs() {
        let t = vec![(3, true), (1, true), (2, true)];
        assert_eq!(pick(t.into_iter()), Some(1));
    }

    #[test]
    fn blocked_tasks_are_skipped() {
        let t = vec![(3, true), (1, false), (2, true)];
        assert_eq!(pick(t.into_iter()), Some(2));
    }

    #[test]
    fn equal_priorities_run_lowest_index_first() {
        let t = vec![(5, false), (2, true), (2, true)];
        assert_eq!(pick(t.into_iter()), Some(1));
    }

    #[test]
    fn ordered_pick_agrees_with_the_rule() {
        let prios = [0u8, 3, 2, 2, 9];
        let mut order = [0u16; 5];
        priority_order(&prios, &mut order);
        assert_eq!(order, [0, 2, 3, 1, 4]);
        for mask in 0u32..32 {
            let runnable = |i: usize| mask & (1 << i) != 0;
            let expect = pick(prios.iter().enumerate().map(|(i, p)| (*p, runnable(i))));
            let ranks = order
                .iter()
                .enumerate()
                .filter(|(_, &i)| runnable(i as usize))
                .fold(0u64, |set, (rank, _)| set | 1 << rank);
            assert_eq!(pick_ranked(&order, ranks), expect, "mask {mask:#b}");
        }
    }

    #[test]
    fn nothing_runnable_means_idle() {
        let t = vec![(0, false), (1, false)];
        assert_eq!(pick(t.into_iter()), None);
    }
}
