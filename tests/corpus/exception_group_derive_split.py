# tries: ExceptionGroup split/derive callbacks and an uncaught group (exception-group escapes, CVE-2025-22153 class)
# expect: failed error
class G(ExceptionGroup):
    def derive(self, excs):
        print("derive", excs)
        return G(self.message, excs)


eg = G("g", [ValueError(1), TypeError(2), KeyError(3)])
print(eg.split(lambda e: isinstance(e, ValueError)))
print(eg.subgroup(TypeError))
raise eg
