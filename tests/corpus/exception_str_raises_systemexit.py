# tries: an uncaught exception whose __str__ raises SystemExit while the child describes it
# expect: failed error
class Nasty(Exception):
    def __str__(self):
        raise SystemExit(0)


raise Nasty("boom")
