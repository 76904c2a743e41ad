# tries: print lone surrogates and NUL bytes into the log pipe
# expect: completed ended | failed error
print("\udc80\x00\ud800 end")
