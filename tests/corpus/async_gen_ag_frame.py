# tries: async generator ag_frame (CVE-2023-37271)
# expect: rejected
async def a():
    yield 1

print("ESC" + "APED", a().ag_frame.f_back)
