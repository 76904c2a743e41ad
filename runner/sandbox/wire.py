"""The record format on the pipes between the supervisor and its sandbox child.

A record is a type byte, a 4-byte big-endian payload length and the payload. Child -> parent:
READY (JSON: which sandbox layers hold), FRAME (4 bytes per LED), LOG (UTF-8 text), END (JSON
outcome). Parent -> child: PROGRAM (JSON), then one ACK byte per frame the parent has taken;
or CHECK (source), answered by RESULT (JSON list of errors) instead of running anything.
Kept apart so the parent does not import the child's sandbox libraries, nor the child pydantic.
"""

from __future__ import annotations

import struct

HEADER = struct.Struct(">cI")
READY, FRAME, LOG, END, PROGRAM = b"R", b"F", b"L", b"E", b"P"
CHECK, RESULT = b"C", b"K"  # parent -> child: a program to check only; child -> parent: errors
ACK = b"\x01"
EXIT_OUT_OF_MEMORY = 3  # the child hit MemoryError even while reporting it
PROGRAM_FILENAME = "<tree program>"  # co_filename of the user's code: finds its lines
