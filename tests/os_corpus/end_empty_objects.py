# tries: an END of ~1 MB of empty JSON objects, which grows ~24x when parsed (supervisor memory)
# expect: failed crashed
import os, struct
HEADER = struct.Struct('>cI')
body = b'{"outcome":"completed","reason":"ended","p":[' + b'{},' * 349000 + b'{}]}'
data = HEADER.pack(b'E', len(body)) + body
while data:
    data = data[os.write(CHANNEL._wfd, data):]
os._exit(0)
