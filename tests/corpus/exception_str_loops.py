# tries: an uncaught exception whose __str__ never returns
# expect: failed error | failed cpu_limit | completed time_limit
# time: 3
class Hang(Exception):
    def __str__(self):
        while True:
            pass

raise Hang()
