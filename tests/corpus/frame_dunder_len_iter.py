# tries: a frame object whose __len__/__iter__/__getitem__ lie
# expect: rejected | failed invalid_frame
class Liar:
    def __init__(self):
        self.calls = 0

    def __len__(self):
        return getLEDCount()

    def __iter__(self):
        self.calls += 1
        if self.calls > 1:
            return iter([[999, 999, 999, 999]] * 3)
        return iter([RED] * getLEDCount())

    def __getitem__(self, i):
        return [999, 999, 999, 999]

setLEDs(Liar())
