"""Text quoted as the Rust crate's messages quote it, so that both say the same words."""

from __future__ import annotations

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def rust_debug(text: str) -> str:
    """`text` as Rust's `{:?}` writes a string: in double quotes, with backslash escapes for
    quotes, backslashes and control characters (other characters Rust would escape, such
    as unassigned code points, are kept as they are)."""
    out = ['"']
    for c in text:
        escaped = _ESCAPES.get(c)
        if escaped is not None:
            out.append(escaped)
        elif ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0:
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)
