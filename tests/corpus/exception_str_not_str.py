# tries: an uncaught exception whose __str__ returns an int (breaks the error report)
# expect: failed error
class Weird(Exception):
    def __str__(self):
        return 5

raise Weird()
