# tries: import socket and connect to the canary port
# expect: rejected
# canary: socket
import socket
s = socket.create_connection(("127.0.0.1", int("@@CANARY_PORT@@")))
s.sendall(b"ESC" + "APED")
