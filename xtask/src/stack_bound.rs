//! The static stack bound of a task, from its ELF, as Hubris computes it:
//! each function's frame from the compiler (`-Z emit-stack-sizes` writes
//! `.stack_sizes`: address, then frame size as ULEB128), its calls from its
//! machine code (decoded with `iced-x86`), and the deepest path from the
//! entry point. A build fails when that path can exceed the task's
//! `stacksize`, naming it; the painted high-water mark (`stack: NAME used N
//! of M bytes` at shutdown) stays beside it as the measured figure.
//!
//! What the bound cannot see is reported, never ignored:
//! - an indirect call (`call rax`, through a vtable or a function pointer):
//!   counted as a call to every function whose address the image takes (in
//!   code or in data), and listed; a call through a fixed slot (the GOT) is
//!   followed to the function the slot holds;
//! - recursion: a cycle has no finite bound, so its path is listed and its
//!   back edge is not followed;
//! - a function the compiler gave no frame size (the precompiled `core`,
//!   assembly such as the entry point): its frame is read from its prologue
//!   (pushes and `sub rsp, N`), and it is listed.
//!
//! A tail call (`jmp` to another function) is counted as a call, which
//! over-estimates by the caller's frame: a bound, not a measurement.

use std::collections::{BTreeSet, HashMap};

use iced_x86::{Decoder, DecoderOptions, FlowControl, Mnemonic, OpKind, Register};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

/// The bytes `call` pushes (the return address).
const RETURN_ADDRESS: u64 = 8;
/// The section `-Z emit-stack-sizes` writes.
const STACK_SIZES: &str = ".stack_sizes";
/// The task entry point every task's runtime defines.
const ENTRY: &str = "_start";

/// One function of the task.
#[derive(Debug, Clone, Default)]
pub struct Function {
    pub name: String,
    /// Its frame in bytes (`None`: the compiler gave none).
    pub frame: Option<u64>,
    /// Its frame read from its prologue (pushes and `sub rsp, N`), for a
    /// function the compiler gave no size (the precompiled `core`,
    /// assembly).
    pub prologue: u64,
    /// Addresses of functions it calls or tail-calls.
    pub calls: BTreeSet<u64>,
    /// Whether it makes an indirect call.
    pub indirect: bool,
}

/// The call graph: functions by start address, and the entry.
#[derive(Debug, Default)]
pub struct Graph {
    pub functions: HashMap<u64, Function>,
    pub entry: u64,
    /// Functions whose address the image takes (in code or in data): the
    /// possible targets of an indirect call.
    pub taken: BTreeSet<u64>,
}

/// The deepest path and what limits its truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// Bytes of stack the deepest path can use.
    pub bytes: u64,
    /// That path, entry first (function names).
    pub path: Vec<String>,
    /// Functions on reachable paths that call indirectly.
    pub indirect: Vec<String>,
    /// Cycles found (each a path of names, back to its start).
    pub recursion: Vec<Vec<String>>,
    /// Reachable functions whose frame was read from their prologue.
    pub from_prologue: Vec<String>,
}

/// Reads the call graph of a task ELF.
pub fn graph(elf: &[u8]) -> Result<Graph, String> {
    let file = object::File::parse(elf).map_err(|e| format!("not an ELF: {e}"))?;
    let sizes = match file.section_by_name(STACK_SIZES) {
        Some(s) => parse_stack_sizes(s.data().map_err(|e| e.to_string())?)?,
        None => {
            return Err(format!(
                "no {STACK_SIZES} section: built without -Z emit-stack-sizes"
            ))
        }
    };
    let mut g = Graph::default();
    let mut spans = Vec::new();
    // The entry is assembly: a symbol without a type or size. It runs to
    // the next symbol.
    let mut starts: Vec<u64> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text)
        .map(|s| s.address())
        .collect();
    starts.sort_unstable();
    for sym in file.symbols() {
        let is_entry = sym.name() == Ok(ENTRY);
        if !is_entry && (sym.kind() != SymbolKind::Text || sym.size() == 0) {
            continue;
        }
        let size = match sym.size() {
            0 => starts
                .iter()
                .find(|&&a| a > sym.address())
                .map_or(0, |next| next - sym.address()),
            n => n,
        };
        let name = sym.name().unwrap_or("?");
        let name = addr2line::demangle_auto(name.into(), None).into_owned();
        if is_entry {
            g.entry = sym.address();
        }
        spans.push((sym.address(), size));
        g.functions.entry(sym.address()).or_insert(Function {
            name: strip_hash(&name),
            frame: sizes.get(&sym.address()).copied(),
            ..Function::default()
        });
    }
    if !g.functions.contains_key(&g.entry) {
        return Err(format!("no {ENTRY} symbol"));
    }
    let text = file.section_by_name(".text").ok_or("no .text section")?;
    let (base, bytes) = (text.address(), text.data().map_err(|e| e.to_string())?);
    let loaded: Vec<(u64, &[u8])> = file
        .sections()
        .filter(|s| s.address() != 0)
        .filter_map(|s| Some((s.address(), s.data().ok()?)))
        .collect();
    let read = |addr: u64| -> Option<u64> {
        loaded.iter().find_map(|(at, data)| {
            let o = usize::try_from(addr.checked_sub(*at)?).ok()?;
            Some(u64::from_le_bytes(data.get(o..o + 8)?.try_into().ok()?))
        })
    };
    for (start, size) in spans {
        let Some(code) = start
            .checked_sub(base)
            .and_then(|o| bytes.get(o as usize..(o + size) as usize))
        else {
            continue;
        };
        let c = calls_in(code, start, size, &read);
        g.taken.extend(c.taken);
        if let Some(f) = g.functions.get_mut(&start) {
            f.calls = c.calls;
            f.indirect = c.indirect;
            f.prologue = prologue_frame(code, start);
        }
    }
    // Function pointers stored in data (vtables, tables of handlers).
    for (at, data) in &loaded {
        if *at == base {
            continue;
        }
        for word in data.chunks_exact(8) {
            let value = u64::from_le_bytes(word.try_into().unwrap_or_default());
            if g.functions.contains_key(&value) {
                g.taken.insert(value);
            }
        }
    }
    g.taken.retain(|a| g.functions.contains_key(a));
    Ok(g)
}

/// `(address, frame size)` entries of a `.stack_sizes` section.
fn parse_stack_sizes(mut data: &[u8]) -> Result<HashMap<u64, u64>, String> {
    let mut out = HashMap::new();
    while !data.is_empty() {
        let (addr, rest) = data
            .split_first_chunk::<8>()
            .ok_or("a .stack_sizes entry is cut short")?;
        let (size, used) = uleb128(rest).ok_or("a .stack_sizes size is cut short")?;
        out.insert(u64::from_le_bytes(*addr), size);
        data = &rest[used..];
    }
    Ok(out)
}

/// An unsigned LEB128 value and the bytes it took.
fn uleb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// What one function's code does: direct calls and tail calls (including
/// calls through a pointer the image holds at a fixed address, such as a
/// GOT slot), whether any call stays indirect, and the code addresses it
/// takes (`lea reg, [rip + f]`: `f` may be called through a pointer).
struct Code {
    calls: BTreeSet<u64>,
    indirect: bool,
    taken: BTreeSet<u64>,
}

fn calls_in(code: &[u8], start: u64, size: u64, read: &dyn Fn(u64) -> Option<u64>) -> Code {
    let mut c = Code {
        calls: BTreeSet::new(),
        indirect: false,
        taken: BTreeSet::new(),
    };
    let mut d = Decoder::with_ip(64, code, start, DecoderOptions::NONE);
    while d.can_decode() {
        let i = d.decode();
        match i.flow_control() {
            FlowControl::Call if i.op0_kind() == OpKind::NearBranch64 => {
                c.calls.insert(i.near_branch_target());
            }
            FlowControl::IndirectCall | FlowControl::IndirectBranch => {
                let fixed = (i.op0_kind() == OpKind::Memory && i.is_ip_rel_memory_operand())
                    .then(|| read(i.ip_rel_memory_address()))
                    .flatten();
                match fixed {
                    Some(target) => {
                        c.calls.insert(target);
                    }
                    // An indirect jump inside a function is a jump table.
                    None if i.flow_control() == FlowControl::IndirectCall => c.indirect = true,
                    None => {}
                }
            }
            FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch
                if i.op0_kind() == OpKind::NearBranch64 =>
            {
                let t = i.near_branch_target();
                if t < start || t >= start + size {
                    c.calls.insert(t);
                }
            }
            FlowControl::Next if i.mnemonic() == Mnemonic::Lea && i.is_ip_rel_memory_operand() => {
                c.taken.insert(i.ip_rel_memory_address());
            }
            _ => {}
        }
    }
    c
}

/// The bytes a function's prologue reserves: its pushes and `sub rsp, N`
/// before its first branch, call or return.
fn prologue_frame(code: &[u8], start: u64) -> u64 {
    const PROLOGUE: usize = 24;
    let mut frame = 0u64;
    let mut d = Decoder::with_ip(64, code, start, DecoderOptions::NONE);
    for _ in 0..PROLOGUE {
        if !d.can_decode() {
            break;
        }
        let i = d.decode();
        if i.flow_control() != FlowControl::Next {
            break;
        }
        match i.mnemonic() {
            Mnemonic::Push => frame += 8,
            Mnemonic::Sub
                if i.op0_register() == Register::RSP
                    && matches!(
                        i.op1_kind(),
                        OpKind::Immediate8to64 | OpKind::Immediate32to64
                    ) =>
            {
                frame += i.immediate(1);
            }
            _ => {}
        }
    }
    frame
}

/// The deepest path from the entry.
pub fn bound(g: &Graph) -> Bound {
    let mut memo: HashMap<u64, (u64, Option<u64>)> = HashMap::new();
    let mut on_path = Vec::new();
    let mut b = Bound {
        bytes: 0,
        path: Vec::new(),
        indirect: Vec::new(),
        recursion: Vec::new(),
        from_prologue: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    b.bytes = depth(g, g.entry, &mut memo, &mut on_path, &mut b, &mut seen);
    let mut at = Some(g.entry);
    while let Some(f) = at {
        b.path.push(name(g, f));
        at = memo.get(&f).and_then(|m| m.1);
    }
    b.indirect.sort();
    b.from_prologue.sort();
    b
}

/// The deepest use below and including `f` (its frame, its return address,
/// its deepest callee), remembering the deepest callee of each function.
fn depth(
    g: &Graph,
    f: u64,
    memo: &mut HashMap<u64, (u64, Option<u64>)>,
    on_path: &mut Vec<u64>,
    b: &mut Bound,
    seen: &mut BTreeSet<u64>,
) -> u64 {
    if let Some(&(d, _)) = memo.get(&f) {
        return d;
    }
    if let Some(i) = on_path.iter().position(|&p| p == f) {
        let mut cycle: Vec<String> = on_path[i..].iter().map(|&p| name(g, p)).collect();
        cycle.push(name(g, f));
        b.recursion.push(cycle);
        return 0;
    }
    let Some(func) = g.functions.get(&f) else {
        // A target outside every symbol (a jump into the middle of code
        // the symbol table does not cover): nothing known, nothing added.
        return 0;
    };
    if seen.insert(f) {
        if func.indirect {
            b.indirect.push(func.name.clone());
        }
        if func.frame.is_none() {
            b.from_prologue.push(func.name.clone());
        }
    }
    on_path.push(f);
    let mut deepest = (0, None);
    let possible = func.indirect.then_some(&g.taken).into_iter().flatten();
    for &c in func.calls.iter().chain(possible) {
        let d = depth(g, c, memo, on_path, b, seen);
        if d > deepest.0 {
            deepest = (d, Some(c));
        }
    }
    on_path.pop();
    let own = func.frame.unwrap_or(func.prologue) + RETURN_ADDRESS;
    let total = own + deepest.0;
    memo.insert(f, (total, deepest.1));
    total
}

/// What the bound could not follow, as a clause for a message ("" when
/// nothing).
pub fn caveats(b: &Bound) -> String {
    let mut parts = Vec::new();
    if !b.indirect.is_empty() {
        parts.push(format!(
            "{} function(s) call through a pointer, counted as calling any function whose address is taken: {}",
            b.indirect.len(),
            list(&b.indirect)
        ));
    }
    if !b.recursion.is_empty() {
        let cycles: Vec<String> = b.recursion.iter().map(|c| c.join(" -> ")).collect();
        parts.push(format!("recursion, counted once: {}", list(&cycles)));
    }
    if !b.from_prologue.is_empty() {
        parts.push(format!(
            "frames read from the prologue (precompiled core, assembly): {}",
            list(&b.from_prologue)
        ));
    }
    match parts.is_empty() {
        true => String::new(),
        false => format!(" ({})", parts.join("; ")),
    }
}

/// One line for `cargo xtask build`: the bound against the stack, the
/// deepest path's last calls, and how much of the bound is estimated.
pub fn summary(task: &str, b: &Bound, stacksize: u64) -> String {
    const TAIL: usize = 2;
    let tail = b.path.len().saturating_sub(TAIL);
    let ellipsis = if tail > 0 { "... -> " } else { "" };
    format!(
        "{task:<12} {:>7} of {stacksize:>7} bytes ({:>3}%)  {ellipsis}{}  [{} pointer calls, {} cycles, {} prologue frames]",
        b.bytes,
        b.bytes * 100 / stacksize.max(1),
        b.path[tail..].join(" -> "),
        b.indirect.len(),
        b.recursion.len(),
        b.from_prologue.len(),
    )
}

/// Everything the bound found, for `stack-bound.txt`.
pub fn report(task: &str, b: &Bound, stacksize: u64) -> String {
    let mut s = format!(
        "task {task}: the deepest call path can use {} of {stacksize} bytes\n\ndeepest path:\n",
        b.bytes
    );
    for f in &b.path {
        s.push_str(&format!("  {f}\n"));
    }
    s.push_str(&format!(
        "\ncalls through a pointer (counted as calling any function whose address is taken): {}\n",
        b.indirect.len()
    ));
    for f in &b.indirect {
        s.push_str(&format!("  {f}\n"));
    }
    s.push_str(&format!(
        "\nrecursion (each cycle counted once): {}\n",
        b.recursion.len()
    ));
    for c in &b.recursion {
        s.push_str(&format!("  {}\n", c.join(" -> ")));
    }
    s.push_str(&format!(
        "\nframes read from the prologue (precompiled core, assembly): {}\n",
        b.from_prologue.len()
    ));
    for f in &b.from_prologue {
        s.push_str(&format!("  {f}\n"));
    }
    s
}

/// The first few items of a list, and how many more.
fn list(items: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

fn name(g: &Graph, f: u64) -> String {
    g.functions
        .get(&f)
        .map_or_else(|| format!("{f:#x}"), |x| x.name.clone())
}

/// A Rust symbol without its `::h0123...` hash.
fn strip_hash(name: &str) -> String {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head.to_string()
        }
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(name: &str, frame: u64, calls: &[u64]) -> Function {
        Function {
            name: name.into(),
            frame: Some(frame),
            prologue: 0,
            calls: calls.iter().copied().collect(),
            indirect: false,
        }
    }

    fn graph_of(fs: &[(u64, Function)]) -> Graph {
        Graph {
            functions: fs.iter().cloned().collect(),
            entry: fs[0].0,
            taken: BTreeSet::new(),
        }
    }

    #[test]
    fn the_bound_is_the_deepest_path_with_return_addresses() {
        let g = graph_of(&[
            (1, func("_start", 0, &[2])),
            (2, func("main", 100, &[3, 4])),
            (3, func("shallow", 10, &[])),
            (4, func("deep", 1000, &[])),
        ]);
        let b = bound(&g);
        assert_eq!(b.bytes, 8 + 108 + 1008);
        assert_eq!(b.path, ["_start", "main", "deep"]);
        assert!(b.recursion.is_empty() && b.indirect.is_empty());
    }

    #[test]
    fn recursion_is_reported_and_does_not_loop() {
        let g = graph_of(&[
            (1, func("_start", 0, &[2])),
            (2, func("walk", 50, &[3])),
            (3, func("step", 20, &[2])),
        ]);
        let b = bound(&g);
        assert_eq!(b.recursion, [vec!["walk", "step", "walk"]]);
        assert_eq!(b.bytes, 8 + 58 + 28);
    }

    #[test]
    fn indirect_calls_and_unsized_functions_are_reported() {
        let mut caller = func("dispatch", 30, &[3]);
        caller.indirect = true;
        let mut asm = func("memcpy", 0, &[]);
        asm.frame = None;
        let g = graph_of(&[(1, func("_start", 0, &[2])), (2, caller), (3, asm)]);
        let b = bound(&g);
        assert_eq!(b.indirect, ["dispatch"]);
        assert_eq!(b.from_prologue, ["memcpy"]);
    }

    #[test]
    fn a_prologue_gives_the_frame_of_a_function_without_a_stack_size() {
        // push rbp; push rbx; sub rsp, 0x48; call +0; ret
        let code = [0x55, 0x53, 0x48, 0x83, 0xEC, 0x48, 0xE8, 0, 0, 0, 0, 0xC3];
        assert_eq!(prologue_frame(&code, 0x1000), 8 + 8 + 0x48);
    }

    #[test]
    fn stack_sizes_entries_are_address_then_leb128() {
        let mut data = Vec::new();
        data.extend_from_slice(&0x1000u64.to_le_bytes());
        data.push(0x10);
        data.extend_from_slice(&0x2000u64.to_le_bytes());
        data.extend_from_slice(&[0x80 | 0x2c, 0x02]); // 300
        let sizes = parse_stack_sizes(&data).expect("two entries");
        assert_eq!(sizes.get(&0x1000), Some(&0x10));
        assert_eq!(sizes.get(&0x2000), Some(&300));
        assert!(parse_stack_sizes(&data[..5]).is_err());
        assert!(parse_stack_sizes(&[0; 8]).is_err());
    }

    #[test]
    fn calls_and_tail_calls_are_found_in_machine_code() {
        // call +0 (to 0x1005); jmp rel32 to 0x3000; call rax;
        // call [rip + 0] (a GOT slot holding 0x4000); lea rax, [rip + 0x100];
        // ret
        let mut code = vec![0xE8, 0, 0, 0, 0];
        let jmp_at = 0x1005u64;
        let rel = (0x3000i64 - (jmp_at as i64 + 5)) as i32;
        code.push(0xE9);
        code.extend_from_slice(&rel.to_le_bytes());
        code.extend_from_slice(&[0xFF, 0xD0]);
        code.extend_from_slice(&[0xFF, 0x15, 0, 0, 0, 0]);
        let slot = 0x1000 + code.len() as u64;
        code.extend_from_slice(&[0x48, 0x8D, 0x05, 0x00, 0x01, 0, 0]);
        let lea_end = 0x1000 + code.len() as u64;
        code.push(0xC3);
        let read = |a: u64| (a == slot).then_some(0x4000);
        let c = calls_in(&code, 0x1000, code.len() as u64, &read);
        assert!(c.calls.contains(&0x3000), "{:?}", c.calls);
        assert!(c.calls.contains(&0x1005));
        assert!(c.calls.contains(&0x4000), "a GOT call is followed");
        assert!(c.indirect, "call rax stays indirect");
        assert!(c.taken.contains(&(lea_end + 0x100)));
    }

    #[test]
    fn an_indirect_call_may_reach_every_function_whose_address_is_taken() {
        let mut dispatch = func("dispatch", 10, &[]);
        dispatch.indirect = true;
        let mut g = graph_of(&[
            (1, func("_start", 0, &[2])),
            (2, dispatch),
            (3, func("handler_small", 10, &[])),
            (4, func("handler_big", 500, &[])),
        ]);
        g.taken = [3, 4].into_iter().collect();
        let b = bound(&g);
        assert_eq!(b.path, ["_start", "dispatch", "handler_big"]);
        assert_eq!(b.bytes, 8 + 18 + 508);
    }
}
