# tries: getattr(g, 'gi_frame') then f_back/f_builtins to the real builtins
# expect: failed error
# canary: file
def gen():
    yield 1

g = gen()
frame = getattr(g, "gi_frame")
while frame is not None:
    real = getattr(frame, "f_builtins")
    frame = getattr(frame, "f_back")
opener = real["open"]
opener("@@CANARY_FILE@@", "w")
print("ESC" + "APED")
