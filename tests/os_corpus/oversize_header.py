# tries: a record header announcing 4 GB
# expect: failed crashed
import os
import struct

HEADER = struct.Struct(">cI")


def record(kind, payload):
    data = HEADER.pack(kind, len(payload)) + payload
    while data:
        data = data[os.write(CHANNEL._wfd, data) :]


frame = bytes([255, 0, 0, 100]) * getLEDCount()
os.write(CHANNEL._wfd, HEADER.pack(b"F", 0xFFFFFFF0))
import time

time.sleep(5)
