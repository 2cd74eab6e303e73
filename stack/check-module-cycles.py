#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a cycle.

Each crate's modules import downward only (ARCHITECTURE.md): a module may use
its descendants and its ancestors' items, and two modules that are not one
inside the other may not reach each other through `crate::` or `super::`
paths. Read from the source text, `#[cfg(test)]` parts left out; a path is
taken to name the longest module prefix that exists. Run by `make lint`.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = re.compile(r"\b(crate|super)((?:::\w+)+)")


def modules(src):
    """{module path (tuple): source text without its tests}"""
    found = {}
    for folder, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(folder, name), src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                found[tuple(rel)] = f.read().split("#[cfg(test)]")[0]
    return found


def edges(mods):
    """Imports between modules neither of which holds the other, as pairs of
    the children of their nearest common ancestor."""
    out = {}
    for module, text in mods.items():
        for kind, path in PATH.findall(text):
            parts = path.strip(":").split("::")
            base = [] if kind == "crate" else list(module[:-1])
            while parts and parts[0] == "super":
                base, parts = base[:-1], parts[1:]
            target = tuple(base + parts)
            while target and target not in mods:
                target = target[:-1]
            common = 0
            while (common < min(len(module), len(target))
                   and module[common] == target[common]):
                common += 1
            if common in (len(module), len(target)):
                continue
            out.setdefault(module[:common + 1], set()).add(target[:common + 1])
    return out


def cycles(graph):
    """Each module that can reach itself, with the path back."""
    found = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    found.append(path + [start])
                    stack = []
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return found


def main():
    bad = 0
    for crate in sorted(os.listdir(ROOT)):
        src = os.path.join(ROOT, crate, "src")
        if not os.path.isfile(os.path.join(ROOT, crate, "Cargo.toml")) or not os.path.isdir(src):
            continue
        for cycle in cycles(edges(modules(src))):
            print(f"{crate}: modules import each other: "
                  + " -> ".join("/".join(m) for m in cycle), file=sys.stderr)
            bad += 1
    if bad:
        sys.exit(1)
    print("check-module-cycles: every crate's modules import downward only")


if __name__ == "__main__":
    main()
