"""The record format on the pipes between the supervisor and its sandbox child.

A record is a type byte, a 4-byte big-endian payload length and the payload. Child -> parent:
READY (JSON: which sandbox layers hold), FRAME (4 bytes per LED), END (JSON outcome); in a dry
run TFRAME (an 8-byte big-endian double, the virtual time the frame would be shown at, then 4
bytes per LED) replaces FRAME and is never ACKed. Parent -> child: PROGRAM
(JSON), then one ACK byte per frame the parent has taken; or CHECK (source), answered by
RESULT (JSON list of errors) instead of running anything. The program's printed text is not a
record: it goes, as UTF-8, to a pipe of its own (``runner.sandbox.program_log``), whose fd is the
child's last argument.
Kept apart so the parent does not import the child's sandbox libraries, nor the child pydantic.
"""

from __future__ import annotations

import struct

HEADER = struct.Struct(">cI")
READY, FRAME, END, PROGRAM = b"R", b"F", b"E", b"P"
CHECK, RESULT = b"C", b"K"  # parent -> child: a program to check only; child -> parent: errors
# A RESULT lists at most this many errors, within this many bytes; then one entry without a line
# saying how many more the check found (red team round eight, finding 8).
MAX_CHECK_ERRORS = 50
MAX_CHECK_RESULT = 1 << 17
TFRAME = b"T"  # child -> parent, dry runs only: a frame with its virtual timestamp
TIMESTAMP = struct.Struct(">d")
ACK = b"\x01"
EXIT_OUT_OF_MEMORY = 3  # the child hit MemoryError even while reporting it
PROGRAM_FILENAME = "<tree program>"  # co_filename of the user's code: finds its lines
