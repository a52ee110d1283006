//! `cargo xtask graph`: the system of an app.toml as a picture.
//!
//! Writes Graphviz DOT (for anyone with `dot`) and a self-contained SVG laid
//! out here, so no tool is needed to look at it: one row per priority
//! (the supervisor on top), calls as solid arrows (always uphill),
//! notifications posted as dashed arrows, and in each task's box its
//! interrupts and granted regions.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::app::{App, RegionKind};

const BOX_W: i64 = 240;
const LINE_H: i64 = 14;
const GAP_X: i64 = 40;
const ROW_GAP: i64 = 70;
const MARGIN: i64 = 30;
/// Room at the sides for edges that skip rows and bend around boxes.
const SIDE: i64 = 160;
const BEND_PER_ROW: i64 = 45;

fn kind(k: RegionKind) -> &'static str {
    match k {
        RegionKind::Mmio => "mmio",
        RegionKind::Dma => "dma",
        RegionKind::Persist => "persist",
        RegionKind::Ram => "ram",
        RegionKind::AcpiTables => "acpi-tables",
    }
}

fn lines_of(app: &App, i: usize) -> Vec<String> {
    let t = &app.tasks[i];
    let mut l = vec![
        format!("{}  (priority {})", t.name, t.priority),
        t.krate.clone(),
    ];
    for (v, bits, gsi) in &t.irqs {
        let n = &t.notifications[bits.trailing_zeros() as usize];
        match gsi {
            Some(g) => l.push(format!("ioapic input {g} -> {n}")),
            None => l.push(format!("irq vector {v} -> {n}")),
        }
    }
    for r in &t.regions {
        if let Some(reg) = app.regions.iter().find(|x| &x.name == r) {
            let at = reg.base.map_or(String::new(), |b| format!(" @{b:#x}"));
            l.push(format!("{} {r} {:#x}{at}", kind(reg.kind), reg.size));
        }
    }
    for p in &t.io_ports {
        l.push(format!("ports {:#x}+{}", p.base, p.count));
    }
    l
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The DOT text.
pub fn dot(app: &App) -> String {
    let mut s = format!(
        "digraph \"{}\" {{\n  rankdir=BT;\n  node [shape=box, style=rounded];\n",
        app.name
    );
    for (i, _) in app.tasks.iter().enumerate() {
        let label = lines_of(app, i).join("\\n");
        let _ = writeln!(s, "  t{i} [label=\"{}\"];", label.replace('"', "'"));
    }
    for (i, t) in app.tasks.iter().enumerate() {
        for (slot, peer) in &t.slots {
            let _ = writeln!(s, "  t{i} -> t{peer} [label=\"{slot}\"];");
        }
        for (_, peer, _) in &t.notify {
            let _ = writeln!(s, "  t{i} -> t{peer} [style=dashed, label=\"post\"];");
        }
    }
    s.push_str("}\n");
    s
}

/// The SVG text.
pub fn svg(app: &App) -> String {
    let mut prios: Vec<u8> = app.tasks.iter().map(|t| t.priority).collect();
    prios.sort_unstable();
    prios.dedup();
    let rows: Vec<Vec<usize>> = prios
        .iter()
        .map(|p| {
            (0..app.tasks.len())
                .filter(|&i| app.tasks[i].priority == *p)
                .collect()
        })
        .collect();
    let heights: Vec<i64> = (0..app.tasks.len())
        .map(|i| (lines_of(app, i).len() as i64) * LINE_H + 12)
        .collect();
    let widest = rows.iter().map(|r| r.len() as i64).max().unwrap_or(1);
    let width = MARGIN * 2 + SIDE * 2 + widest * BOX_W + (widest - 1).max(0) * GAP_X;
    let mut pos = vec![(0i64, 0i64); app.tasks.len()];
    let mut y = MARGIN + 20;
    for row in &rows {
        let row_w = row.len() as i64 * BOX_W + (row.len() as i64 - 1) * GAP_X;
        let mut x = (width - row_w) / 2;
        let h = row.iter().map(|&i| heights[i]).max().unwrap_or(0);
        for &i in row {
            pos[i] = (x, y);
            x += BOX_W + GAP_X;
        }
        y += h + ROW_GAP;
    }
    let height = y - ROW_GAP + MARGIN;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"monospace\" font-size=\"11\">"
    );
    s.push_str("<defs><marker id=\"a\" markerWidth=\"10\" markerHeight=\"7\" refX=\"10\" refY=\"3.5\" orient=\"auto\"><polygon points=\"0 0, 10 3.5, 0 7\"/></marker></defs>\n");
    let _ = writeln!(
        s,
        "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"14\">{}: calls go up (solid), posts dashed</text>",
        MARGIN,
        escape(&app.name)
    );
    let row_of = |i: usize| {
        prios
            .iter()
            .position(|p| *p == app.tasks[i].priority)
            .unwrap_or(0) as i64
    };
    let mut bends = 0i64;
    // Adjacent rows: a straight line from box to box. Farther: a curve that
    // leaves the caller's side and bows outside the column, so it never runs
    // behind the boxes between (alternating sides).
    let mut edge = |s: &mut String, from: usize, to: usize, span: i64, style: &str| {
        if span <= 1 {
            let (up, down) = if pos[from].1 > pos[to].1 {
                (from, to)
            } else {
                (to, from)
            };
            let (x1, y1) = (pos[up].0 + BOX_W / 2, pos[up].1);
            let (x2, y2) = (pos[down].0 + BOX_W / 2, pos[down].1 + heights[down]);
            let (a, b) = if up == from {
                ((x1, y1), (x2, y2))
            } else {
                ((x2, y2), (x1, y1))
            };
            let _ = writeln!(
                s,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {style} fill=\"none\" marker-end=\"url(#a)\"/>",
                a.0, a.1, b.0, b.1
            );
            return;
        }
        bends += 1;
        let right = bends % 2 == 1;
        let side_x = |i: usize| if right { pos[i].0 + BOX_W } else { pos[i].0 };
        let (x1, y1) = (side_x(from), pos[from].1 + heights[from] / 2);
        let (x2, y2) = (side_x(to), pos[to].1 + heights[to] / 2);
        let out = (30 + span * BEND_PER_ROW).min(SIDE - 10) * if right { 1 } else { -1 };
        let _ = writeln!(
            s,
            "<path d=\"M {x1} {y1} C {} {y1}, {} {y2}, {x2} {y2}\" {style} fill=\"none\" marker-end=\"url(#a)\"/>",
            x1 + out,
            x2 + out
        );
    };
    for (i, t) in app.tasks.iter().enumerate() {
        for (_, peer) in &t.slots {
            edge(
                &mut s,
                i,
                *peer,
                row_of(i) - row_of(*peer),
                "stroke=\"#335\"",
            );
        }
        for (_, peer, _) in &t.notify {
            let style = "stroke=\"#a33\" stroke-dasharray=\"5,4\"";
            edge(&mut s, i, *peer, row_of(*peer) - row_of(i), style);
        }
    }
    for i in 0..app.tasks.len() {
        let (x, y) = pos[i];
        let fill = if i == app.supervisor { "#fde" } else { "#eef" };
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{}\" rx=\"6\" fill=\"{fill}\" stroke=\"#335\"/>",
            heights[i]
        );
        for (k, line) in lines_of(app, i).iter().enumerate() {
            let weight = if k == 0 { " font-weight=\"bold\"" } else { "" };
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\"{weight}>{}</text>",
                x + 6,
                y + 14 + k as i64 * LINE_H,
                escape(line)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

/// Writes `graph.dot` and `graph.svg` beside the app's build products.
pub fn write(app: &App) -> Result<(PathBuf, PathBuf), String> {
    let dir = crate::image::out_dir(app);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (d, v) = (dir.join("graph.dot"), dir.join("graph.svg"));
    std::fs::write(&d, dot(app)).map_err(|e| format!("{}: {e}", d.display()))?;
    std::fs::write(&v, svg(app)).map_err(|e| format!("{}: {e}", v.display()))?;
    Ok((d, v))
}
