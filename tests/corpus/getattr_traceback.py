# tries: getattr(e, '__traceback__') then tb_frame
# expect: failed error
try:
    1 / 0
except Exception as e:
    tb = getattr(e, "__traceback__")
    print("ESC" + "APED", getattr(tb, "tb_frame"))
