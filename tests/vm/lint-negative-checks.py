#!/usr/bin/env python3
"""tests/vm/lint-negative-checks.py: finds checks in the test scripts that a failing command
turns into a pass, and exits 1 if there is any (run by tests/vm/selftest.sh, case `lint`).

busybox sh has no pipefail, and grep exits 2 on an unreadable file: in `cmd | grep -q X &&
fail`, `grep -q X FILE && fail` or `[ "$(cmd | wc -c)" = 0 ]`, a cmd that fails (or a FILE
that was never written) looks exactly like "X is absent". Run the command with run_ok and
check its output with absent/present (tests/vm/lib/guest/checks.sh in the VM, the same
functions in tests/vm/lib/common.sh on the host) instead.

Flagged, per logical line (continuations joined, comments dropped):
  and-after-grep   a grep (alone or at the end of a pipe) whose success runs `&& ...`
  if-grep          if/elif/while/until whose condition is a grep or a pipe into one (not `if !`)
  not-grep-or      `! ... grep ... || ...`
  count-compare    `| wc` or `| grep -c` inside a [ ]/test comparison
  subst-negative   `[ "$(cmd)" != ... ]`, `[ ... != "$(cmd)" ]`, `[ -z "$(cmd)" ]`
A line that must keep such a form says why in a trailing `# negcheck-ok: <reason>`, or in a
comment line of that form right above it.

  tests/vm/lint-negative-checks.py [PATH...]   (default: every shell script under tests/ and bench/)
"""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GREP = r"(?<![\w.-])grep\b"
RULES = [
    ("and-after-grep", re.compile(GREP + r"[^;&|]*(\|[^|;&]*)*&&")),
    ("if-grep", re.compile(r"^\s*(if|elif|while|until)\s+(?!!)[^;]*" + GREP)),
    ("not-grep-or", re.compile(r"^\s*!\s.*" + GREP + r".*\|\|")),
    ("count-compare", re.compile(r"(\[|\btest\b).*\|\s*(wc\b|grep\s+(-\w+\s+)*-\w*c)")),
    ("subst-negative", re.compile(r'"\$\([^"]*\)"\s*!=|!=\s*"\$\(|-z\s+"\$\(')),
]
ALLOW = re.compile(r"#\s*negcheck-ok:\s*\S")


def shell_files(root):
    """Shell scripts under root: *.sh, and extensionless files starting with a shell #!."""
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in ("out", "__pycache__", ".venv"))
        for f in sorted(files):
            p = os.path.join(d, f)
            if f.endswith(".sh"):
                yield p
            elif "." not in f:
                try:
                    with open(p, "rb") as fh:
                        head = fh.read(64)
                except OSError:
                    continue
                if re.match(rb"#!\s*/(usr/)?bin/(env\s+)?(ba|busybox\s+)?sh\b", head):
                    yield p


def logical_lines(path):
    """(first line number, text) with backslash continuations joined."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().split("\n")
    i = 0
    while i < len(lines):
        start, text = i + 1, lines[i]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1] + " " + lines[i].lstrip()
        i += 1
        yield start, text


def strip_comment(text):
    """Drop a trailing # comment (not inside quotes, not $#, not ${#x})."""
    quote = None
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
            continue
        if c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or text[i - 1] in " \t;") :
            return text[:i]
    return text


def lint(path):
    found = []
    allowed_above = False
    for n, text in logical_lines(path):
        if text.lstrip().startswith("#"):
            allowed_above = bool(ALLOW.search(text))
            continue
        if ALLOW.search(text) or allowed_above:
            allowed_above = False
            continue
        code = strip_comment(text)
        for name, rx in RULES:
            if rx.search(code):
                found.append(f"{os.path.relpath(path, TOP)}:{n}: {name}: {text.strip()}")
                break
    return found


def main(argv):
    paths = argv[1:] or [os.path.join(TOP, "tests"), os.path.join(TOP, "bench")]
    files = []
    for p in paths:
        if os.path.isdir(p):
            files.extend(shell_files(p))
        elif os.path.isfile(p):
            files.append(p)
        else:
            print(f"lint-negative-checks: {p}: no such file or directory", file=sys.stderr)
            return 2
    if not files:
        print("lint-negative-checks: no shell script to check", file=sys.stderr)
        return 2
    me = os.path.abspath(__file__)
    found = [f for p in files if os.path.abspath(p) != me for f in lint(p)]
    for f in found:
        print(f)
    print(f"lint-negative-checks: {len(files)} scripts, {len(found)} checks a failing command would pass")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
