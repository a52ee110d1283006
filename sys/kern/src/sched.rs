//! The scheduling rule: the runnable task with the highest priority (lowest
//! number) runs; among equals, the lowest index. No time slicing, as in
//! Hubris: a task runs until it blocks or a higher-priority task wakes.

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
    fn nothing_runnable_means_idle() {
        let t = vec![(0, false), (1, false)];
        assert_eq!(pick(t.into_iter()), None);
    }
}
