# tries: an uncaught exception whose __str__ raises KeyboardInterrupt (a BaseException)
# expect: failed error
class Nasty(Exception):
    def __str__(self):
        raise KeyboardInterrupt


raise Nasty("boom")
