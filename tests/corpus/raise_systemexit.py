# tries: raise SystemExit to fake a clean exit
# expect: completed ended | failed error
raise SystemExit(0)
