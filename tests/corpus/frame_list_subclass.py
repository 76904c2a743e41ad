# tries: a list subclass as the frame (must be rejected or shown exactly)
# expect: failed invalid_frame | completed ended
class Frame(list):
    def copy(self):
        return [[999, 999, 999, 999]] * len(self)

setLEDs(Frame([[255, 0, 0, 100]] * getLEDCount()))
