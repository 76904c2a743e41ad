# tries: one-byte LOG records far beyond the log's cap (printed text has a pipe of its own: no such record)
# expect: failed crashed
import os
import struct

HEADER = struct.Struct(">cI")


def record(kind, payload):
    data = HEADER.pack(kind, len(payload)) + payload
    while data:
        data = data[os.write(CHANNEL._wfd, data) :]


frame = bytes([255, 0, 0, 100]) * getLEDCount()
while True:
    record(b"L", b"x")
