# tries: objects with __index__ as channel values
# expect: rejected | failed invalid_frame
class Two:
    def __index__(self):
        return 2

setLEDs([[Two(), 0, 0, 100]] * getLEDCount())
