# tries: coroutine cr_frame (CVE-2023-37271)
# expect: rejected
async def c():
    pass

print("ESC" + "APED", c().cr_frame.f_globals)
