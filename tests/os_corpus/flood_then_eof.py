# tries: thousands of frames without reading ACKs, then exit at once
# expect: failed crashed|completed ended|completed time_limit
import os
import struct

HEADER = struct.Struct(">cI")


def record(kind, payload):
    data = HEADER.pack(kind, len(payload)) + payload
    while data:
        data = data[os.write(CHANNEL._wfd, data) :]


frame = bytes([255, 0, 0, 100]) * getLEDCount()
for _ in range(3000):
    record(b"F", frame)
os._exit(0)
