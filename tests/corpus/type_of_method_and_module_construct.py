# tries: type() of a bound API method, a function and a SandboxModule, then build new ones from them
# expect: failed error
import random

Method = type(getLEDCount)
Module = type(random)
fake = Module("os", {"system": print})
print(fake, Method(print, 1))
