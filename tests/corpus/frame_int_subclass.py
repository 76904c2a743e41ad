# tries: int subclass channel values
# expect: failed invalid_frame
class Sly(int):
    pass

setLEDs([[Sly(255), 0, 0, 100]] * getLEDCount())
