# tries: exception __traceback__.tb_frame.f_globals
# expect: rejected
try:
    1 / 0
except Exception as e:
    print("ESC" + "APED", e.__traceback__.tb_frame.f_globals)
