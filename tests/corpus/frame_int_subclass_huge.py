# tries: an int subclass hiding a huge value
# expect: failed invalid_frame
class Sly(int):
    def bit_length(self):
        return 1

setLEDs([[Sly(10**9), 0, 0, 100]] * getLEDCount())
