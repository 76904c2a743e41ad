# tries: a FRAME record of the wrong size
# expect: failed crashed
import os
import struct

HEADER = struct.Struct(">cI")


def record(kind, payload):
    data = HEADER.pack(kind, len(payload)) + payload
    while data:
        data = data[os.write(CHANNEL._wfd, data) :]


frame = bytes([255, 0, 0, 100]) * getLEDCount()
record(b"F", b"\x01\x02")
import time

time.sleep(5)
