# tries: END(completed) and then never exit
# expect: completed ended
import json
import os
import struct

HEADER = struct.Struct(">cI")


def record(kind, payload):
    data = HEADER.pack(kind, len(payload)) + payload
    while data:
        data = data[os.write(CHANNEL._wfd, data) :]


frame = bytes([255, 0, 0, 100]) * getLEDCount()
record(b"E", json.dumps({"outcome": "completed", "reason": "ended", "error": None}).encode())
import time

time.sleep(3600)
