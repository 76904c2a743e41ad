# tries: generator gi_frame.f_back.f_globals (CVE-2023-37271)
# expect: rejected
g = (i for i in [1])
print("ESC" + "APED", g.gi_frame.f_back.f_globals)
