#!/usr/bin/env python3
"""Helper of scripts/check-windows.sh: rewrite item-position `cfg_select!` blocks (Rust 1.95) in one file into
plain `#[cfg(...)]` items that Rust 1.85 compiles.

    cfg_select! { p1 => { item } p2 => { item } _ => { item } }

becomes `#[cfg(all(p1))] item`, `#[cfg(all(p2, not(any(p1))))] item`, `#[cfg(not(any(p1, p2)))] item`,
so exactly one arm survives, as with `cfg_select!`. The attribute is put in front of the arm's body, so each
arm must hold a single item (attributes and comments allowed); anything else is refused, as is a file with
no `cfg_select!`, so a new release of the patched crate fails loudly instead of being mis-rewritten.
"""
import re
import sys


def matching(text, i, open_, close):
    """Index of the bracket closing the one at text[i]; skips // comments and string literals."""
    depth = 0
    while i < len(text):
        c = text[i]
        if text.startswith("//", i):
            i = text.index("\n", i)
            continue
        if c == '"':
            i = text.index('"', i + 1) + 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    sys.exit("windows-cfg-select: unbalanced brackets")


def rewrite(block):
    arms, earlier, i = [], [], 0
    while True:
        arrow = block.find("=>", i)
        if arrow < 0:
            if block[i:].strip():
                sys.exit("windows-cfg-select: unexpected text after the last arm")
            return "\n".join(arms)
        pred = " ".join(block[i:arrow].split())
        start = block.index("{", arrow)
        if block[arrow + 2 : start].strip():
            sys.exit("windows-cfg-select: an arm's body is not a braced block")
        end = matching(block, start, "{", "}")
        body = block[start + 1 : end]
        code = re.sub(r"//[^\n]*", "", body)
        if code.count(";") + code.count("{") != 1:
            sys.exit(f"windows-cfg-select: the arm `{pred}` holds more than one item")
        if pred == "_":
            cfg = f"not(any({', '.join(earlier)}))"
        elif earlier:
            cfg = f"all({pred}, not(any({', '.join(earlier)})))"
        else:
            cfg = pred
        earlier.append(pred)
        arms.append(f"#[cfg({cfg})]\n{body.strip()}")
        i = end + 1


path = sys.argv[1]
text = open(path).read()
count = 0
while (m := re.search(r"^cfg_select!\s*\{", text, re.M)):
    end = matching(text, m.end() - 1, "{", "}")
    text = text[: m.start()] + rewrite(text[m.end() : end]) + text[end + 1 :]
    count += 1
if count == 0:
    sys.exit(f"windows-cfg-select: no item-position cfg_select! in {path}")
open(path, "w").write(text)
