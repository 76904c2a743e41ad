# tries: END of 1 MB of JSON
# expect: failed crashed
import json
import os
import struct

HEADER = struct.Struct(">cI")


def record(kind, payload):
    data = HEADER.pack(kind, len(payload)) + payload
    while data:
        data = data[os.write(CHANNEL._wfd, data) :]


frame = bytes([255, 0, 0, 100]) * getLEDCount()
record(b"E", json.dumps({"outcome": "completed", "pad": "x" * (1 << 20)}).encode())
os._exit(0)
