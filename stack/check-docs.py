#!/usr/bin/env python3
"""Checks that the documents name only what the repository holds (`make lint`).

Fails when a document:
- mentions the design notes' old home outside the repository (a path that
  climbs to a sibling `shared` folder): a clone does not have it, so what a
  newcomer needs from there is copied into docs/;
- names in backticks a repository path that does not exist;
- links (`[text](target)`) to a relative target that does not exist.

A backticked path is read from the repository's root. It counts as a path
when it has only path characters (letters, digits, `_`, `.`, `-`, `/`) and
either has a `/` and (ends with `/`, or ends in a file extension, or starts
with a top-level folder or file of the repository), or has no `/` and ends in
one of the extensions below (then it must be the name of some file of the
repository, e.g. `main.rs`). Paths git ignores (`.stack/`, `target/`) are
made at run time and are not checked; nor is a path in another repository,
written `owner/name:path`. Fenced code blocks are not checked.

Usage: stack/check-docs.py [FILE.md ...]   (default: the documents below)
"""

import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DOCS = ["ARCHITECTURE.md", "CONTRIBUTING.md", "README.md"]
BARE_EXTENSIONS = {"rs", "md", "sh", "py", "toml", "sql", "json", "yaml", "yml", "lock"}
# Written in two pieces so this file does not trip its own check.
FORBIDDEN = ".." + "/shared"

PATH_CHARS = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$")
EXTENSION = re.compile(r"\.([A-Za-z][A-Za-z0-9]*)$")
INLINE_CODE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def git_lines(*args):
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line]


def ignored(path):
    return subprocess.run(["git", "check-ignore", "-q", path.rstrip("/")], cwd=ROOT).returncode == 0


def repository_files():
    # Tracked files and new ones not yet committed (but not ignored ones).
    return git_lines("ls-files", "--cached", "--others", "--exclude-standard")


def is_path(token, top_level):
    if not PATH_CHARS.match(token) or ".." in token:
        return False
    if "/" not in token:
        m = EXTENSION.search(token)
        return bool(m) and m.group(1) in BARE_EXTENSIONS
    last = token.rstrip("/").rsplit("/", 1)[-1]
    return token.endswith("/") or bool(EXTENSION.search(last)) or token.split("/")[0] in top_level


def without_fences(text):
    """The document's lines, with those of fenced code blocks blanked."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            lines.append("")
        else:
            lines.append("" if fenced else line)
    return lines


def check(doc, files, basenames, top_level):
    problems = []
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        text = f.read()
    for number, line in enumerate(text.splitlines(), 1):
        if FORBIDDEN in line:
            problems.append(f"{doc}:{number}: points outside the repository ({FORBIDDEN}); "
                            "copy what is needed into docs/ instead")
    body = "\n".join(without_fences(text))
    # A code span may run over a line break, so spans are found in the whole text.
    for m in INLINE_CODE.finditer(body):
        token, number = m.group(1), body.count("\n", 0, m.start()) + 1
        if not is_path(token, top_level) or ignored(token):
            continue
        if "/" in token:
            found = os.path.exists(os.path.join(ROOT, token))
        else:
            found = token in basenames or os.path.exists(os.path.join(ROOT, token))
        if not found:
            problems.append(f"{doc}:{number}: `{token}` does not exist")
    for m in LINK.finditer(body):
        target, number = m.group(1), body.count("\n", 0, m.start()) + 1
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        target = target.split("#", 1)[0]
        path = os.path.normpath(os.path.join(os.path.dirname(doc), target))
        if path.startswith(".."):
            problems.append(f"{doc}:{number}: link to {target} leaves the repository")
        elif not os.path.exists(os.path.join(ROOT, path)):
            problems.append(f"{doc}:{number}: link to {target} does not exist")
    return problems


def main():
    docs = sys.argv[1:] or DEFAULT_DOCS + sorted(
        os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    files = repository_files()
    basenames = {os.path.basename(f) for f in files}
    top_level = {f.split("/", 1)[0] for f in files}
    problems = []
    for doc in docs:
        if not os.path.exists(os.path.join(ROOT, doc)):
            problems.append(f"{doc}: missing")
            continue
        problems.extend(check(doc, files, basenames, top_level))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-docs: {len(problems)} problem(s) in {', '.join(docs)}", file=sys.stderr)
        return 1
    print(f"check-docs: {len(docs)} documents name only paths that exist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
